/** Data through a small CIFAR DenseNet-BC on the wasm backend (large models are only built, elsewhere). */
import { tf, useBackend } from '../src/tf';
import { buildDenseNet, cifarConfig } from '../src/densenet';
import { predictProbabilities } from '../src/train';

describe('forward pass of a small CIFAR DenseNet-BC', () => {
  const config = cifarConfig({ depth: 16, growthRate: 6, bottleneck: true, compression: 0.5, classes: 10 });
  let model: tf.LayersModel;
  let x: tf.Tensor4D;

  beforeAll(async () => {
    await useBackend('wasm'); // fails with a message naming the wasm backend if it cannot load
    model = buildDenseNet(config, { seed: 42 });
    x = tf.randomUniform([5, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  });

  afterAll(() => {
    tf.dispose(x);
    model.dispose();
  });

  test('on wasm: [batch, classes] logits, whose softmax (predictProbabilities) rows sum to 1; no tensors leaked', () => {
    expect(tf.getBackend()).toBe('wasm');
    const before = tf.memory().numTensors;
    const [shape, logits, values, sums] = tf.tidy(() => {
      const y = predictProbabilities(model, x);
      return [y.shape, Array.from((model.predict(x) as tf.Tensor).dataSync()), Array.from(y.dataSync()), Array.from(y.sum(1).dataSync())];
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(shape).toEqual([5, 10]);
    // Logits: not probabilities (some negative), and the probabilities are their softmax.
    expect(logits.some((v) => v < 0)).toBe(true);
    const row0 = logits.slice(0, 10).map(Math.exp);
    const z = row0.reduce((a, b) => a + b, 0);
    row0.forEach((e, i) => expect(values[i]).toBeCloseTo(e / z, 5));
    for (const v of values) expect(v > 0 && v < 1).toBe(true);
    for (const s of sums) expect(s).toBeCloseTo(1, 5);
    // Different images give different predictions: the network reads its input.
    expect(values.slice(0, 10)).not.toEqual(values.slice(10, 20));
  });

  test('wasm and cpu give the same outputs for the same weights', async () => {
    const wasm = tf.tidy(() => Array.from((model.predict(x) as tf.Tensor).dataSync()));
    await useBackend('cpu');
    try {
      const cpu = tf.tidy(() => Array.from((model.predict(x) as tf.Tensor).dataSync()));
      cpu.forEach((v, i) => expect(Math.abs(v - wasm[i])).toBeLessThan(1e-5));
    } finally {
      await useBackend('wasm');
    }
  });
});
