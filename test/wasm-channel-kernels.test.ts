/**
 * cardlab's channel kernels on wasm (src/backend/wasm-channel-kernels.ts: FusedBatchNorm, channel
 * Concat, Slice and SplitV, Sum/Mean over N, H, W) against the cpu backend, on the cases they take over and
 * on the cases they hand back to the original wasm kernels; and that they are the kernels in use.
 *
 * Metric: relErr(a, b) = max|a − b| / max(1, max|b|), b = cpu. Must be ≤ 1e-5.
 */
import { tf, useBackend } from '../src/tf';
import { originalChannelKernels } from '../src/backend/wasm-channel-kernels';

/** Deterministic values in [lo, hi) (a small LCG), the same on every backend. */
function values(n: number, seed: number, lo = -1, hi = 1): number[] {
  const out: number[] = [];
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out.push(lo + ((hi - lo) * s) / 2 ** 32);
  }
  return out;
}
const t = (shape: number[], seed: number, lo?: number, hi?: number) => tf.tensor(values(shape.reduce((a, b) => a * b, 1), seed, lo, hi), shape);

type Case = { name: string; run: () => tf.Tensor };
/** Pieces laid end to end (a Concat on axis 0, which the original kernel does). */
const flat = (pieces: tf.Tensor[]) => tf.concat(pieces.map((p) => p.reshape([-1])), 0);
const cases: Case[] = [
  // Taken over: channels last.
  { name: 'FusedBatchNorm, [C] statistics, scale and offset', run: () => tf.batchNorm4d(t([3, 5, 4, 7], 1, 2, 6) as tf.Tensor4D, t([7], 2, 2, 5) as tf.Tensor1D, t([7], 3, 0.5, 2) as tf.Tensor1D, t([7], 4) as tf.Tensor1D, t([7], 5) as tf.Tensor1D, 1e-3) },
  { name: 'FusedBatchNorm without scale and offset', run: () => tf.batchNorm(t([6, 9], 6), t([9], 7), t([9], 8, 0.1, 1)) },
  { name: 'FusedBatchNorm, scalar statistics (broadcast)', run: () => tf.batchNorm(t([4, 3, 5], 9), tf.scalar(0.3), tf.scalar(2), tf.scalar(0.1), tf.scalar(1.5), 1e-5) },
  { name: 'Concat of three on the channel axis (narrow and wide rows)', run: () => tf.concat([t([2, 3, 4, 5], 10), t([2, 3, 4, 20], 11), t([2, 3, 4, 1], 12)], 3) },
  { name: 'Concat on axis −1 of rank 2', run: () => tf.concat([t([5, 3], 13), t([5, 17], 14)], -1) },
  { name: 'Slice of channels (narrow)', run: () => tf.slice(t([2, 4, 3, 9], 15), [0, 0, 0, 2], [-1, -1, -1, 5]) },
  { name: 'Slice of channels (wide), explicit whole sizes', run: () => tf.slice(t([2, 3, 3, 40], 16), [0, 0, 0, 3], [2, 3, 3, 30]) },
  { name: 'SplitV of channels, uneven sizes (the gradient of a channel Concat)', run: () => flat(tf.split(t([2, 3, 4, 29], 30), [5, 12, 12], 3)) },
  { name: 'SplitV of channels, equal pieces, axis −1 of rank 2', run: () => flat(tf.split(t([7, 24], 31), 3, -1)) },
  { name: 'SplitV of channels, a size of −1', run: () => flat(tf.split(t([2, 2, 2, 10], 32), [3, -1], 3)) },
  { name: 'Sum over N, H, W', run: () => tf.sum(t([4, 6, 5, 7], 17), [0, 1, 2]) },
  { name: 'Sum over N, H, W, keepDims, axes out of order', run: () => tf.sum(t([4, 6, 5, 7], 18), [2, 0, 1], true) },
  { name: 'Mean over N, H, W (moments)', run: () => tf.moments(t([8, 5, 5, 6], 19, 1, 3), [0, 1, 2]).variance },
  { name: 'Mean of rank 2 over rows', run: () => tf.mean(t([50, 3], 20), 0) },
  // Handed back to the original kernels.
  { name: 'Concat on axis 0', run: () => tf.concat([t([2, 3, 4], 21), t([1, 3, 4], 22)], 0) },
  { name: 'Slice on spatial axes', run: () => tf.slice(t([2, 5, 5, 3], 23), [1, 1, 0, 0], [1, 3, -1, 2]) },
  { name: 'SplitV on axis 1', run: () => flat(tf.split(t([2, 6, 3, 4], 33), [2, 4], 1)) },
  { name: 'Sum over one axis', run: () => tf.sum(t([3, 4, 5], 24), 1) },
  { name: 'Sum of everything', run: () => tf.sum(t([3, 4, 5], 25)) },
  { name: 'Sum of int32', run: () => tf.sum(tf.tensor([[1, 2], [3, 4]], [2, 2], 'int32'), 0) },
  { name: 'FusedBatchNorm, 4-D statistics', run: () => tf.batchNorm(t([2, 3, 3, 4], 26), t([1, 3, 1, 4], 27), t([1, 3, 1, 4], 28, 0.5, 1)) },
];

