/**
 * Runs notebook code cells in a child process with the tslab kernel's semantics (see child.ts),
 * in the cell sandbox (cell-process.ts: bubblewrap namespaces and file system, a memory and pids
 * cgroup, Node's permission model, a fixed environment) and under limits the parent enforces: a
 * wall-clock time limit counted from when the job is handed to the child (start-up included for a
 * cold child) that nothing the child writes can change, the memory limit (everything the process
 * maps), and an output limit. Events stream back as they come, through `onEvent` and as an async
 * iterator; the last one is always the runner's own `exit`.
 *
 * Two uses: a whole notebook top to bottom (tests, autograding), and one linked cell on its own
 * (live demos, which take a pre-started child from a warm pool when one fits).
 */
import fs from 'fs';
import path from 'path';
import { constants as osConstants } from 'os';
import { StringDecoder } from 'string_decoder';
import { CellProcess } from './cell-process';
import type { CellEvent, CellJob, ExitReason, GradingJob } from './events';
import { readNotebook, codeCells } from './notebook';
import type { WarmPool } from './pool';
import { unsandboxedByEnv, type SandboxSettings } from './sandbox';

export const DEFAULT_TIME_LIMIT_MS = 30_000;
export const DEFAULT_MEMORY_LIMIT_MB = 2048;
export const DEFAULT_OUTPUT_LIMIT_BYTES = 20 * 1024 * 1024;

/** The project folder (the one with cardlab's package.json), from src/cells or dist/src/cells. */
export const PROJECT_ROOT = findProjectRoot(__dirname);

function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (readPackageName(path.join(dir, 'package.json')) === 'cardlab') return realpathOrSelf(dir);
    if (path.dirname(dir) === dir) throw new Error(`cannot find cardlab's package.json above ${from}`);
  }
}

/** Also inside a cell (cardlab imports this module), where most folders may not be read at all. */
function readPackageName(file: string): string | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')).name;
  } catch {
    return undefined;
  }
}

function realpathOrSelf(dir: string): string {
  try {
    return fs.realpathSync(dir);
  } catch {
    return dir;
  }
}

export interface RunOptions {
  /** Where modules resolve from, as the kernel started for a notebook in that folder. Default: notebooks/. */
  cwd?: string;
  /** Wall-clock limit of the run, from when the job is handed to the child (then everything is killed). */
  timeLimitMs?: number;
  /** Memory limit in MB: everything the child maps (cgroup) and its V8 heap. */
  memoryLimitMb?: number;
  /** All events together may not exceed this (a cell printing in a loop is killed, not kept in memory). */
  outputLimitBytes?: number;
  /** Extra environment variables; the rest is fixed (cell-process.ts cellEnv), nothing of the parent's but a few CARDLAB_* settings. */
  env?: Record<string, string>;
  /**
   * Run without bubblewrap and cgroups, for trusted code on a machine without them (Node's
   * permission model and the V8 heap limit remain). Default: CARDLAB_UNSANDBOXED=1. Without it, a
   * machine lacking the sandbox refuses to run (SandboxUnavailableError).
   */
  unsandboxed?: boolean;
  /** Where bwrap and the cgroups are (tests point these at missing files). */
  sandbox?: Partial<SandboxSettings>;
  /** Folders inside the notebook folder to keep hidden (the server's decks and data folder). */
  hidden?: string[];
  /** Node's permission model as a second layer inside the sandbox (default true; tests try the OS layer alone). */
  permissionModel?: boolean;
  /** Take a pre-started child from this pool when one fits. */
  pool?: WarmPool;
  /** Run every cell even after one failed (grading); default: stop at the first failing cell. */
  continueAfterErrors?: boolean;
  /** Grade: the child confines the student's cells and writes the tests' verdicts (src/coursework/grading-child.ts). */
  grading?: GradingJob;
  /** Called for each event as it arrives. */
  onEvent?: (event: CellEvent) => void;
}

export interface RunResult {
  ok: boolean;
  reason: ExitReason;
  events: CellEvent[];
  ms: number;
}

