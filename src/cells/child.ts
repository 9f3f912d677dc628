/**
 * The child process of a cell run: a tslab kernel without Jupyter. It reads a CellJob (JSON) on
 * stdin, runs the cells in order with tslab's own converter and executor (so TypeScript checking,
 * top-level await, variables shared between cells, `import * as tslab from 'tslab'` and the
 * last-expression value behave exactly as in the kernel), and writes CellEvents, one JSON per
 * line, on file descriptor 3. Started by runner.ts, which sets the limits and permissions.
 *
 * The working directory is the notebook's folder: tslab resolves modules from there, as the
 * kernel does when Jupyter starts it.
 */
// First: the modules below compile through V8's code cache.
import { codeCache, makingCodeCache } from './child-code-cache';
import fs from 'fs';
import { format } from 'util';
import { createConverter } from 'tslab/dist/converter';
import { createExecutor, ConverterSet } from 'tslab/dist/executor';
import * as tslabJupyter from 'tslab/dist/jupyter';
import type { CellEvent, CellJob } from './events';
import { warmUp, WARM_UP_FLAG } from './warm-up';
import { configureCellTypeScript } from './cell-typescript';
import { writeCodeCache } from './code-cache';
import { cellScriptName, compileErrorText, describeThrown, locateRuntimeError, userFrames, userStack, type CellCode } from './error-lines';

const EVENTS_FD = 3;

/** Synchronous, so events already written reach the runner even if the cell then blocks forever. */
function emit(event: CellEvent): void {
  const bytes = Buffer.from(JSON.stringify(event) + '\n');
  let written = 0;
  while (written < bytes.length) {
    try {
      written += fs.writeSync(EVENTS_FD, bytes, written);
    } catch (err) {
      // The pipe may be non-blocking: wait for the runner to read.
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
    }
  }
}

let currentCell = 0;
/** Every cell's source and JavaScript, to map the frames of a stack back to the cells. */
const cellCode = new Map<number, CellCode>();

function streamWriter(name: 'stdout' | 'stderr') {
  return (chunk: string | Uint8Array, encoding?: unknown, callback?: unknown): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    emit({ type: 'stream', cell: currentCell, name, text });
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  };
}

/** tslab prints TypeScript diagnostics with this format (executor.ts printDiagnostics). */
const DIAGNOSTIC_FORMAT = '%s%d:%d - %s';

/** Receives what tslab's executor prints: diagnostics, thrown errors, and the last expression's value. */
const kernelConsole = {
  log(...args: unknown[]): void {
    emit({ type: 'result', cell: currentCell, text: format(...args) + '\n' });
  },
  error(...args: unknown[]): void {
    if (args[0] === DIAGNOSTIC_FORMAT) {
      const [, , line, column, message] = args as [string, string, number, number, string];
      emit({ type: 'error', cell: currentCell, kind: 'compile', message, line, column, text: compileErrorText(currentCell, line, column, message) });
      return;
    }
    const error = describeRuntimeError(args[0]);
    emit({ type: 'error', cell: currentCell, ...error, text: error.text });
  },
};

/**
 * Described without running the thrown value's own code (it may be a Proxy, or have a throwing
 * toString); its stack is cut down to the user's frames, at their cells' lines and columns.
 */
function describeRuntimeError(err: unknown): { kind: 'runtime'; message: string; line?: number; column?: number; text: string } {
  const { message, stack } = describeThrown(err);
  const frames = stack ? userFrames(stack, cellCode) : [];
  return { kind: 'runtime', message, ...locateRuntimeError(frames, currentCell), text: userStack(message, frames) + '\n' };
}

/**
 * tslab's converter, plus: the JavaScript of the current cell is kept, and named after the cell in
 * stack traces, to map runtime error lines back to the cell (error-lines.ts).
 */
function recordingConverters(): ConverterSet {
  configureCellTypeScript();
  const node = createConverter({ isJS: false, isBrowser: false });
  const recording: typeof node = {
    ...node,
    convert(prevDecl, src) {
      const result = node.convert(prevDecl, src);
      cellCode.set(currentCell, { source: src, output: result.output ?? '' });
      if (result.output !== undefined) result.output += `\n//# sourceURL=${cellScriptName(currentCell)}`;
      return result;
    },
    inspect: node.inspect.bind(node),
    complete: node.complete.bind(node),
    addModule: node.addModule.bind(node),
    close: node.close.bind(node),
  };
  return {
    node: recording,
    get browser(): never {
      throw new Error('browser cells are not supported by the cardlab runner');
    },
    close: () => node.close(),
  };
}

