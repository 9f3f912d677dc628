/**
 * tslab checks cells with a TypeScript watch program, which puts an inotify watch on every file it
 * reads (1,128 for a cell that imports cardlab and tfjs) and polls missing ones. inotify watches
 * are a per-user budget of the whole machine, so a few cell processes at once could exhaust it,
 * and TypeScript then falls back to polling paths the cell may not read: cells failed on a busy
 * machine. Nothing can change under a run (its mounts are read-only, and a file a cell writes is
 * read fresh on its first import), so cell processes watch nothing.
 */
import path from 'path';

interface Watcher {
  close(): void;
}
interface TypeScriptSys {
  watchFile?: (...args: unknown[]) => Watcher;
  watchDirectory?: (...args: unknown[]) => Watcher;
}

const unwatched: Watcher = { close: () => {} };

/** The TypeScript that tslab itself loaded (its own pinned build), whatever npm hoisted. */
function tslabTypeScript(): { sys: TypeScriptSys } {
  const tslabDir = path.dirname(require.resolve('tslab/package.json'));
  return require(require.resolve('@tslab/typescript-for-tslab', { paths: [tslabDir] }));
}

/** Makes TypeScript's file and folder watchers no-ops in this process. Call before tslab's converter starts. */
export function disableFileWatching(): void {
  const { sys } = tslabTypeScript();
  sys.watchFile = () => unwatched;
  sys.watchDirectory = () => unwatched;
}
