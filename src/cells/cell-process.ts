/**
 * One cell child process, started and owned by the parent: in the sandbox (bubblewrap inside its
 * own memory and pids cgroups, see sandbox.ts and cgroup.ts) or, when the caller trusts the code,
 * as a plain node process with Node's permission model only. Either way Node's permission model
 * is the second layer (no child processes, workers, native addons; reads only the code, the
 * notebook folder and /tmp; writes only /tmp), the environment is fixed and minimal, and every
 * live process is known here, so a shutdown kills them all and removes their cgroups and folders.
 *
 * The child (child.ts) warms up first and then waits for its job on stdin: the warm pool (pool.ts)
 * starts these ahead of time, the runner hands a job over with `start`.
 */
import { spawn, type ChildProcess } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { CellCgroup } from './cgroup';
import type { CellJob } from './events';
import { WARM_UP_FLAG } from './warm-up';
import { CODE_CACHE_FLAG, codeCacheDir, ensureCodeCache } from './code-cache';
import { bwrapArgs, sandboxTmpDir, codeMounts, defaultSandboxSettings, PROJECT_CODE, sandboxProblem, SandboxUnavailableError, unsandboxedByEnv, type SandboxSettings } from './sandbox';

/** The variables of the server's environment a cell gets (nothing else, no token). */
export const PASSED_ENV = ['CARDLAB_NOTEBOOK_SIZE', 'CARDLAB_BACKEND', 'LANG'] as const;
/**
 * A pool child warms up in the background: until it gets a job it runs at this niceness, so that
 * the runs and the server come first on a machine with few cores. Only where it can be undone
 * (root: lowering a nice value needs CAP_SYS_NICE), since the run itself must not be slowed.
 */
const WARMING_NICENESS = 10;
const NICE = '/usr/bin/nice';
const canRenice = () => process.getuid?.() === 0 && fs.existsSync(NICE);

/** The private /tmp of a sandboxed cell (tmpfs: it counts against the memory limit as well). */
const TMP_LIMIT_BYTES = 512 * 1024 * 1024;

export interface CellProcessOptions {
  /** The compiled child script. */
  script: string;
  projectRoot: string;
  /** The notebook folder: working folder, readable. */
  cwd: string;
  /** Everything the process may map (cgroup), in MB; the V8 heap gets the same limit. */
  memoryLimitMb: number;
  /** Run without bubblewrap and cgroups (trusted code only). Default: CARDLAB_UNSANDBOXED. */
  unsandboxed?: boolean;
  sandbox?: Partial<SandboxSettings>;
  /** Folders inside the notebook folder to hide (the decks, the data folder). */
  hidden?: string[];
  /** Extra variables (on top of the fixed environment). */
  env?: Record<string, string>;
  /** Do the slow start-up before the job comes (a warm pool child). */
  warmUp?: boolean;
  /** Node's permission model as a second layer (default true; tests switch it off to try the OS layer alone). */
  permissionModel?: boolean;
}

/** The node flags of a cell process (the code cache is made per set of these). */
export function cellNodeFlags(memoryLimitMb: number): string[] {
  return [`--max-old-space-size=${memoryLimitMb}`, '--disable-warning=ExperimentalWarning'];
}

/** The environment of every cell: fixed, plus the few CARDLAB_* settings cells read. */
export function cellEnv(tmp: string, extra: Record<string, string> = {}, from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = { PATH: '/usr/bin:/bin', HOME: tmp, TMPDIR: tmp, LANG: 'C.UTF-8' };
  for (const name of PASSED_ENV) if (from[name]) env[name] = from[name]!;
  return { ...env, ...extra };
}

const live = new Set<CellProcess>();

