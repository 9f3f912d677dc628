/** featureReuse: the paper's Figure 5 matrix, computed from a DenseNet's own conv weights. */
import { tf, initBackend } from '../src/tf';
import { buildDenseNet, cifarConfig } from '../src/densenet';
import { featureReuse } from '../src/densenet/feature-reuse';

beforeAll(async () => {
  await initBackend();
});

/** A kernel whose value on input channel c is `valueOf(c)` (same for every tap and filter). */
function kernelByChannel(shape: number[], valueOf: (channel: number) => number): tf.Tensor {
  const [kh, kw, cin, cout] = shape;
  const values = new Float32Array(kh * kw * cin * cout);
  for (let i = 0; i < values.length; i++) values[i] = valueOf(Math.floor(i / cout) % cin);
  return tf.tensor4d(values, [kh, kw, cin, cout]);
}

function setKernel(model: tf.LayersModel, layer: string, valueOf: (channel: number) => number): void {
  const target = model.getLayer(layer);
  const shape = target.getWeights()[0].shape;
  target.setWeights([kernelByChannel(shape, valueOf)]);
}

test('plain DenseNet: mean |w| per source for each layer and the transition, null where a layer cannot read', () => {
  // L=10: three blocks of 2 composite layers; 16 stem channels, k = 4.
  const model = buildDenseNet(cifarConfig({ depth: 10, growthRate: 4, inputShape: [8, 8, 1] }), { seed: 1 });
  // layer 1 reads x₀ (16 channels); layer 2 reads x₀ and x₁ (16 + 4); the transition all 24.
  setKernel(model, 'block1_layer1_conv3x3', () => -0.5);
  setKernel(model, 'block1_layer2_conv3x3', (c) => (c < 16 ? 0 : 2));
  setKernel(model, 'transition1_conv', (c) => (c < 16 ? 1 : c < 20 ? -3 : c === 20 ? 8 : 0));
  const reuse = featureReuse(model, 1);
  expect(reuse).toMatchObject({ block: 1, inputChannels: 16, growthRate: 4, targets: ['layer 1', 'layer 2', 'transition 1'] });
  expect(reuse.matrix[0]).toEqual([0.5, null, null]);
  expect(reuse.matrix[1]).toEqual([0, 2, null]);
  expect(reuse.matrix[2][0]).toBeCloseTo(1);
  expect(reuse.matrix[2][1]).toBeCloseTo(3);
  expect(reuse.matrix[2][2]).toBeCloseTo(2); // one channel of 8 among 4: mean 2
  // The last block has no transition.
  expect(featureReuse(model, 3).targets).toEqual(['layer 1', 'layer 2']);
  model.dispose();
});

test('DenseNet-BC: the bottleneck’s 1×1 conv is the one that reads the concatenation', () => {
  const model = buildDenseNet(cifarConfig({ depth: 16, growthRate: 4, bottleneck: true, compression: 0.5, inputShape: [8, 8, 1] }), { seed: 1 });
  // 2 layers per block, 2k = 8 input channels
  setKernel(model, 'block2_layer2_conv1x1', (c) => (c < 4 ? 1 : 0)); // block 2's input: ⌊0.5·16⌋ = 8 channels
  const reuse = featureReuse(model, 2);
  expect(reuse.inputChannels).toBe(8);
  expect(reuse.growthRate).toBe(4);
  expect(reuse.matrix[1]).toEqual([0.5, 0, null]);
  model.dispose();
});

test('a block that does not exist is an error naming it', () => {
  const model = buildDenseNet(cifarConfig({ depth: 10, growthRate: 4, inputShape: [8, 8, 1] }), { seed: 1 });
  expect(() => featureReuse(model, 4)).toThrow(/no dense block 4 \(no layer named block4_layer1_conv3x3\)/);
  model.dispose();
});
