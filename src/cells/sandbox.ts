/**
 * The operating system's half of the cell sandbox: Debian's bubblewrap (`bwrap`) starts each cell
 * process in new user, PID, network, IPC, UTS and mount namespaces, as user nobody with no
 * capabilities. Its file system holds only what a cell needs, read-only, at the same paths as on
 * the host: the node binary and the libraries it links, the project's package.json, dist/src,
 * node_modules and packages/cardlab, and the notebook folder (the working folder); /tmp is a
 * private tmpfs (its pages count against the cell's memory cgroup). Nothing else of the project
 * (decks, coursework with hidden tests, the data folder) nor of its parent folder exists there, so
 * no path, link or `..` can reach them; the network namespace has only its own loopback, so no
 * server on the host (the review server included) can be reached.
 *
 * `sandboxProblem()` says what is missing on a machine; runs refuse to start then, unless the
 * caller asked for trusted, unsandboxed runs (`CARDLAB_UNSANDBOXED=1`, `--trusted-cells`).
 */
import { execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { cgroupProblem, CGROUP_V1_ROOT } from './cgroup';

export const DEFAULT_BWRAP = '/usr/bin/bwrap';
/** Set to 1 to run cells without bubblewrap and cgroups: for trusted code on a machine without them. */
export const UNSANDBOXED_ENV = 'CARDLAB_UNSANDBOXED';
/** The user a cell runs as inside its user namespace (nobody). */
const CELL_UID = 65534;

export interface SandboxSettings {
  /** The bubblewrap binary (default /usr/bin/bwrap, or CARDLAB_BWRAP). */
  bwrapPath: string;
  /** Where the cgroup v1 controllers are mounted (default /sys/fs/cgroup). */
  cgroupRoot: string;
}

export function defaultSandboxSettings(env: NodeJS.ProcessEnv = process.env): SandboxSettings {
  return { bwrapPath: env.CARDLAB_BWRAP || DEFAULT_BWRAP, cgroupRoot: CGROUP_V1_ROOT };
}

/** True when the environment asks for trusted, unsandboxed cell runs. */
export function unsandboxedByEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(1|true|yes)$/i.test(env[UNSANDBOXED_ENV] ?? '');
}

export class SandboxUnavailableError extends Error {
  constructor(readonly missing: string) {
    super(
      `refusing to run notebook cells: the cell sandbox is not available on this machine: ${missing}. ` +
        `Install bubblewrap (\`apt-get install bubblewrap\`) and run as root with cgroup v1 memory and pids controllers; ` +
        `or, for your own trusted code only, run without the sandbox: ${UNSANDBOXED_ENV}=1 (\`cardlab serve --trusted-cells\`).`,
    );
    this.name = 'SandboxUnavailableError';
  }
}

const checked = new Map<string, string | null>();

/** What is missing for sandboxed runs (bwrap that works, writable cgroups), or null. Cached per settings. */
export function sandboxProblem(settings: SandboxSettings = defaultSandboxSettings()): string | null {
  const key = `${settings.bwrapPath}\0${settings.cgroupRoot}`;
  if (!checked.has(key)) checked.set(key, findProblem(settings));
  return checked.get(key)!;
}

function findProblem(settings: SandboxSettings): string | null {
  if (!fs.existsSync(settings.bwrapPath)) return `bubblewrap is not installed (no ${settings.bwrapPath})`;
  try {
    execFileSync(settings.bwrapPath, ['--unshare-all', '--cap-drop', 'ALL', '--uid', String(CELL_UID), '--gid', String(CELL_UID), ...nodeBinds(), '--', process.execPath, '-e', ''], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {},
      timeout: 10_000,
    });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim();
    return `${settings.bwrapPath} cannot make the namespaces a cell needs (${stderr || (err as Error).message})`;
  }
  return cgroupProblem(settings.cgroupRoot);
}

let nodeBindsCache: string[] | undefined;

