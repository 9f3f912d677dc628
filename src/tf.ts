/**
 * The only module that imports TensorFlow.js. Everything else does
 * `import { tf } from '../tf'` so the same code runs on every backend.
 *
 * Backend order: `tensorflow` (@tensorflow/tfjs-node, an optionalDependency that
 * fails to install without internet), then `wasm` (SIMD, with our own
 * Conv2DBackpropFilter kernel, which tfjs-backend-wasm lacks), then `cpu`.
 * `CARDLAB_BACKEND=tensorflow|wasm|cpu` forces one.
 */
import * as tf from '@tensorflow/tfjs';
import { registerWasmGradientKernels } from './backend/wasm-kernels';
import { registerWasmChannelKernels } from './backend/wasm-channel-kernels';
import { registerWasmSharedKernels } from './backend/wasm-shared-kernels';
import { registerBatchNormGradient } from './backend/batchnorm-grad';
import { checkWasmAllocations } from './backend/wasm-memory';
import { freeTapeOnFailedGradients } from './backend/tape-cleanup';
import { prepareThreadedWasm, releaseWasmThreads, requestedWasmThreads, wasmThreadsAllowed } from './backend/wasm-threads';

// Same math as tfjs-core's, without its Tile (slow on wasm): see the module.
registerBatchNormGradient();
// A failed training step (out of memory, a shape error) frees what its tape kept: see the module.
freeTapeOnFailedGradients();

export { tf };

/**
 * The cpu backend prints a "Hi, looks like you are running TensorFlow.js in Node.js" banner
 * (console.warn) on its first tensor. We choose backends ourselves and report them
 * (`cardlab backends`), so the banner is noise: switch it off on the cpu backend
 * instance (findBackend creates it; that is cheap and does not activate it).
 */
function silenceCpuBanner(): void {
  const cpu = tf.findBackend('cpu') as { firstUse?: boolean } | null;
  if (cpu) cpu.firstUse = false;
}
silenceCpuBanner();

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export const BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

/** Why each backend that was tried did not load, for messages and `cardlab backends`. */
export const backendErrors: Partial<Record<BackendName, string>> = {};

let wasmStarted = false;

/** Starts the wasm backend with `threads` XNNPACK threads; false when it did not initialize. */
async function startWasm(wasm: Parameters<typeof prepareThreadedWasm>[0], threads: number): Promise<boolean> {
  const restore = prepareThreadedWasm(wasm, threads);
  try {
    const ok = await tf.setBackend('wasm');
    if (ok) {
      releaseWasmThreads(tf.findBackend('wasm'));
      checkWasmAllocations(tf.findBackend('wasm'));
    }
    return ok;
  } catch {
    return false;
  } finally {
    restore();
  }
}

/** Threads of the wasm backend's XNNPACK pool (1 = single-threaded); null before it started. */
export function wasmThreads(): number | null {
  if (!wasmStarted) return null;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('@tensorflow/tfjs-backend-wasm') as { getThreadsCount(): number }).getThreadsCount();
}

async function loadBackend(name: BackendName): Promise<void> {
  switch (name) {
    case 'tensorflow':
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require('@tensorflow/tfjs-node');
      } catch (err) {
        throw new Error(
          `the tensorflow backend needs @tensorflow/tfjs-node (with libtensorflow), which is not installed (its install downloads libtensorflow, so it needs internet); use CARDLAB_BACKEND=wasm or leave it unset. ${(err as Error).message.split('\n')[0]}`,
        );
      }
      break;
    case 'wasm': {
      let wasm: Parameters<typeof prepareThreadedWasm>[0];
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        wasm = require('@tensorflow/tfjs-backend-wasm');
      } catch (err) {
        throw new Error(
          `the wasm backend needs @tensorflow/tfjs-backend-wasm, which does not load: ${(err as Error).message.split('\n')[0]}`,
        );
      }
      registerWasmGradientKernels();
      registerWasmChannelKernels();
      registerWasmSharedKernels();
      if (!wasmStarted) {
        // First start: threaded (both cores for the XNNPACK kernels) unless CARDLAB_WASM_THREADS=1 or
        // the process may not start workers; a threaded start that fails falls back to one thread.
        const threads = wasmThreadsAllowed() ? requestedWasmThreads() : 1;
        if (!(await startWasm(wasm, threads)) && !(threads > 1 && (await startWasm(wasm, 1)))) {
          throw new Error('the wasm backend did not initialize');
        }
        wasmStarted = true;
      }
      break;
    }
    case 'cpu':
      break; // bundled with @tensorflow/tfjs
  }
  if (!(await tf.setBackend(name))) {
    throw new Error(`the ${name} backend did not initialize`);
  }
}

function requestedBackend(): BackendName | undefined {
  const forced = process.env.CARDLAB_BACKEND?.trim();
  if (!forced) return undefined;
  if (!(BACKENDS as readonly string[]).includes(forced)) {
    throw new Error(`CARDLAB_BACKEND=${forced} is not one of ${BACKENDS.join(', ')}`);
  }
  return forced as BackendName;
}

let ready: Promise<BackendName> | undefined;

/**
 * Picks and initializes the backend once; later calls return the same promise.
 * `name` (or CARDLAB_BACKEND) forces one: if it cannot load, that is an error.
 */
export async function initBackend(name?: BackendName): Promise<BackendName> {
  name ??= requestedBackend();
  if (name) return useBackend(name);
  ready ??= (async () => {
    for (const candidate of BACKENDS) {
      try {
        await loadBackend(candidate);
        return candidate;
      } catch (err) {
        backendErrors[candidate] = (err as Error).message;
      }
    }
    throw new Error(`no TensorFlow.js backend could load: ${JSON.stringify(backendErrors)}`);
  })();
  return ready;
}

/** Switches to `name`, loading it if needed; a backend that cannot load is an error naming why. */
export async function useBackend(name: BackendName): Promise<BackendName> {
  try {
    await loadBackend(name);
  } catch (err) {
    backendErrors[name] = (err as Error).message;
    throw new Error(`cannot use the ${name} backend: ${(err as Error).message}`);
  }
  ready = Promise.resolve(name);
  return name;
}

/** The backends that load on this machine, in preference order (tries each; restores the current one). */
export async function availableBackends(): Promise<BackendName[]> {
  const current = tf.getBackend() as BackendName | undefined;
  const ok: BackendName[] = [];
  for (const name of BACKENDS) {
    try {
      await loadBackend(name);
      ok.push(name);
    } catch (err) {
      backendErrors[name] = (err as Error).message;
    }
  }
  if (current) await tf.setBackend(current);
  return ok;
}
