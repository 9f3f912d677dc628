/**
 * Puts one of our wasm kernels in place of tfjs-backend-wasm's own, keeping the original: our
 * kernels hand the cases they do not cover back to it, and tests and benchmarks compare against it.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Registers make(original) as wasm's `name` kernel and records the original in `originals`. The
 * registration keeps the original's config (its setupFunc binds the C function, so the original
 * stays callable). A kernel that is already ours (a second copy of cardlab, e.g. two installs) is
 * left alone, so ours never wraps ours.
 */
export function replaceWasmKernel<Args>(
  name: string,
  make: (original: tf.KernelFunc) => (args: Args) => tf.TensorInfo | tf.TensorInfo[],
  originals: Record<string, tf.KernelFunc | undefined>,
): void {
  const config = tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`tfjs-backend-wasm has no ${name} kernel: is it loaded?`);
  if ((config.kernelFunc as { cardlab?: boolean }).cardlab) return;
  originals[name] = config.kernelFunc;
  const kernelFunc = Object.assign(make(config.kernelFunc), { cardlab: true });
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...config, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}