/** The node binary and every shared library it links, each bound at the path the loader asks for. */
export function nodeBinds(): string[] {
  if (!nodeBindsCache) {
    const files = new Set<string>([process.execPath]);
    const ldd = execFileSync('ldd', [process.execPath], { encoding: 'utf8' });
    for (const match of ldd.matchAll(/(\/\S+)/g)) files.add(match[1]);
    nodeBindsCache = [...files].flatMap((file) => ['--ro-bind', fs.realpathSync(file), file]);
  }
  return nodeBindsCache;
}

export interface SandboxLayout {
  projectRoot: string;
  /** The notebook folder the cell runs in (read-only). */
  cwd: string;
  /** Folders inside `cwd` that must stay hidden (the decks, the data folder): empty there. */
  hidden?: string[];
  /** Size of the private /tmp (it is memory: it counts against the memory limit too). */
  tmpBytes: number;
}

/** The code of the project a cell may read, relative to the project root. */
export const PROJECT_CODE = ['package.json', 'dist/src', 'node_modules', 'packages/cardlab'];

const inside = (dir: string, parent: string) => dir === parent || dir.startsWith(parent + path.sep);

/**
 * Where the project's code is mounted: at its own paths, and, when the notebook folder is outside
 * the project (`--notebooks ~/nbs`), also at the root of the sandbox (/node_modules, /packages/cardlab,
 * /dist/src), where module resolution from any folder ends up (node_modules/cardlab links to
 * ../packages/cardlab, whose dist links to ../../dist: both resolve there too).
 */
export function codeMounts(layout: Pick<SandboxLayout, 'projectRoot' | 'cwd'>): { from: string; to: string }[] {
  const mounts = PROJECT_CODE.map((name) => ({ from: path.join(layout.projectRoot, name), to: path.join(layout.projectRoot, name) }));
  if (!inside(layout.cwd, layout.projectRoot)) {
    for (const name of PROJECT_CODE) mounts.push({ from: path.join(layout.projectRoot, name), to: path.join('/', name) });
  }
  return mounts.filter((m) => fs.existsSync(m.from));
}

/**
 * The cell's private, writable temp folder inside the sandbox (TMPDIR, HOME, Node's write
 * permission): /tmp, unless the project or the notebook folder lives under /tmp (a CI checkout, a
 * `--notebooks /tmp/…`). Then their read-only mounts would sit inside it, and Node's permission
 * model, which can only allow whole folders, would allow writing and reading them: /cardlab-tmp.
 */
export function sandboxTmpDir(layout: Pick<SandboxLayout, 'projectRoot' | 'cwd'>): string {
  return inside(layout.projectRoot, '/tmp') || inside(layout.cwd, '/tmp') ? '/cardlab-tmp' : '/tmp';
}

/** The bwrap arguments (up to and without the command) for one cell process. */
export function bwrapArgs(layout: SandboxLayout): string[] {
  if (inside(layout.projectRoot, layout.cwd)) {
    // The whole project would be visible (coursework/, the data folder): never.
    throw new Error(`cells cannot run in ${layout.cwd}: that folder holds the project itself (${layout.projectRoot})`);
  }
  const args = [
    '--unshare-all', // user, ipc, pid, net, uts, cgroup: only its own loopback, only its own processes
    '--uid', String(CELL_UID),
    '--gid', String(CELL_UID),
    '--cap-drop', 'ALL', // bwrap run as root keeps every capability unless told
    '--die-with-parent',
    '--new-session', // no TIOCSTI into the server's terminal
    '--hostname', 'cardlab-cell',
    '--clearenv',
    ...nodeBinds(),
    '--proc', '/proc',
    '--dev', '/dev',
    '--size', String(layout.tmpBytes), '--perms', '1777', '--tmpfs', sandboxTmpDir(layout),
  ];
  for (const { from, to } of codeMounts(layout)) args.push('--ro-bind', from, to);
  args.push('--ro-bind', layout.cwd, layout.cwd);
  for (const dir of layout.hidden ?? []) {
    if (inside(dir, layout.cwd) && dir !== layout.cwd && fs.existsSync(dir)) args.push('--tmpfs', dir, '--remount-ro', dir);
  }
  args.push('--chdir', layout.cwd);
  return args;
}
