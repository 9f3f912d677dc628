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

describe("the stem's conv skips the image's gradient (which nobody uses)", () => {
  /** The kernels of one gradient step w.r.t. every weight, and the stem kernel's gradient. */
  async function step(model: tf.LayersModel, x: tf.Tensor4D) {
    let stemGrad: number[] = [];
    const info = await tf.profile(() =>
      tf.tidy(() => {
        const weights = model.trainableWeights.map((w) => w.read() as tf.Variable);
        const { grads } = tf.variableGrads(() => tf.sum(tf.square(model.apply(x, { training: true }) as tf.Tensor)), weights);
        stemGrad = Array.from(grads[(model.getLayer('stem_conv').weights[0].read() as tf.Variable).name].dataSync());
      }),
    );
    return { info, stemGrad };
  }

  test.each([
    ['ImageNet stem (7×7/2 on a zero-padded 34×34)', 'imagenet' as const, [34, 34, 1]],
    ['CIFAR stem (3×3 on the 28×28 image)', 'cifar' as const, [28, 28, 1]],
  ])('%s: no input-gradient conv of the image; the same kernel gradient as the fused op of a reloaded model', async (_name, stem, imageShape) => {
    await useBackend('wasm');
    const config = { ...cifarConfig({ depth: 10, growthRate: 4, bottleneck: true, compression: 0.5, classes: 3 }), inputShape: [28, 28, 1] as [number, number, number], stem, initFeatures: 8 };
    const model = buildDenseNet(config, { seed: 3 });
    const x = tf.randomUniform([2, 28, 28, 1], 0, 1, 'float32', 2) as tf.Tensor4D;
    // A model rebuilt from its JSON is a plain tfjs-layers model: its stem runs the fused op again.
    const reloaded = await tf.models.modelFromJSON({ modelTopology: model.toJSON(null, false) as tf.io.ModelJSON['modelTopology'] });
    reloaded.setWeights(model.getWeights());
    tf.tidy(() => expect(Array.from((model.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((reloaded.predict(x) as tf.Tensor).dataSync())));
    const ours = await step(model, x);
    const imageGradients = ours.info.kernels.filter((k) => k.name === 'Conv2DBackpropInput' && JSON.stringify(k.outputShapes[0]) === JSON.stringify([2, ...imageShape]));
    expect(imageGradients).toEqual([]);
    expect(ours.info.kernels.filter((k) => k.name === 'Conv2DBackpropInput').length).toBeGreaterThan(0); // the other convs do

    const plain = await step(reloaded, x);
    expect(plain.info.kernels.some((k) => k.name === 'Conv2DBackpropInput' && JSON.stringify(k.outputShapes[0]) === JSON.stringify([2, ...imageShape]))).toBe(true);
    expect(ours.stemGrad.length).toBe(plain.stemGrad.length);
    const scale = Math.max(...plain.stemGrad.map(Math.abs));
    ours.stemGrad.forEach((g, i) => expect(Math.abs(g - plain.stemGrad[i]) / scale).toBeLessThan(1e-5));
    tf.dispose(x);
    model.dispose();
    reloaded.dispose();
  });
});
