/**
 * How TypeScript (tslab's own build) behaves in a cell process, set before tslab's converter starts.
 *
 * - It watches no files. tslab checks cells with a TypeScript watch program, which put an inotify
 *   watch on every file it read (1,128 for a cell that imports cardlab and tfjs) and polled missing
 *   ones. inotify watches are a per-user budget of the whole machine, so a few cell processes at
 *   once could exhaust it, and TypeScript's polling fallback then failed cells on a busy machine.
 *   Nothing changes under a run (its mounts are read-only; a file a cell writes is read fresh on its
 *   first import).
 * - Of the packages under node_modules/@types, only Node's own types are included automatically (a
 *   cell's imports still bring their own types). The project's dev tools (jest, babel, express…) put
 *   1.9 MB of declarations there that no cell uses, and parsing them was 0.3 s of every cold start.
 */
import path from 'path';

interface Watcher {
  close(): void;
}
interface TypeScriptSys {
  watchFile?: (...args: unknown[]) => Watcher;
  watchDirectory?: (...args: unknown[]) => Watcher;
  getDirectories(dir: string): string[];
}

/** The @types packages a cell sees without importing them. */
export const AMBIENT_TYPES = ['node'];

const unwatched: Watcher = { close: () => {} };
const TYPE_ROOT = /[\\/]node_modules[\\/]@types$/;

/** The TypeScript that tslab itself loaded (its own pinned build), whatever npm hoisted. */
function tslabTypeScript(): { sys: TypeScriptSys } {
  const tslabDir = path.dirname(require.resolve('tslab/package.json'));
  return require(require.resolve('@tslab/typescript-for-tslab', { paths: [tslabDir] }));
}

export function configureCellTypeScript(): void {
  const { sys } = tslabTypeScript();
  sys.watchFile = () => unwatched;
  sys.watchDirectory = () => unwatched;
  // TypeScript lists a type root's folders to include them all (when `types` is not set).
  const getDirectories = sys.getDirectories.bind(sys);
  sys.getDirectories = (dir) => (TYPE_ROOT.test(dir) ? getDirectories(dir).filter((name) => AMBIENT_TYPES.includes(name)) : getDirectories(dir));
}
