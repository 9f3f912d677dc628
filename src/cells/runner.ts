/**
 * Runs notebook code cells in a child process with the tslab kernel's semantics (see child.ts),
 * under limits: a time limit (then the process is killed), a V8 heap limit, and Node's permission
 * model (reads: the project, its node_modules and the notebook folder; writes: a fresh temp folder
 * only; no child processes, worker threads, native addons or WASI). Events stream back as they
 * come, through `onEvent` and as an async iterator; the last one is always `exit`.
 *
 * Two uses: a whole notebook top to bottom (tests), and one linked cell on its own (live demos).
 */
import { spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { StringDecoder } from 'string_decoder';
import type { CellEvent, CellJob, ExitReason, GradingJob } from './events';
import { readNotebook, codeCells } from './notebook';

export const DEFAULT_TIME_LIMIT_MS = 30_000;
export const DEFAULT_MEMORY_LIMIT_MB = 2048;
/** Starting the TypeScript converter takes about a second (much more on a busy machine): not the cells' time. */
export const STARTUP_LIMIT_MS = 60_000;
export const DEFAULT_OUTPUT_LIMIT_BYTES = 20 * 1024 * 1024;

/** The project folder (the one with cardlab's package.json), from src/cells or dist/src/cells. */
export const PROJECT_ROOT = findProjectRoot(__dirname);

function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === 'cardlab') return dir;
    if (path.dirname(dir) === dir) throw new Error(`cannot find cardlab's package.json above ${from}`);
  }
}

export interface RunOptions {
  /** Where modules resolve from, as the kernel started for a notebook in that folder. Default: notebooks/ (or the project). */
  cwd?: string;
  /** How long the cells may run, counted from the `ready` event (the child is killed then). */
  timeLimitMs?: number;
  /** V8 heap limit of the child (--max-old-space-size). */
  memoryLimitMb?: number;
  /** All events together may not exceed this (a cell printing in a loop is killed, not kept in memory). */
  outputLimitBytes?: number;
  /** Environment of the child. Default: PATH, LANG and CARDLAB_* variables only, HOME and TMPDIR in the temp folder. */
  env?: NodeJS.ProcessEnv;
  /**
   * What the cells may read besides the working folder and the temp folder. Default:
   * `codeReadableRoots()`, the code `import … from 'cardlab'` needs, not the decks, the instructors'
   * notebooks (hidden tests) or the server's data.
   */
  readableRoots?: string[];
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
  /** Kills the child now (its `exit` event says `crash`, with signal SIGKILL). */
  kill(): void;
}

/** The compiled child script; the runner also runs from ts-jest, where only dist has JavaScript. */
function childScript(): string {
  const candidates = [path.join(__dirname, 'child.js'), path.join(PROJECT_ROOT, 'dist', 'src', 'cells', 'child.js')];
  const found = candidates.find((file) => fs.existsSync(file));
  if (!found) throw new Error(`the cell runner needs the compiled child script (${candidates[1]}): run \`npm run build\``);
  return found;
}

function defaultEnv(tempDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, LANG: process.env.LANG, HOME: tempDir, TMPDIR: tempDir };
  for (const [name, value] of Object.entries(process.env)) if (name.startsWith('CARDLAB_')) env[name] = value;
  return env;
}

/**
 * What a cell may read of the project: package.json, dist/ and node_modules/ (cardlab, tslab and
 * their dependencies), not the decks, the instructors' notebooks (hidden tests) or the server's data.
 * Safe only because node_modules/cardlab links to packages/cardlab (a package.json and a link to
 * dist/; readable too, TypeScript watches it), not to the project root: Node's permission model
 * checks path strings and follows links.
 */
export function codeReadableRoots(root: string = PROJECT_ROOT): string[] {
  return ['package.json', 'dist', 'node_modules', 'packages/cardlab'].map((name) => path.join(fs.realpathSync(root), name));
}

/** The paths the cell may read: the code roots (see above), the working folder and the temp folder. */
function readableRoots(cwd: string, tempDir: string, code: string[] = codeReadableRoots()): string[] {
  const folder = fs.realpathSync(cwd);
  // TypeScript watches the node_modules folders it looked into (most of them missing) on its way up.
  const lookups: string[] = [];
  for (let dir = folder; ; dir = path.dirname(dir)) {
    lookups.push(path.join(dir, 'node_modules'));
    if (path.dirname(dir) === dir) break;
  }
  const roots = [...code, folder, fs.realpathSync(tempDir), ...lookups];
  return [...new Set(roots)];
}