async function onBackend(name: 'wasm' | 'cpu'): Promise<number[][]> {
  await useBackend(name);
  return cases.map((c) => tf.tidy(() => Array.from(c.run().dataSync())));
}

describe('channel kernels on wasm', () => {
  let wasm: number[][];
  let cpu: number[][];
  beforeAll(async () => {
    wasm = await onBackend('wasm');
    cpu = await onBackend('cpu');
    await useBackend('wasm');
  });

  test('replace the wasm kernels (the originals are kept for the other cases)', () => {
    for (const name of ['FusedBatchNorm', 'Concat', 'Slice', 'SplitV', 'Sum', 'Mean']) {
      expect((tf.getKernel(name, 'wasm')!.kernelFunc as { cardlab?: boolean }).cardlab).toBe(true);
      expect(typeof originalChannelKernels[name]).toBe('function');
    }
  });

  test.each(cases.map((c, i) => [c.name, i] as const))('%s: same values as the cpu backend', (_name, i) => {
    expect(wasm[i].length).toBe(cpu[i].length);
    const scale = Math.max(1, ...cpu[i].map(Math.abs));
    const err = Math.max(0, ...wasm[i].map((v, j) => Math.abs(v - cpu[i][j]))) / scale;
    expect(err).toBeLessThanOrEqual(1e-5);
  });

  test('sums over different numbers of rows in turn stay right; nothing leaks', () => {
    const before = tf.memory().numTensors;
    for (const rows of [10, 1000, 30, 5000]) {
      const sums = tf.tidy(() => Array.from(tf.sum(tf.ones([rows, 3]), 0).dataSync()));
      expect(sums).toEqual([rows, rows, rows]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  test('batch norm (a depthwise conv on a reshaped view) and concat (a pad, then row copies) leave no wasm buffer behind', () => {
    const buffers = () => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    const x = t([4, 8, 8, 6], 40);
    const [mean, variance] = [t([6], 41), t([6], 42, 0.5, 1.5)];
    const run = () => tf.tidy(() => void [tf.batchNorm(x, mean, variance), tf.concat([tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, 2]), x], 3)].map((r) => r.dataSync()));
    run();
    const before = buffers();
    for (let i = 0; i < 20; i++) run();
    expect(buffers()).toBe(before);
    tf.dispose([x, mean, variance]);
  });

  test('batch-norm gradients through the replaced kernels match the cpu backend', async () => {
    const grads = () =>
      tf.tidy(() => {
        const x = t([4, 3, 3, 5], 30);
        const [mean, variance, scale, offset] = [t([5], 31), t([5], 32, 0.5, 2), t([5], 33), t([5], 34)] as tf.Tensor1D[];
        const f = (xx: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => tf.sum(tf.mul(tf.batchNorm4d(xx as tf.Tensor4D, mean, variance, o as tf.Tensor1D, s as tf.Tensor1D, 1e-3), t([4, 3, 3, 5], 35)));
        return tf.grads(f)([x, scale, offset]).map((g) => Array.from(g.dataSync()));
      });
    const onWasm = grads();
    await useBackend('cpu');
    const onCpu = grads();
    await useBackend('wasm');
    onWasm.forEach((g, i) => g.forEach((v, j) => expect(v).toBeCloseTo(onCpu[i][j], 4)));
  });
});