/**
 * Node 20's permission model does not cover signals: without this a cell could kill the server
 * (its parent) or any process of the same user. process.kill goes through process._kill.
 */
function denySignalsToOtherProcesses(): void {
  const processWithKill = process as unknown as { _kill: (pid: number, signal: number) => number };
  const ownKill = processWithKill._kill;
  Object.defineProperty(process, '_kill', {
    value: (pid: number, signal: number) => {
      if (pid !== process.pid) {
        throw Object.assign(new Error('cells may not send signals to other processes'), { code: 'ERR_ACCESS_DENIED' });
      }
      return ownKill.call(process, pid, signal);
    },
    writable: false,
    configurable: false,
  });
}

async function main(): Promise<void> {
  denySignalsToOtherProcesses();
  const started = Date.now();
  const converters = recordingConverters();
  const executor = createExecutor(process.cwd(), converters, kernelConsole);
  // A warm pool child (pool.ts) does the slow start-up before its job arrives; then waits for it.
  // No cell code has run yet when the job (with a grading key) is read.
  if (makingCodeCache) return makeCodeCache(converters.node, executor);
  if (process.argv.includes(WARM_UP_FLAG)) await warmUp(converters.node);
  emit({ type: 'ready', ms: Date.now() - started, codeCache: codeCache?.stats });
  const job = JSON.parse(fs.readFileSync(0, 'utf8')) as CellJob;

  // As tslab's kernel does: cell output goes to the cell, displays go through tslab's hook.
  process.stdout.write = streamWriter('stdout') as typeof process.stdout.write;
  process.stderr.write = streamWriter('stderr') as typeof process.stderr.write;
  (tslabJupyter as { lastWriteDisplayData: unknown }).lastWriteDisplayData = (
    message: { data: Record<string, string>; metadata: object; transient?: { display_id?: string } },
    update: boolean,
  ) => {
    emit({
      type: 'display',
      cell: currentCell,
      data: message.data,
      metadata: message.metadata ?? {},
      displayId: message.transient?.display_id,
      update: Boolean(update),
    });
  };
  process.on('uncaughtException', (err) => kernelConsole.error(err));
  process.on('unhandledRejection', (reason) => kernelConsole.error(reason));

  if (job.grading) {
    // Loaded only to grade: it locks the realm down (SES) before the student's cells run.
    const { runGradingJob } = await import('../coursework/grading-child');
    const allOk = await runGradingJob(job, {
      emit,
      converter: converters.node,
      cwd: process.cwd(),
      enterCell(index) {
        currentCell = index;
      },
      describeError: describeRuntimeError,
    });
    finish(allOk, executor);
    return;
  }

  let ok = true;
  let allOk = true;
  for (const [index, source] of job.cells.entries()) {
    currentCell = index;
    emit({ type: 'cell-start', cell: index });
    const cellStarted = Date.now();
    ok = await executor.execute(source);
    emit({ type: 'cell-end', cell: index, ok, ms: Date.now() - cellStarted });
    allOk &&= ok;
    if (!ok && !job.continueAfterErrors) break; // as nbconvert --execute: stop at the first failing cell
  }
  finish(allOk, executor);
}

/** The cache maker (code-cache.ts): what a warm child and a first cell compile, saved; no job, no events. */
async function makeCodeCache(converter: Parameters<typeof warmUp>[0], executor: { execute(src: string): Promise<boolean>; close(): void }): Promise<void> {
  await warmUp(converter);
  await executor.execute('const cached: number = 1'); // no value: the maker has no event pipe
  writeCodeCache(codeCache!.dir, codeCache!.recorded);
  executor.close();
  process.exit(0);
}

function finish(allOk: boolean, executor: { close(): void }): void {
  executor.close();
  process.exitCode = allOk ? 0 : 1;
  // Timers or sockets a cell left open must not keep the run alive.
  setImmediate(() => process.exit());
}

main().catch((err) => {
  emit({ type: 'error', cell: currentCell, kind: 'runtime', message: String(err), text: String(err?.stack ?? err) });
  process.exit(2);
});
