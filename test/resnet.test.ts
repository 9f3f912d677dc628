/** The CIFAR ResNet baseline: parameter counts, option-A shortcuts, a forward pass. */
import { tf, initBackend } from '../src/tf';
import { buildCifarResNet, cifarResNetParams, resnetBlocksPerStage, ZeroPadShortcut } from '../src/densenet';

const sizeOf = (weights: tf.LayerVariable[]) => weights.reduce((s, w) => s + w.shape.reduce((a: number, b) => a * (b as number), 1), 0);

beforeAll(async () => {
  await initBackend();
});

describe('CIFAR ResNet', () => {
  // He et al. 2016 (0.27M / 0.85M / 1.7M); the exact figures of the common PyTorch CIFAR ResNet with option A.
  test.each([
    [20, 269_722],
    [56, 853_018],
    [110, 1_727_962],
  ])('ResNet-%i has %i trainable parameters, built and analytic', (depth, reference) => {
    const model = buildCifarResNet({ depth });
    try {
      const counts = cifarResNetParams({ depth });
      expect(sizeOf(model.trainableWeights)).toBe(reference);
      expect(counts.trainableParams).toBe(reference);
      expect(sizeOf(model.nonTrainableWeights)).toBe(counts.nonTrainableParams);
      expect(model.outputs[0].shape).toEqual([null, 10]);
    } finally {
      model.dispose();
    }
  });

  test('stages of widths 16, 32, 64 on 32, 16, 8 pixels; shortcuts add no parameters', () => {
    const model = buildCifarResNet({ depth: 20 });
    try {
      expect(model.getLayer('stage1_block3_relu2').outputShape).toEqual([null, 32, 32, 16]);
      expect(model.getLayer('stage2_block1_relu2').outputShape).toEqual([null, 16, 16, 32]);
      expect(model.getLayer('stage3_block3_relu2').outputShape).toEqual([null, 8, 8, 64]);
      const shortcuts = model.layers.filter((l) => l instanceof ZeroPadShortcut);
      expect(shortcuts.map((l) => l.name)).toEqual(['stage2_block1_shortcut', 'stage3_block1_shortcut']);
      for (const s of shortcuts) expect(s.countParams()).toBe(0);
      // Identity shortcuts elsewhere: the add reads the block input directly.
      const addInputs = (model.getLayer('stage1_block2_add').inboundNodes[0].inboundLayers as tf.layers.Layer[]).map((l) => l.name);
      expect(addInputs).toEqual(['stage1_block2_bn2', 'stage1_block1_relu2']);
    } finally {
      model.dispose();
    }
  });

  test('option-A shortcut: every other pixel, zero channels padded on both sides', () => {
    const layer = new ZeroPadShortcut({ strides: 2, extraChannels: 4 });
    tf.tidy(() => {
      const x = tf.range(1, 1 + 4 * 4 * 2).reshape([1, 4, 4, 2]);
      const y = layer.apply(x) as tf.Tensor;
      expect(y.shape).toEqual([1, 2, 2, 6]);
      const expected = tf.stack([0, 2].flatMap((i) => [0, 2].map((j) => x.slice([0, i, j, 0], [1, 1, 1, 2]).reshape([2])))).reshape([1, 2, 2, 2]);
      const padded = tf.pad(expected, [[0, 0], [0, 0], [0, 0], [2, 2]]);
      expect(Array.from(y.dataSync())).toEqual(Array.from(padded.dataSync()));
    });
  });

  test('the model serializes and loads back with its custom shortcut layer', async () => {
    const model = buildCifarResNet({ depth: 20, classes: 5, inputShape: [8, 8, 3], seed: 1 });
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    try {
      const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 3);
      const a = model.predict(x) as tf.Tensor;
      const b = loaded.predict(x) as tf.Tensor;
      const rows = Array.from(tf.sum(tf.softmax(a), 1).dataSync());
      for (const r of rows) expect(r).toBeCloseTo(1, 5);
      expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
      tf.dispose([x, a, b]);
    } finally {
      model.dispose();
      loaded.dispose();
    }
  });

  test('a depth that is not 6n+2 is a clear error', () => {
    expect(resnetBlocksPerStage(56)).toBe(9);
    expect(() => buildCifarResNet({ depth: 21 })).toThrow(/depth 21 does not fit a CIFAR ResNet: it must be 6n\+2/);
  });
});