export interface CellRun extends AsyncIterable<CellEvent> {
  /** Resolves when the child is gone, with every event. Never rejects: failures are in the result. */
  result: Promise<RunResult>;
  /** Stops the run now: the child and everything it started are killed, the run ends with reason `stopped`. */
  kill(): void;
  /** The child's pid as the host sees it (the sandbox's outer process). */
  pid: number | undefined;
  /** True when the run got a pre-started child from the pool. */
  warm: boolean;
}

/** The compiled child script; the runner also runs from ts-jest, where only dist has JavaScript. */
export function childScript(): string {
  const candidates = [path.join(__dirname, 'child.js'), path.join(PROJECT_ROOT, 'dist', 'src', 'cells', 'child.js')];
  const found = candidates.find((file) => fs.existsSync(file));
  if (!found) throw new Error(`the cell runner needs the compiled child script (${candidates[1]}): run \`npm run build\``);
  return found;
}

/** notebooks/, where the linked cells come from. */
export function defaultCwd(): string {
  return path.join(PROJECT_ROOT, 'notebooks');
}

/** What the child may send: everything else (a forged `exit`, a server event) is not passed on. */
const CHILD_EVENTS = new Set<CellEvent['type']>(['ready', 'cell-start', 'stream', 'display', 'result', 'error', 'cell-end', 'verdict']);

/** The message of the runner's exit event for each way a run is stopped. */
export function limitMessage(reason: ExitReason, limits: { timeLimitMs: number; memoryLimitMb: number }): string | undefined {
  switch (reason) {
    case 'timeout':
      return `time limit of ${limits.timeLimitMs / 1000} s exceeded`;
    case 'memory':
      return `memory limit of ${limits.memoryLimitMb} MB exceeded`;
    case 'output-limit':
      return 'output limit exceeded: the cell printed too much';
    case 'stopped':
      return 'stopped';
    default:
      return undefined;
  }
}