export class CellProcess {
  readonly child: ChildProcess;
  readonly sandboxed: boolean;
  private cgroup?: CellCgroup;
  private tempDir?: string;
  private handedOver = false;
  private cleaned = false;
  /** Started at WARMING_NICENESS (a pool child): back to normal priority when it gets its job. */
  private readonly niced: boolean;
  /** When the child said it finished warming up (only informs the pool; limits never depend on it). */
  readyAt?: number;
  private early: Buffer[] = [];
  private stopEarly: () => void;
  /** Read from the cgroup just before it is removed. */
  private oomKilled?: boolean;
  /** Resolves when the process is gone and its cgroup and folders are removed. */
  readonly closed: Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly options: CellProcessOptions) {
    this.sandboxed = !(options.unsandboxed ?? unsandboxedByEnv());
    const v8Flags = cellNodeFlags(options.memoryLimitMb);
    // Made once per machine and flags by a process that runs no cell code; read-only to cells.
    const cacheDir = codeCacheDir(options.projectRoot, v8Flags);
    void ensureCodeCache({ script: options.script, cwd: options.cwd, nodeFlags: v8Flags, dir: cacheDir });
    const warmUp = [...(options.warmUp ? [WARM_UP_FLAG] : []), `${CODE_CACHE_FLAG}${cacheDir}`];
    let command: string;
    let args: string[];
    let env: Record<string, string>;
    this.niced = Boolean(options.warmUp) && canRenice();
    const nice = this.niced ? [NICE, '-n', String(WARMING_NICENESS)] : [];
    if (this.sandboxed) {
      const settings = { ...defaultSandboxSettings(), ...options.sandbox };
      const missing = sandboxProblem(settings);
      if (missing) throw new SandboxUnavailableError(missing);
      const tmp = sandboxTmpDir(options);
      env = cellEnv(tmp, options.env);
      const sandbox = bwrapArgs({ projectRoot: options.projectRoot, cwd: options.cwd, hidden: options.hidden, tmpBytes: TMP_LIMIT_BYTES });
      this.cgroup = CellCgroup.create(options.memoryLimitMb * 1024 * 1024, settings.cgroupRoot);
      const setenv = Object.entries(env).flatMap(([name, value]) => ['--setenv', name, value]);
      const node = [process.execPath, ...permissionFlags(options, tmp), ...v8Flags, options.script, ...warmUp];
      // The shell joins the cgroups first, then becomes bwrap: everything the cell forks is inside.
      command = '/bin/sh';
      args = ['-c', 'echo $$ > "$1" && echo $$ > "$2" && shift 2 && exec "$@"', 'cardlab-cell', ...this.cgroup.procsFiles, ...nice, settings.bwrapPath, ...sandbox, ...setenv, '--', ...node];
    } else {
      this.tempDir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cardlab-cell-')));
      env = cellEnv(this.tempDir, options.env);
      const node = [process.execPath, ...permissionFlags(options, this.tempDir), ...v8Flags, options.script, ...warmUp];
      [command, ...args] = [...nice, ...node];
    }
    try {
      this.child = spawn(command, args, { cwd: this.sandboxed ? '/' : options.cwd, env, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    } catch (err) {
      this.cleanUp();
      throw err;
    }
    live.add(this);
    this.child.stdin!.on('error', () => undefined); // a child that dies early closes its stdin
    // Until the runner takes over, the event pipe is read here (the pool wants to know when its
    // child is warm); what came is replayed to the runner.
    const events = this.child.stdio[3] as NodeJS.ReadableStream;
    const early = (chunk: Buffer) => {
      this.early.push(chunk);
      if (this.readyAt === undefined && chunk.includes('"type":"ready"')) this.readyAt = Date.now();
    };
    events.on('data', early);
    this.stopEarly = () => events.removeListener('data', early);
    this.closed = new Promise((resolve) => {
      this.child.on('close', (exitCode, signal) => {
        this.cleanUp();
        resolve({ exitCode, signal });
      });
    });
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && !this.cleaned;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Receives the event pipe's data from now on, starting with what came before. */
  onEventData(listener: (chunk: Buffer) => void): void {
    this.stopEarly();
    for (const chunk of this.early.splice(0)) listener(chunk);
    (this.child.stdio[3] as NodeJS.ReadableStream).on('data', listener);
  }

  /** Sends the job: the run starts now (its time limit counts from here). Only once. */
  start(job: CellJob): void {
    if (this.handedOver) throw new Error('this cell process already has a job');
    this.handedOver = true;
    if (this.niced) this.renice(0);
    this.child.stdin!.end(JSON.stringify(job));
  }

  /**
   * SIGSTOP (or SIGCONT) to every process of the cell: a stopped child takes no CPU at all. The
   * direct child first: a shell that has not yet joined its cgroup stops before it starts anything;
   * then the cgroup's processes, again until no new one shows up (one forked meanwhile).
   */
  pause(paused: boolean): void {
    const signal = paused ? 'SIGSTOP' : 'SIGCONT';
    const signalled = new Set<number>();
    const send = (pid: number) => {
      signalled.add(pid);
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    };
    if (this.child.pid) send(this.child.pid);
    for (let pass = 0; pass < 3 && this.cgroup; pass++) {
      const fresh = this.cgroup.pids().filter((pid) => !signalled.has(pid));
      if (!fresh.length) break;
      fresh.forEach(send);
    }
  }

  /** Sets the nice value of every thread of the cell (each thread has its own in Linux). */
  private renice(niceness: number): void {
    let threads: number[] = this.cgroup?.threads() ?? [];
    if (!this.cgroup && this.child.pid) {
      try {
        threads = fs.readdirSync(`/proc/${this.child.pid}/task`).map(Number);
      } catch {
        threads = []; // gone: the run will say so
      }
    }
    for (const tid of threads) {
      try {
        os.setPriority(tid, niceness);
      } catch {
        // the thread ended
      }
    }
  }

  /** True when the kernel killed something in the cell's cgroup for memory. */
  hitMemoryLimit(): boolean {
    return this.oomKilled ?? (this.cgroup?.oomKills() ?? 0) > 0;
  }

  /** SIGKILL to the process and everything in its cgroup. */
  kill(): void {
    this.cgroup?.killAll();
    this.child.kill('SIGKILL');
  }

  private cleanUp(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    live.delete(this);
    if (this.cgroup) {
      this.oomKilled = this.cgroup.oomKills() > 0;
      this.cgroup.remove();
    }
    if (this.tempDir) fs.rmSync(this.tempDir, { recursive: true, force: true });
  }

  /** Kill now and clean up synchronously (shutdown, process exit). */
  destroy(): void {
    this.kill();
    this.cleanUp();
  }
}

/** The roots Node's permission model lets the cell read, and the folder it may write. */
function permissionFlags(options: CellProcessOptions, tmp: string): string[] {
  if (options.permissionModel === false) return [];
  const cwd = options.cwd;
  // TypeScript looks (and watches) node_modules folders all the way up from the notebook folder.
  const lookups: string[] = [];
  for (let dir = cwd; ; dir = path.dirname(dir)) {
    lookups.push(path.join(dir, 'node_modules'));
    if (path.dirname(dir) === dir) break;
  }
  const code = codeMounts({ projectRoot: options.projectRoot, cwd }).map((m) => m.to);
  if (!code.length) code.push(...PROJECT_CODE.map((name) => path.join(options.projectRoot, name)));
  const readable = [...new Set([...code, cwd, tmp, ...lookups])];
  return ['--experimental-permission', ...readable.map((root) => `--allow-fs-read=${root}`), `--allow-fs-write=${tmp}`];
}

/** Kills every cell process of this process and removes their cgroups and temp folders. */
export function destroyAllCellProcesses(): number {
  const count = live.size;
  for (const cell of [...live]) cell.destroy();
  return count;
}

export function liveCellProcesses(): number {
  return live.size;
}

/**
 * For command-line tools that run cells (autograde): SIGTERM or SIGINT kills every cell process,
 * removes their cgroups and temp folders, and ends this process as the signal would have.
 */
let stoppingOnSignals = false;

export function stopCellsOnSignals(): void {
  if (stoppingOnSignals) return;
  stoppingOnSignals = true;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      destroyAllCellProcesses();
      process.exit(128 + (signal === 'SIGTERM' ? 15 : 2));
    });
  }
}

// Whatever way this process ends normally, no cell outlives it (bwrap's --die-with-parent covers SIGKILL).
process.once('exit', () => {
  destroyAllCellProcesses();
});