/** notebooks/, where the linked cells come from (modules resolve the same from the project root). */
function defaultCwd(): string {
  const notebooks = path.join(PROJECT_ROOT, 'notebooks');
  return fs.existsSync(notebooks) ? notebooks : PROJECT_ROOT;
}

/** Runs `cells` in order in one fresh child process; stops at the first failing cell unless told not to. */
export function runCells(cells: string[], options: RunOptions = {}): CellRun {
  const cwd = path.resolve(options.cwd ?? defaultCwd());
  if (!fs.existsSync(cwd)) throw new Error(`cannot run cells in ${cwd}: no such folder`);
  const timeLimitMs = options.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS;
  const memoryLimitMb = options.memoryLimitMb ?? DEFAULT_MEMORY_LIMIT_MB;
  const outputLimitBytes = options.outputLimitBytes ?? DEFAULT_OUTPUT_LIMIT_BYTES;
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cardlab-cell-'));
  const started = Date.now();

  const events: CellEvent[] = [];
  const wakeUps: Array<() => void> = [];
  let finished = false;
  const wakeIterators = () => wakeUps.splice(0).forEach((wake) => wake());
  const push = (event: CellEvent) => {
    events.push(event);
    options.onEvent?.(event);
    wakeIterators();
  };

  const args = [
    '--experimental-permission',
    ...readableRoots(cwd, tempDir, options.readableRoots).map((root) => `--allow-fs-read=${root}`),
    `--allow-fs-write=${fs.realpathSync(tempDir)}`,
    `--max-old-space-size=${memoryLimitMb}`,
    '--disable-warning=ExperimentalWarning',
    childScript(),
  ];
  const child = spawn(process.execPath, args, {
    cwd,
    env: options.env ?? defaultEnv(tempDir),
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });

  let currentCell = 0;
  let timedOut = false;
  let outputBytes = 0;
  let outputLimited = false;
  /** Counts output; past the limit the child is killed and further output dropped. */
  const withinOutputLimit = (bytes: number): boolean => {
    outputBytes += bytes;
    if (outputBytes > outputLimitBytes && !outputLimited) {
      outputLimited = true;
      child.kill('SIGKILL');
    }
    return !outputLimited;
  };
  let rawStderr = '';
  const killAfter = (ms: number) =>
    setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, ms);
  let timer = killAfter(STARTUP_LIMIT_MS);

  // Events: newline-delimited JSON on fd 3.
  const decoder = new StringDecoder('utf8');
  let pending = '';
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => {
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
      } catch {
        event = { type: 'stream', cell: currentCell, name: 'stderr', text: `(unreadable event from the cell process) ${line}\n` };
      }
      if (event.type === 'cell-start') currentCell = event.cell;
      if (event.type === 'ready') {
        clearTimeout(timer);
        timer = killAfter(timeLimitMs);
      }
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

  const job: CellJob = { cells, continueAfterErrors: options.continueAfterErrors, grading: options.grading };
  child.stdin!.on('error', () => undefined); // a child that dies early closes its stdin
  child.stdin!.end(JSON.stringify(job));

  const exitReason = (exitCode: number | null): ExitReason => {
    if (timedOut) return 'timeout';
    if (outputLimited) return 'output-limit';
    if (/heap out of memory|Reached heap limit/.test(rawStderr)) return 'memory';
    const cellEnds = events.filter((e): e is Extract<CellEvent, { type: 'cell-end' }> => e.type === 'cell-end');
    // An error thrown later from a timer of a finished cell fails the run too (Jupyter shows it on stderr).
    if (cellEnds.some((e) => !e.ok) || events.some((e) => e.type === 'error')) return 'cell-error';
    // A cell may end the process itself (process.exit): then not every cell has ended.
    return exitCode === 0 && cellEnds.length === cells.length ? 'done' : 'crash';
  };

  const result = new Promise<RunResult>((resolve) => {
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      fs.rmSync(tempDir, { recursive: true, force: true });
      const reason = exitReason(exitCode);
      push({ type: 'exit', ok: reason === 'done', reason, exitCode, signal, ms: Date.now() - started });
      finished = true;
      wakeIterators();
      resolve({ ok: reason === 'done', reason, events, ms: Date.now() - started });
    });
  });

  return {
    result,
    kill: () => child.kill('SIGKILL'),
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
