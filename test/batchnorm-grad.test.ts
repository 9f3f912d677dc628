/**
 * src/backend/batchnorm-grad.ts replaces tfjs-core's FusedBatchNorm gradient
 * (for speed on wasm). Its gradients must equal those of the same formula
 * written out in elementary ops, whose gradients tfjs derives itself.
 */
import { initBackend, tf } from '../src/tf';

beforeAll(async () => {
  await initBackend();
});

function maxRelativeError(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.abs(tf.sub(a, b)).div(tf.abs(b).add(1e-3)).max().dataSync()[0]);
}

test.each([
  ['4-D, per-channel statistics (what batch-norm layers use)', [3, 5, 4, 6], [6]],
  ['2-D, per-feature statistics', [7, 5], [5]],
])('batchNorm gradients equal the written-out formula: %s', (_, xShape, statShape) => {
  const eps = 1e-3;
  const x = tf.randomNormal(xShape, 0, 2, 'float32', 1);
  const mean = tf.randomNormal(statShape, 0, 1, 'float32', 2);
  const variance = tf.randomUniform(statShape, 0.5, 2, 'float32', 3);
  const scale = tf.randomNormal(statShape, 1, 0.3, 'float32', 4);
  const offset = tf.randomNormal(statShape, 0, 1, 'float32', 5);
  const dy = tf.randomNormal(xShape, 0, 1, 'float32', 6); // a non-uniform upstream gradient
  const before = tf.memory().numTensors;
  const fused = tf.grads((a, m, v, s, o) => tf.batchNorm(a, m, v, o, s, eps).mul(dy).sum());
  const written = tf.grads((a, m, v, s, o) => a.sub(m).mul(v.add(eps).rsqrt()).mul(s).add(o).mul(dy).sum());
  const got = fused([x, mean, variance, scale, offset]);
  const want = written([x, mean, variance, scale, offset]);
  ['x', 'mean', 'variance', 'scale', 'offset'].forEach((name, i) => {
    expect(got[i].shape).toEqual(want[i].shape);
    expect({ name, error: maxRelativeError(got[i], want[i]) < 1e-4 }).toEqual({ name, error: true });
  });
  tf.dispose([...got, ...want]);
  expect(tf.memory().numTensors).toBe(before); // no leaks
  tf.dispose([x, mean, variance, scale, offset, dy]);
});

test('the batch-norm gradient uses no Tile kernel (the slow part on wasm)', () => {
  const backend = tf.getBackend();
  const tile = tf.getKernel('Tile', backend)!;
  let tiles = 0;
  tf.unregisterKernel('Tile', backend);
  tf.registerKernel({ ...tile, kernelFunc: (args) => { tiles++; return tile.kernelFunc(args); } });
  try {
    const x = tf.randomNormal([4, 6, 6, 8]);
    const [mean, variance, offset, scale] = [tf.zeros([8]), tf.ones([8]), tf.zeros([8]), tf.ones([8])];
    tf.dispose(tf.tile(x, [1, 1, 1, 2])); // the counter sees Tile when it runs
    expect(tiles).toBe(1);
    const g = tf.grad((a: tf.Tensor) => tf.batchNorm(a, mean, variance, offset, scale).square().sum())(x);
    expect(g.shape).toEqual([4, 6, 6, 8]);
    expect(tiles).toBe(1);
    tf.dispose([x, mean, variance, offset, scale, g]);
  } finally {
    tf.unregisterKernel('Tile', backend);
    tf.registerKernel(tile);
  }
});
