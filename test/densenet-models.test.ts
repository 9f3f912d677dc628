/**
 * DenseNet builders, presets and analytic counts. Every model is built once
 * (no data goes through the large ones): its layers, shapes and parameters must
 * equal the analytic summary's, and its trainable parameters the reference
 * implementations' (torchvision / Keras / the paper's Torch code).
 */
import { tf, initBackend } from '../src/tf';
import {
  analyzeDenseNet,
  BN_EPSILON,
  buildDenseNet,
  cifarConfig,
  compareConvParams,
  DenseNetConfig,
  DenseNetSummary,
  presetConfig,
  PRESET_NAMES,
  transitionChannels,
  variantName,
} from '../src/densenet';

// Published trainable parameter counts.
const REFERENCE_TRAINABLE: Record<string, number> = {
  densenet121: 7_978_856,
  densenet161: 28_681_000,
  densenet169: 14_149_480,
  densenet201: 20_013_928,
};
const CIFAR_DENSENET_40 = 1_019_722; // L=40, k=12, θ=1
const CIFAR_DENSENET_BC_100 = 769_162; // L=100, k=12, θ=0.5

const sizeOf = (weights: tf.LayerVariable[]) => weights.reduce((s, w) => s + w.shape.reduce((a: number, b) => a * (b as number), 1), 0);

/** Every built layer, by name: output shape without the batch axis, and parameters. */
function describeBuilt(model: tf.LayersModel) {
  return new Map(
    model.layers.map((layer) => {
      const shape = (layer.outputShape as (number | null)[]).slice(1);
      return [layer.name, { outputShape: shape, trainable: sizeOf(layer.trainableWeights), nonTrainable: sizeOf(layer.nonTrainableWeights) }];
    }),
  );
}

function expectSameAsAnalytic(model: tf.LayersModel, summary: DenseNetSummary): void {
  const built = describeBuilt(model);
  expect([...built.keys()].sort()).toEqual(summary.layers.map((l) => l.name).sort());
  for (const layer of summary.layers) {
    expect({ name: layer.name, ...built.get(layer.name) }).toEqual({
      name: layer.name,
      outputShape: layer.outputShape,
      trainable: layer.trainableParams,
      nonTrainable: layer.nonTrainableParams,
    });
  }
  expect(sizeOf(model.trainableWeights)).toBe(summary.trainableParams);
  expect(sizeOf(model.nonTrainableWeights)).toBe(summary.nonTrainableParams);
  expect(model.countParams()).toBe(summary.totalParams);
  expect(model.outputs[0].shape).toEqual([null, ...summary.outputShape]);
}

/** Builds, checks, and frees the weights (the large presets hold hundreds of MB). */
function buildAndCompare(config: DenseNetConfig, check?: (model: tf.LayersModel) => void): DenseNetSummary {
  const summary = analyzeDenseNet(config);
  const model = buildDenseNet(config);
  try {
    expectSameAsAnalytic(model, summary);
    check?.(model);
  } finally {
    model.dispose();
  }
  return summary;
}

beforeAll(async () => {
  await initBackend();
});

describe('ImageNet presets', () => {
  test.each(PRESET_NAMES)('%s: built model equals the analytic summary layer by layer', (name) => {
    const summary = buildAndCompare(presetConfig(name));
    if (name in REFERENCE_TRAINABLE) expect(summary.trainableParams).toBe(REFERENCE_TRAINABLE[name]);
  });

  test('analytic trainable counts equal torchvision / Keras for 121, 161, 169, 201', () => {
    for (const [name, count] of Object.entries(REFERENCE_TRAINABLE)) {
      expect([name, analyzeDenseNet(presetConfig(name)).trainableParams]).toEqual([name, count]);
    }
  });

  test('densenet121 has the paper/Keras shapes: 56→28→14→7 and 256, 512, 1024, 1024 channels', () => {
    const s = analyzeDenseNet(presetConfig('densenet121'));
    expect(s.depth).toBe(121);
    expect(s.blockChannels).toEqual([256, 512, 1024, 1024]);
    expect(s.stages.filter((st) => st.kind === 'block').map((st) => st.outputShape.slice(0, 2))).toEqual([
      [56, 56],
      [28, 28],
      [14, 14],
      [7, 7],
    ]);
    // Keras reports 83,648 non-trainable (BN moving statistics) for DenseNet121.
    expect(s.nonTrainableParams).toBe(83_648);
  });

  test('densenet161 uses k = 48 and a 96-channel stem', () => {
    const c = presetConfig('densenet161');
    expect([c.growthRate, c.initFeatures]).toEqual([48, 96]);
    expect(analyzeDenseNet(c).blockChannels).toEqual([96 + 6 * 48, 192 + 12 * 48, 384 + 36 * 48, 1056 + 24 * 48]);
  });

  test('presets accept overrides and reject unknown names', () => {
    const c = presetConfig('densenet121', { classes: 10, inputShape: [64, 64, 3] });
    expect(analyzeDenseNet(c).outputShape).toEqual([10]);
    expect(() => presetConfig('densenet100')).toThrow(/unknown DenseNet preset "densenet100".*densenet121/);
  });
});

