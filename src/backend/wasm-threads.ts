/**
 * The threaded-SIMD build of @tensorflow/tfjs-backend-wasm 4.22 under Node.
 *
 * tfjs ships a wasm build whose XNNPACK kernels (convolutions, matrix products) run on a pthread
 * pool, but never uses it in Node (its WASM_HAS_MULTITHREAD_SUPPORT flag says false there, tfjs
 * issue 3830). Emscripten's pthreads do work on Node's worker_threads; three things stand in the way,
 * and `prepareThreadedWasm` clears them for the duration of the backend's start-up:
 *
 * 1. tfjs hands Emscripten the pthread worker script as a Blob URL, which Node's `Worker` cannot open:
 *    we write the same script to a file and return its path from `URL.createObjectURL`.
 * 2. That script loads the main Emscripten script from a Blob as well; our copy loads the file that
 *    ships in the package (`wasm-out/tfjs-backend-wasm-threaded-simd.js`) instead.
 * 3. The C++ side caps the pool at `emscripten_num_logical_cores() / 2` (it assumes two hardware
 *    threads per core), i.e. one thread on a 2-core machine: `os.cpus()` (what Emscripten reads in
 *    Node) reports twice the cores while the module starts, so the cap is the real core count.
 *
 * The number of threads is `CARDLAB_WASM_THREADS` (default: the available cores, at most 8, the
 * pool Emscripten pre-creates); 1 keeps the single-threaded SIMD build, and so does a process that may
 * not start worker threads (Node's permission model) or whose threaded start fails. Kernels give the same
 * results either way up to float rounding (XNNPACK splits the same sums over threads).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';

// The real module object (not an import namespace copy): Emscripten calls require('os').cpus().
// eslint-disable-next-line @typescript-eslint/no-require-imports
const os = require('os') as typeof import('os');

export const WASM_THREADS_ENV = 'CARDLAB_WASM_THREADS';
/** Emscripten pre-creates 8 pthread workers in this build; the C++ side caps the pool there too. */
const MAX_THREADS = 8;

/** The threads asked for: CARDLAB_WASM_THREADS, else the cores Node sees (at most 8). */
export function requestedWasmThreads(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[WASM_THREADS_ENV]?.trim();
  if (raw) {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
      throw new Error(`${WASM_THREADS_ENV}=${raw} must be a whole number from 1 to ${MAX_THREADS}`);
    }
    return n;
  }
  return Math.max(1, Math.min(MAX_THREADS, os.availableParallelism()));
}

/**
 * Whether this process may start the pool: under Node's permission model (`--experimental-permission`,
 * e.g. the notebook-cell sandbox) worker threads need `--allow-worker` and the worker script is written
 * to the temp folder. Without them the wasm backend starts single-threaded.
 */
export function wasmThreadsAllowed(): boolean {
  const permission = (process as { permission?: { has(scope: string, reference?: string): boolean } }).permission;
  if (!permission) return true;
  return permission.has('worker') && permission.has('fs.write', os.tmpdir());
}

/** The part of Emscripten's pthread worker script that loads the main script from a Blob. */
const BLOB_IMPORT =
  'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}else{var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)}';

/** Writes the pthread worker script (loading the packaged main script from its file) and returns its path. */
function writeWorkerScript(): string {
  const wasmOut = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
  const mainScript = path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { wasmWorkerContents } = require(path.join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  if (!fs.existsSync(mainScript) || !wasmWorkerContents.includes(BLOB_IMPORT)) {
    throw new Error('this @tensorflow/tfjs-backend-wasm has no threaded-SIMD build of the expected shape (written for 4.22.0)');
  }
  // The contents are JavaScript source in a template literal: newlines inside its strings are escaped.
  const script = wasmWorkerContents.replace(BLOB_IMPORT, `importScripts(${JSON.stringify(mainScript)});`).replace(/\n/g, '\\n');
  // One file per content: several processes may start at once, and a file is never rewritten in place.
  const hash = crypto.createHash('sha256').update(script).digest('hex').slice(0, 16);
  const file = path.join(os.tmpdir(), `cardlab-tfjs-wasm-pthread-${hash}.js`);
  if (!fs.existsSync(file)) {
    const temp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, script);
    fs.renameSync(temp, file);
  }
  return file;
}

type WasmModule = { setThreadsCount(n: number): void; getThreadsCount(): number };

/**
 * The XNNPACK pool's threads wait for work forever, and Node keeps a process alive while a worker
 * thread is referenced: unreference them (as Emscripten does with idle ones) so that a script ends
 * when its own work is done. Call once the backend has started.
 */
export function releaseWasmThreads(backend: unknown): void {
  const pthread = (backend as { wasm?: { PThread?: { runningWorkers?: { unref?: () => void }[]; unusedWorkers?: { unref?: () => void }[] } } }).wasm?.PThread;
  for (const worker of [...(pthread?.runningWorkers ?? []), ...(pthread?.unusedWorkers ?? [])]) worker.unref?.();
}

/**
 * Prepares the wasm backend to start threaded with `threads` threads; returns the function that
 * undoes the start-up patches (call it once `tf.setBackend('wasm')` has finished). With 1 thread it
 * does nothing: the single-threaded SIMD build loads as usual.
 */
export function prepareThreadedWasm(wasm: WasmModule, threads: number): () => void {
  if (threads <= 1) {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    return () => {};
  }
  const workerScript = writeWorkerScript();
  const createObjectURL = URL.createObjectURL;
  const cpus = os.cpus;
  URL.createObjectURL = (obj: Blob | MediaSource) =>
    obj instanceof Blob && obj.type === 'application/javascript' ? workerScript : createObjectURL(obj as Blob);
  os.cpus = () => {
    const real = cpus();
    return [...real, ...real];
  };
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  return () => {
    URL.createObjectURL = createObjectURL;
    os.cpus = cpus;
  };
}