/** Runs `cells` in order in one fresh child process; stops at the first failing cell unless told not to. */
export function runCells(cells: string[], options: RunOptions = {}): CellRun {
  const folder = path.resolve(options.cwd ?? defaultCwd());
  if (!fs.existsSync(folder)) throw new Error(`cannot run cells in ${folder}: no such folder`);
  const cwd = fs.realpathSync(folder);
  const timeLimitMs = options.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS;
  const memoryLimitMb = options.memoryLimitMb ?? DEFAULT_MEMORY_LIMIT_MB;
  const outputLimitBytes = options.outputLimitBytes ?? DEFAULT_OUTPUT_LIMIT_BYTES;
  const unsandboxed = options.unsandboxed ?? unsandboxedByEnv();

  const fromPool = options.env || options.permissionModel === false ? undefined : options.pool?.take({ cwd, memoryLimitMb, unsandboxed });
  const cell =
    fromPool ??
    new CellProcess({
      script: childScript(),
      projectRoot: PROJECT_ROOT,
      cwd,
      memoryLimitMb,
      unsandboxed,
      sandbox: options.sandbox,
      hidden: options.hidden,
      env: options.env,
      permissionModel: options.permissionModel,
    });
  const child = cell.child;
  // Children of the pool still warming up wait while this run goes on (pool.ts).
  const releasePool = options.pool?.hold();

  const events: CellEvent[] = [];
  const wakeUps: Array<() => void> = [];
  let finished = false;
  const wakeIterators = () => wakeUps.splice(0).forEach((wake) => wake());
  const push = (event: CellEvent) => {
    events.push(event);
    options.onEvent?.(event);
    wakeIterators();
  };

  let currentCell = 0;
  let timedOut = false;
  let stopped = false;
  let outputBytes = 0;
  let outputLimited = false;
  /** Counts output; past the limit the child is killed and further output dropped. */
  const withinOutputLimit = (bytes: number): boolean => {
    outputBytes += bytes;
    if (outputBytes > outputLimitBytes && !outputLimited) {
      outputLimited = true;
      cell.kill();
    }
    return !outputLimited;
  };
  let rawStderr = '';

  // Events: newline-delimited JSON on fd 3.
  const decoder = new StringDecoder('utf8');
  let pending = '';
  cell.onEventData((chunk: Buffer) => {
    pending += decoder.write(chunk);
    if (pending.length > outputLimitBytes) withinOutputLimit(pending.length); // one endless line
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (!line || !withinOutputLimit(line.length)) continue;
      let event: CellEvent;
      try {
        event = JSON.parse(line) as CellEvent;
        if (!CHILD_EVENTS.has(event?.type)) throw new Error('not an event the child sends');
      } catch {
        event = { type: 'stream', cell: currentCell, name: 'stderr', text: `(unreadable event from the cell process) ${line}\n` };
      }
      if (event.type === 'cell-start') currentCell = event.cell;
      push(event);
    }
  });
  // The child redirects the cell's output to events; what still reaches fds 1 and 2 comes from
  // outside JavaScript (Node's own fatal errors, native code), and is passed on as a stream.
  const forward = (name: 'stdout' | 'stderr') => (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    if (name === 'stderr' && rawStderr.length < 65536) rawStderr += text;
    if (!withinOutputLimit(chunk.length)) return;
    push({ type: 'stream', cell: currentCell, name, text });
  };
  child.stdout!.on('data', forward('stdout'));
  child.stderr!.on('data', forward('stderr'));

  // The time limit starts with the hand-over and is never moved.
  const handedOver = Date.now();
  const timer = setTimeout(() => {
    timedOut = true;
    cell.kill();
  }, timeLimitMs);
  const job: CellJob = { cells, continueAfterErrors: options.continueAfterErrors, grading: options.grading };
  cell.start(job);

  const exitReason = (exitCode: number | null): ExitReason => {
    if (stopped) return 'stopped';
    if (timedOut) return 'timeout';
    if (cell.hitMemoryLimit() || /heap out of memory|Reached heap limit/.test(rawStderr)) return 'memory';
    if (outputLimited) return 'output-limit';
    const cellEnds = events.filter((e): e is Extract<CellEvent, { type: 'cell-end' }> => e.type === 'cell-end');
    // An error thrown later from a timer of a finished cell fails the run too (Jupyter shows it on stderr).
    if (cellEnds.some((e) => !e.ok) || events.some((e) => e.type === 'error')) return 'cell-error';
    // A cell may end the process itself (process.exit): then not every cell has ended.
    return exitCode === 0 && cellEnds.length === cells.length ? 'done' : 'crash';
  };

  const result = cell.closed.then(({ exitCode, signal }): RunResult => {
    releasePool?.();
    clearTimeout(timer);
    // bwrap reports a child killed by signal N as exit code 128 + N.
    let exitSignal: string | null = signal;
    if (cell.sandboxed && exitCode !== null && exitCode > 128) {
      exitSignal = Object.entries(osConstants.signals).find(([, n]) => n === exitCode - 128)?.[0] ?? null;
    }
    const reason = exitReason(exitCode);
    const ms = Date.now() - handedOver;
    const message = limitMessage(reason, { timeLimitMs, memoryLimitMb });
    push({ type: 'exit', ok: reason === 'done', reason, exitCode: exitSignal ? null : exitCode, signal: exitSignal, ms, ...(message ? { message } : {}) });
    finished = true;
    wakeIterators();
    return { ok: reason === 'done', reason, events, ms };
  });

  return {
    result,
    pid: cell.pid,
    warm: fromPool !== undefined,
    kill: () => {
      if (finished) return;
      stopped = true;
      cell.kill();
    },
    [Symbol.asyncIterator](): AsyncIterator<CellEvent> {
      let next = 0;
      return {
        async next(): Promise<IteratorResult<CellEvent>> {
          while (next >= events.length && !finished) await new Promise<void>((wake) => wakeUps.push(wake));
          return next < events.length ? { value: events[next++], done: false } : { value: undefined, done: true };
        },
      };
    },
  };
}

/** Runs every code cell of a notebook top to bottom, in the notebook's folder. */
export function runNotebook(file: string, options: RunOptions = {}): CellRun {
  const notebook = readNotebook(file);
  return runCells(
    codeCells(notebook).map((c) => c.source),
    { cwd: path.dirname(path.resolve(file)), ...options },
  );
}

/** Runs one cell on its own (only its own imports), as a live demo does. */
export function runCell(source: string, options: RunOptions = {}): CellRun {
  return runCells([source], options);
}