describe('CIFAR DenseNets', () => {
  test('DenseNet (L=40, k=12): built and analytic counts equal the paper code’s 1,019,722', () => {
    const config = cifarConfig({ depth: 40, growthRate: 12 });
    expect(config.blocks).toEqual([12, 12, 12]);
    expect(config.initFeatures).toBe(16);
    expect(buildAndCompare(config).trainableParams).toBe(CIFAR_DENSENET_40);
  });

  test('DenseNet-BC (L=100, k=12): built and analytic counts equal 769,162', () => {
    const config = cifarConfig({ depth: 100, growthRate: 12, bottleneck: true, compression: 0.5 });
    expect(config.blocks).toEqual([16, 16, 16]);
    expect(config.initFeatures).toBe(24);
    const summary = buildAndCompare(config);
    expect(summary.trainableParams).toBe(CIFAR_DENSENET_BC_100);
    expect(summary.variant).toBe('DenseNet-BC');
    expect(summary.depth).toBe(100);
  });

  test('with dropout: the dropout layers exist and counts still agree', () => {
    buildAndCompare(cifarConfig({ depth: 16, growthRate: 4, bottleneck: true, compression: 0.5, dropRate: 0.2 }), (model) => {
      expect(model.getLayer('block1_layer1_dropout1').getClassName()).toBe('Dropout');
      expect(model.getLayer('transition2_dropout').getClassName()).toBe('Dropout');
    });
  });

  test('a depth that does not fit is a clear error', () => {
    expect(() => cifarConfig({ depth: 41 })).toThrow(/depth 41 does not fit a CIFAR DenseNet: L−4 must be a positive multiple of 3 .*the nearest depths are 40 or 43/);
    expect(() => cifarConfig({ depth: 40, bottleneck: true })).not.toThrow();
    expect(() => cifarConfig({ depth: 49 })).not.toThrow();
    expect(() => cifarConfig({ depth: 49, bottleneck: true })).toThrow(/depth 49 does not fit a CIFAR DenseNet-B.*multiple of 6.*nearest depths are 46 or 52/);
    expect(() => cifarConfig({ depth: 4 })).toThrow(/depth 4 does not fit.*nearest depths are 7$/);
    expect(() => cifarConfig({ depth: 40.5 })).toThrow(/depth 40.5 does not fit/);
  });
});

