/**
 * wasm kernels that return their input's buffer instead of a copy, as the cpu backend's do.
 *
 * tfjs-backend-wasm 4.22 copies the whole tensor for `Identity` and for a `Cast` to the same dtype.
 * Training calls `Identity` for every tensor the tape saves for the backward pass (the engine keeps a
 * clone of each, `saveTensorsForBackwardMode`), so a training step copied most of its activations
 * once more: ~600 copies per step of the MNIST network, ~7% of its time, and twice the memory of what
 * the backward pass really needs. Sharing is safe for the same reason the wasm `Reshape` kernel already
 * shares: no kernel writes into its inputs, and the buffer's reference count (`incRef`) keeps it alive
 * until the last tensor using it is disposed.
 */
import * as tf from '@tensorflow/tfjs';
import { replaceWasmKernel } from './replace-kernel';

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };
interface RefCountingBackend extends tf.KernelBackend {
  incRef(dataId: object): void;
}

/** The same buffer under a new tensor: one more reference, no copy. */
function share(x: tf.TensorInfo, backend: tf.KernelBackend): tf.TensorInfo {
  (backend as RefCountingBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

let registered = false;

/** The wasm kernels replaced here (Cast keeps its original for real conversions). */
export const originalSharedKernels: Record<string, tf.KernelFunc> = {};

/** Replaces wasm's `Identity`, and its `Cast` when the dtype does not change, by buffer sharing (idempotent). */
export function registerWasmSharedKernels(): void {
  if (registered) return;
  replaceWasmKernel('Identity', (original) => (args: KernelArgs) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    return x.dtype === 'string' ? (original(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo) : share(x, args.backend);
  }, originalSharedKernels);
  replaceWasmKernel('Cast', (original) => (args: KernelArgs) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { dtype } = (args.attrs ?? {}) as { dtype?: tf.DataType };
    return dtype === x.dtype && dtype !== 'string' ? share(x, args.backend) : (original(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo);
  }, originalSharedKernels);
  registered = true;
}
