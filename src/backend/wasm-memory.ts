/**
 * A clear error when the wasm backend's memory is full, instead of a run that hangs.
 *
 * WebAssembly (wasm32) addresses at most 4 GB. When tfjs-backend-wasm 4.22 asks for a tensor's
 * buffer and `malloc` finds no room, the threaded build returns 0 and tfjs does not check it: the
 * tensor is placed at address 0, over the heap's own data, and the run goes on with corrupted
 * memory (the DenseNet-BC L=100 naive step at batch 32 then spins for ever at 4.4 GB). The
 * single-threaded build aborts inside `malloc` with a bare "Aborted()". Both become one
 * `WasmOutOfMemoryError` that says what was asked for and what needs less memory.
 */
import type * as tf from '@tensorflow/tfjs';

/** The wasm32 address space: the heap cannot grow past it. */
export const WASM_MEMORY_LIMIT_BYTES = 4 * 2 ** 30;

const MB = 2 ** 20;

export class WasmOutOfMemoryError extends Error {
  constructor(
    readonly requestedBytes: number,
    readonly heapBytes: number,
  ) {
    super(
      `out of memory: the wasm backend could not allocate ${Math.ceil(requestedBytes / MB)} MB ` +
        `(its heap is ${Math.round(heapBytes / MB)} MB of the ${WASM_MEMORY_LIMIT_BYTES / MB} MB WebAssembly can address). ` +
        'A smaller batch, the memory-efficient DenseNet (memoryEfficient: true) or the tensorflow backend needs less.',
    );
    this.name = 'WasmOutOfMemoryError';
  }
}

interface WasmModule {
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  HEAPU8: Uint8Array;
  cardlabMallocChecked?: boolean;
}

/**
 * Makes the backend's `malloc` throw `WasmOutOfMemoryError` when it fails (idempotent). Kernels
 * that run in C++ allocate there too; those failures are not seen here.
 */
export function checkWasmAllocations(backend: tf.KernelBackend): void {
  const wasm = (backend as unknown as { wasm?: WasmModule }).wasm;
  if (!wasm || wasm.cardlabMallocChecked) return;
  // Emscripten's `_malloc` replaces itself with the raw export on its first call: call it once
  // so the function wrapped below is the one that stays.
  wasm._free(wasm._malloc(8));
  const malloc = wasm._malloc;
  wasm._malloc = (bytes: number): number => {
    let pointer: number;
    try {
      pointer = malloc(bytes);
    } catch (err) {
      // The single-threaded build aborts in malloc when the heap cannot grow.
      if (/Aborted\(/.test(String((err as Error)?.message ?? err))) throw new WasmOutOfMemoryError(bytes, wasm.HEAPU8.buffer.byteLength);
      throw err;
    }
    if (pointer === 0 && bytes > 0) throw new WasmOutOfMemoryError(bytes, wasm.HEAPU8.buffer.byteLength);
    return pointer;
  };
  wasm.cardlabMallocChecked = true;
}