describe('structure and names', () => {
  let model: tf.LayersModel;
  const config = cifarConfig({ depth: 22, growthRate: 6, bottleneck: true, compression: 0.5 }); // 3 layers per block
  const block1Channels = 2 * 6 + 3 * 6; // stem 2k, then k per layer

  beforeAll(() => {
    model = buildDenseNet(config);
  });
  afterAll(() => model.dispose());

  const inbound = (name: string) => (model.getLayer(name).inboundNodes[0].inboundLayers as tf.layers.Layer[]).map((l) => l.name);

  /** The maps a concatenation holds, in order, following nested concatenations back to the maps. */
  const maps = (name: string): string[] => (name.endsWith('concat') ? inbound(name).flatMap(maps) : [name]);

  test('each dense layer reads the concatenation of all maps before it', () => {
    expect(maps('block1_layer2_concat')).toEqual(['stem_conv', 'block1_layer1_conv3x3']);
    expect(maps('block2_layer3_concat')).toEqual(['transition1_pool', 'block2_layer1_conv3x3', 'block2_layer2_conv3x3']);
    expect(maps('block3_concat')).toEqual(['transition2_pool', 'block3_layer1_conv3x3', 'block3_layer2_conv3x3', 'block3_layer3_conv3x3']);
    expect(inbound('block1_layer1_bn1')).toEqual(['stem_conv']); // the first layer reads x0 alone
    expect(inbound('block2_layer3_bn1')).toEqual(['block2_layer3_concat']);
  });

  test('as in Keras, the block extends one running concatenation: each concat joins the maps so far and the newest k', () => {
    expect(inbound('block1_layer2_concat')).toEqual(['stem_conv', 'block1_layer1_conv3x3']);
    expect(inbound('block2_layer3_concat')).toEqual(['block2_layer2_concat', 'block2_layer2_conv3x3']);
    expect(inbound('block3_concat')).toEqual(['block3_layer3_concat', 'block3_layer3_conv3x3']);
  });

  test('bottleneck layer: BN-ReLU-Conv1×1(4k)-BN-ReLU-Conv3×3(k), convs without bias', () => {
    const chain = ['block2_layer3_bn1', 'block2_layer3_relu1', 'block2_layer3_conv1x1', 'block2_layer3_bn2', 'block2_layer3_relu2', 'block2_layer3_conv3x3'];
    for (let i = 1; i < chain.length; i++) expect(inbound(chain[i])).toEqual([chain[i - 1]]);
    expect(model.getLayer('block2_layer3_conv1x1').getWeights()[0].shape).toEqual([1, 1, transitionChannels(block1Channels, 0.5) + 2 * 6, 24]);
    expect(model.getLayer('block2_layer3_conv3x3').getWeights()[0].shape).toEqual([3, 3, 24, 6]);
    for (const layer of model.layers.filter((l) => l.getClassName() === 'Conv2D')) {
      expect([layer.name, layer.getWeights().length]).toEqual([layer.name, 1]);
    }
  });

  test('transition: BN-ReLU-Conv1×1(⌊θm⌋)-AvgPool 2×2; head: BN-ReLU-GAP-dense logits with bias', () => {
    const m = block1Channels;
    expect(model.getLayer('transition1_conv').outputShape).toEqual([null, 32, 32, Math.floor(0.5 * m)]);
    expect(model.getLayer('transition1_pool').outputShape).toEqual([null, 16, 16, Math.floor(0.5 * m)]);
    expect(inbound('classifier')).toEqual(['head_pool']);
    expect(inbound('head_pool')).toEqual(['head_relu']);
    const classifier = model.getLayer('classifier');
    expect(classifier.getWeights().map((w) => w.shape)).toEqual([[analyzeDenseNet(config).blockChannels[2], 10], [10]]);
    expect((classifier.getConfig() as { activation: string }).activation).toBe('linear');
  });

  test('batch norms use the Keras epsilon 1.001e-5', () => {
    const bns = model.layers.filter((l) => l.getClassName() === 'BatchNormalization');
    expect(bns.length).toBeGreaterThan(0);
    for (const bn of bns) expect((bn.getConfig() as { epsilon: number }).epsilon).toBe(BN_EPSILON);
    expect(BN_EPSILON).toBe(1.001e-5);
  });

  test('the ImageNet stem is Conv7×7/2-BN-ReLU-MaxPool3×3/2, zero-padded like Keras', () => {
    const s = analyzeDenseNet(presetConfig('densenet121'));
    const stem = s.layers.filter((l) => l.stage === 'stem').map((l) => [l.name, l.outputShape]);
    expect(stem).toEqual([
      ['stem_conv_pad', [230, 230, 3]],
      ['stem_conv', [112, 112, 64]],
      ['stem_bn', [112, 112, 64]],
      ['stem_relu', [112, 112, 64]],
      ['stem_pool_pad', [114, 114, 64]],
      ['stem_pool', [56, 56, 64]],
    ]);
  });

  test('a seeded build is reproducible', () => {
    const a = buildDenseNet(config, { seed: 7 });
    const b = buildDenseNet(config, { seed: 7 });
    const c = buildDenseNet(config, { seed: 8 });
    try {
      const w = (m: tf.LayersModel) => m.getLayer('block2_layer1_conv3x3').getWeights()[0].dataSync();
      expect(Array.from(w(a))).toEqual(Array.from(w(b)));
      expect(Array.from(w(a))).not.toEqual(Array.from(w(c)));
    } finally {
      [a, b, c].forEach((m) => m.dispose());
    }
  });

  test('seed 0 is a seed too: every weight, the stem included, is reproducible', () => {
    // tfjs initializers treat a falsy seed as "no seed", so no layer may be handed 0.
    const a = buildDenseNet(config, { seed: 0 });
    const b = buildDenseNet(config, { seed: 0 });
    try {
      const weights = (m: tf.LayersModel) => m.trainableWeights.map((v) => Array.from(v.read().dataSync()));
      expect(weights(a)).toEqual(weights(b));
    } finally {
      [a, b].forEach((m) => m.dispose());
    }
  });
});

describe('configuration errors', () => {
  const base = cifarConfig({ depth: 40 });

  test('invalid fields are named in one message', () => {
    expect(() => analyzeDenseNet({ ...base, compression: 0, growthRate: 2.5 })).toThrow(
      /invalid DenseNet configuration: growthRate must be a positive integer \(got 2.5\); compression θ must be in \(0, 1\] \(got 0\)/,
    );
    expect(() => buildDenseNet({ ...base, blocks: [] })).toThrow(/blocks must be a non-empty list/);
    expect(() => buildDenseNet({ ...base, inputShape: [32, 32] as unknown as [number, number, number] })).toThrow(/inputShape/);
  });

  test('an input too small for the downsampling is named', () => {
    expect(() => buildDenseNet({ ...base, inputShape: [3, 3, 3] })).toThrow(/input is too small.*transition2_pool would output 0×0×304/);
    expect(() => analyzeDenseNet(presetConfig('densenet121', { inputShape: [16, 16, 3] }))).toThrow(/transition3_pool/);
  });

  test('memoryEfficient builds the same parameters (issue 3; behaviour in efficient.test.ts)', () => {
    expect(buildDenseNet({ ...base, memoryEfficient: true }).countParams()).toBe(buildDenseNet(base).countParams());
  });

  test('variant names follow the paper', () => {
    expect(variantName({ bottleneck: false, compression: 1 })).toBe('DenseNet');
    expect(variantName({ bottleneck: true, compression: 1 })).toBe('DenseNet-B');
    expect(variantName({ bottleneck: false, compression: 0.5 })).toBe('DenseNet-C');
    expect(variantName({ bottleneck: true, compression: 0.5 })).toBe('DenseNet-BC');
  });
});

describe("the deck's O(ℓ·k·k) versus O(C·C)", () => {
  test('a DenseNet 3×3 conv reading ℓ·k maps versus a ResNet 3×3 conv C→C', () => {
    const c = compareConvParams(10, 12, 256);
    expect(c.denseInputChannels).toBe(120);
    expect(c.denseConv3x3Params).toBe(3 * 3 * 120 * 12);
    expect(c.resnetConv3x3Params).toBe(3 * 3 * 256 * 256);
    expect(c.bottleneckParams).toBe(120 * 48 + 3 * 3 * 48 * 12);
    expect(c.ratio).toBeCloseTo((256 * 256) / (120 * 12), 10);
    expect(() => compareConvParams(0, 12, 256)).toThrow(/layer must be a positive integer/);
  });

  test('the DenseNet count grows linearly in ℓ, the ResNet count quadratically in C', () => {
    const at = (l: number, C: number) => compareConvParams(l, 12, C);
    expect(at(20, 64).denseConv3x3Params).toBe(2 * at(10, 64).denseConv3x3Params);
    expect(at(10, 128).resnetConv3x3Params).toBe(4 * at(10, 64).resnetConv3x3Params);
  });

  test('the analytic 3×3 conv count of a real dense layer is 9·(k0 + (ℓ−1)k)·k', () => {
    const s = analyzeDenseNet(cifarConfig({ depth: 40 }));
    const layer = s.layers.find((l) => l.name === 'block1_layer10_conv3x3')!;
    expect(layer.trainableParams).toBe(9 * (16 + 9 * 12) * 12);
  });
});
