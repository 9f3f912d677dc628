/**
 * The memory-efficient dense block against the naive one (src/densenet/layers.ts
 * `denseBlock`): same weights (names, order, seeded values), same outputs, same
 * gradients of every weight and of the block input, BN moving statistics
 * updated once per step, save/load, no tensor leaks, less memory. Tiny shapes:
 * the cpu backend is slow for convs.
 */
import { tf, useBackend, BackendName } from '../src/tf';
import { BuildContext, denseBlock } from '../src/densenet/layers';
import { EfficientDenseBlock, efficientDenseBlock } from '../src/densenet/efficient-layer';
import { efficientDenseBlockOp } from '../src/densenet/efficient';
import { buildDenseNet, cifarConfig } from '../src/densenet';
import { trainStep } from '../src/train/step';
import { fileSystemIO } from '../src/train/fs-io';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

interface BlockCase {
  bottleneck: boolean;
  layers: number;
  growthRate: number;
  inputChannels: number;
  dropRate: number;
}

const BC: BlockCase = { bottleneck: true, layers: 3, growthRate: 4, inputChannels: 5, dropRate: 0 };
const PLAIN: BlockCase = { bottleneck: false, layers: 3, growthRate: 3, inputChannels: 4, dropRate: 0 };
const SIZE = 5;
const BATCH = 3;

/** A model that is one dense block (naive or efficient) over an input, with seeded weights. */
function blockModel(c: BlockCase, efficient: boolean, seed = 7): tf.LayersModel {
  const input = tf.input({ shape: [SIZE, SIZE, c.inputChannels] });
  const ctx = new BuildContext(c.dropRate, seed);
  const options = { growthRate: c.growthRate, bottleneck: c.bottleneck };
  const output = efficient ? efficientDenseBlock(input, c.layers, 1, options, ctx) : denseBlock(input, c.layers, 1, options, ctx);
  return tf.model({ inputs: input, outputs: output });
}

/** max |a − b| / max |b|: the error relative to the tensor's scale. */
function relativeError(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => {
    expect(a.shape).toEqual(b.shape);
    const scale = Math.max(tf.max(tf.abs(b)).dataSync()[0], 1e-12);
    return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / scale;
  });
}

function expectClose(a: tf.Tensor, b: tf.Tensor, what: string, tolerance = 1e-4): void {
  const error = relativeError(a, b);
  if (!(error <= tolerance)) throw new Error(`${what}: relative error ${error} > ${tolerance}`);
}

/** Input data, and a fixed random projection so the loss reaches every output element differently. */
function data(c: BlockCase, seed = 1) {
  const outChannels = c.inputChannels + c.layers * c.growthRate;
  return {
    x: tf.randomNormal([BATCH, SIZE, SIZE, c.inputChannels], 0.5, 1, 'float32', seed) as tf.Tensor4D,
    projection: tf.randomNormal([BATCH, SIZE, SIZE, outChannels], 0, 1, 'float32', seed + 1),
  };
}

/** Loss, output and gradients of every trainable weight (by name) and of the input, in training mode. */
function lossAndGrads(model: tf.LayersModel, x: tf.Tensor, projection: tf.Tensor, training = true) {
  const weights = model.trainableWeights.map((w) => w.read() as tf.Variable);
  return tf.tidy(() => {
    const f = (input: tf.Tensor) => {
      const out = model.apply(input, { training }) as tf.Tensor;
      return tf.sum(tf.mul(out, projection)) as tf.Scalar;
    };
    const dx = tf.grad(f)(x);
    const { value, grads: byVariable } = tf.variableGrads(() => f(x), weights);
    // Keyed by the saved weight name (variable names get uniquifying suffixes per model).
    const grads: Record<string, tf.Tensor> = {};
    for (const w of model.trainableWeights) grads[w.originalName] = byVariable[(w.read() as tf.Variable).name];
    const output = model.apply(x, { training: false }) as tf.Tensor;
    return { value, grads, dx, output };
  });
}

/** The model with its efficient blocks' keepBottleneck set. */
function keepingBottlenecks(model: tf.LayersModel, keep: boolean): tf.LayersModel {
  for (const layer of model.layers) if (layer instanceof EfficientDenseBlock) layer.keepBottleneck = keep;
  return model;
}

function copyWeights(from: tf.LayersModel, to: tf.LayersModel): void {
  to.setWeights(from.getWeights());
}

const BACKENDS: BackendName[] = ['cpu', 'wasm'];

describe.each(BACKENDS)('memory-efficient dense block on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  test('has the naive block’s weights: same names, same order, same seeded values', () => {
    for (const c of [BC, PLAIN]) {
      const naive = blockModel(c, false);
      const efficient = blockModel(c, true);
      const names = (m: tf.LayersModel) => m.weights.map((w) => w.originalName);
      expect(names(efficient)).toEqual(names(naive));
      expect(names(efficient)).toContain('block1_layer2_bn1/moving_variance'.replace('bn1', c.bottleneck ? 'bn1' : 'bn'));
      expect(efficient.countParams()).toBe(naive.countParams());
      const a = naive.getWeights();
      const b = efficient.getWeights();
      a.forEach((w, i) => expect(relativeError(b[i], w)).toBe(0));
      naive.dispose();
      efficient.dispose();
    }
  });

  for (const [label, c, keep] of [
    ['DenseNet-B (BN-ReLU-Conv1×1-BN-ReLU-Conv3×3)', BC, false],
    ['DenseNet (BN-ReLU-Conv3×3)', PLAIN, false],
    ['with dropout (seeded masks)', { ...BC, dropRate: 0.3 }, false],
    ['DenseNet-B, bottleneck outputs kept (keepBottleneck)', BC, true],
    ['with dropout, bottleneck outputs kept', { ...BC, dropRate: 0.3 }, true],
  ] as const) {
    test(`training: same output, loss and gradients of every weight and of the input — ${label}`, () => {
      const naive = blockModel(c, false);
      const efficient = keepingBottlenecks(blockModel(c, true), keep);
      const { x, projection } = data(c);
      const n = lossAndGrads(naive, x, projection);
      const e = lossAndGrads(efficient, x, projection);
      expectClose(e.value, n.value, 'loss');
      expectClose(e.dx, n.dx, 'gradient of the block input');
      const names = Object.keys(n.grads);
      expect(Object.keys(e.grads).sort()).toEqual([...names].sort());
      for (const name of names) expectClose(e.grads[name], n.grads[name], `gradient of ${name}`);
      // Moving statistics were updated identically (and so exactly once: the naive BN updates once per call).
      naive.weights.forEach((w, i) => expectClose(efficient.weights[i].read(), w.read(), w.originalName, 1e-5));
      tf.dispose([x, projection, n, e] as unknown as tf.Tensor[]);
      naive.dispose();
      efficient.dispose();
    });
  }

  test('BN moving statistics: updated once per training step (not again by the recomputation), with the batch statistics', () => {
    const efficient = blockModel(BC, true);
    const { x, projection } = data(BC);
    const layer = efficient.getLayer('block1_concat') as EfficientDenseBlock;
    const read = (name: string) => layer.weights.find((w) => w.originalName === `block1_layer1_bn1/${name}`)!.read().arraySync() as number[];
    const before = { mean: read('moving_mean'), variance: read('moving_variance') };
    // The first BN reads x itself: its batch statistics are the moments of x.
    const m = tf.moments(x, [0, 1, 2]);
    const batch = { mean: m.mean.arraySync() as number[], variance: m.variance.arraySync() as number[] };
    const weights = efficient.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(efficient.apply(x, { training: true }) as tf.Tensor, projection)) as tf.Scalar,
      weights,
    );
    const momentum = 0.9; // the builder's BN momentum
    for (const key of ['mean', 'variance'] as const) {
      const after = read(`moving_${key}`);
      after.forEach((v, i) => expect(v).toBeCloseTo(momentum * before[key][i] + (1 - momentum) * batch[key][i], 5));
      expect(after).not.toEqual(before[key]);
    }
    tf.dispose([x, projection, m.mean, m.variance, value, grads] as unknown as tf.Tensor[]);
    efficient.dispose();
  });

  test('inference mode (moving statistics): same outputs and gradients as the naive block', () => {
    const naive = blockModel(BC, false);
    const efficient = blockModel(BC, true);
    const { x, projection } = data(BC);
    // Give the moving statistics non-trivial values first (one training pass), identically in both.
    lossAndGrads(naive, x, projection);
    copyWeights(naive, efficient);
    const n = lossAndGrads(naive, x, projection, false);
    const e = lossAndGrads(efficient, x, projection, false);
    expectClose(e.output, n.output, 'inference output');
    expectClose(e.dx, n.dx, 'inference gradient of the input');
    for (const name of Object.keys(n.grads)) expectClose(e.grads[name], n.grads[name], `inference gradient of ${name}`);
    expectClose(efficient.predict(x) as tf.Tensor, naive.predict(x) as tf.Tensor, 'predict');
    naive.dispose();
    efficient.dispose();
  });

  test('keepBottleneck: the backward pass recomputes no 1×1 conv (one Conv2D per conv, not one more per layer)', async () => {
    const convCalls = async (keep: boolean) => {
      const efficient = keepingBottlenecks(blockModel(BC, true), keep);
      const { x, projection } = data(BC);
      const info = await tf.profile(() => {
        tf.dispose(lossAndGrads(efficient, x, projection) as unknown as tf.Tensor[]);
      });
      tf.dispose([x, projection]);
      efficient.dispose();
      return info.kernels.filter((k) => k.name === 'Conv2D').length;
    };
    // lossAndGrads runs the block 3 times (tf.grad, variableGrads, inference), 2 of them with a backward pass.
    const forwardConvs = 3 * BC.layers * 2;
    expect(await convCalls(false)).toBe(forwardConvs + 2 * BC.layers);
    expect(await convCalls(true)).toBe(forwardConvs);
  });

  test.each([false, true])('no tensor leaks: tf.memory().numTensors is constant across training steps (keepBottleneck %s)', (keep) => {
    const efficient = keepingBottlenecks(blockModel(BC, true), keep);
    const { x, projection } = data(BC);
    const optimizer = tf.train.momentum(0.01, 0.9);
    const step = () =>
      tf.tidy(() => {
        optimizer.minimize(() => tf.sum(tf.mul(efficient.apply(x, { training: true }) as tf.Tensor, projection)) as tf.Scalar);
      });
    step(); // creates the optimizer's slots
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      step();
      counts.push(tf.memory().numTensors);
    }
    expect(new Set(counts).size).toBe(1);
    optimizer.dispose();
    efficient.dispose();
  });

  test('uses less tensor memory than the naive block for one training step (tf.profile peakBytes)', async () => {
    const c: BlockCase = { bottleneck: true, layers: 8, growthRate: 4, inputChannels: 8, dropRate: 0 };
    const peak = async (efficient: boolean) => {
      const model = blockModel(c, efficient);
      const { x, projection } = data(c);
      const profile = await tf.profile(() => {
        lossAndGrads(model, x, projection);
      });
      model.dispose();
      return profile.peakBytes;
    };
    const naive = await peak(false);
    const efficient = await peak(true);
    expect(efficient).toBeLessThan(0.6 * naive);
  });
});

describe('memory-efficient dense block: serialization', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  test('saves and loads (registered class), and weights move by name between the naive and efficient variants', async () => {
    const naive = blockModel(BC, false, 11);
    const efficient = blockModel(BC, true, 99); // different seed: loading must overwrite every weight
    const { x, projection } = data(BC);
    lossAndGrads(naive, x, projection); // moving statistics away from their initial values

    // naive → efficient by weight name, through the saved format.
    const naiveArtifacts = await saveToMemory(naive);
    const named = tf.io.decodeWeights(naiveArtifacts.weightData!, naiveArtifacts.weightSpecs!);
    efficient.loadWeights(named);
    expectClose(efficient.predict(x) as tf.Tensor, naive.predict(x) as tf.Tensor, 'after loading naive weights');

    // efficient → its own topology JSON + weights → a new model, same predictions, same layer.
    const artifacts = await saveToMemory(efficient);
    expect(JSON.stringify(artifacts.modelTopology)).toContain('EfficientDenseBlock');
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    expect(loaded.getLayer('block1_concat')).toBeInstanceOf(EfficientDenseBlock);
    expectClose(loaded.predict(x) as tf.Tensor, efficient.predict(x) as tf.Tensor, 'after save/load');
    expect(loaded.weights.map((w) => w.originalName)).toEqual(efficient.weights.map((w) => w.originalName));
    const n = lossAndGrads(efficient, x, projection);
    const l = lossAndGrads(loaded, x, projection);
    expectClose(l.value, n.value, 'training loss after save/load');
    expectClose(l.dx, n.dx, 'gradient after save/load');
  });

  test('rejects an input with the wrong number of channels', () => {
    const layer = new EfficientDenseBlock({ block: 1, layers: 2, growthRate: 2, bottleneck: true, inputChannels: 4 });
    expect(() => layer.apply(tf.input({ shape: [4, 4, 3] }))).toThrow(/expects NHWC input with 4 channels/);
    expect(() => new EfficientDenseBlock({ block: 1, layers: 0, growthRate: 2, bottleneck: true, inputChannels: 4 })).toThrow(
      /layers must be a positive integer/,
    );
  });

  test('the op alone: gradients of x₀ and weights have the input shapes; output = [x₀, new maps]', () => {
    const x0 = tf.randomNormal([2, 3, 3, 2]) as tf.Tensor4D;
    const unit = (cin: number, cout: number, k: number) => ({
      gamma: tf.ones([cin]) as tf.Tensor1D,
      beta: tf.zeros([cin]) as tf.Tensor1D,
      movingMean: tf.zeros([cin]) as tf.Tensor1D,
      movingVariance: tf.ones([cin]) as tf.Tensor1D,
      kernel: tf.randomNormal([k, k, cin, cout]) as tf.Tensor4D,
    });
    const layers = [[unit(2, 2, 3)], [unit(4, 2, 3)]];
    const out = efficientDenseBlockOp(x0, layers, { training: true, epsilon: 1e-5 });
    expect(out.shape).toEqual([2, 3, 3, 6]);
    expectClose(tf.slice(out, [0, 0, 0, 0], [2, 3, 3, 2]), x0, 'x₀ passes through', 0);
    const g = tf.grads((x: tf.Tensor, k: tf.Tensor) => {
      const l = [[{ ...layers[0][0], kernel: k as tf.Tensor4D }], layers[1]];
      return tf.sum(efficientDenseBlockOp(x as tf.Tensor4D, l, { training: true, epsilon: 1e-5 }));
    })([x0, layers[0][0].kernel]);
    expect(g[0].shape).toEqual(x0.shape);
    expect(g[1].shape).toEqual(layers[0][0].kernel.shape);
  });
});

describe.each(BACKENDS)('memory-efficient DenseNet-BC model (buildDenseNet, memoryEfficient: true) on %s', (backend) => {
  // L = 16: three blocks of two bottleneck layers, k = 4, on 8×8×3.
  const config = (memoryEfficient: boolean) =>
    cifarConfig({ depth: 16, growthRate: 4, bottleneck: true, compression: 0.5, inputShape: [8, 8, 3], memoryEfficient });

  beforeAll(async () => {
    await useBackend(backend);
  });

  test('same summary: parameter counts, weight names and seeded weights as the naive model', () => {
    const naive = buildDenseNet(config(false), { seed: 3 });
    const efficient = buildDenseNet(config(true), { seed: 3 });
    expect(efficient.countParams()).toBe(naive.countParams());
    const count = (ws: tf.LayerVariable[]) => ws.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b as number), 1), 0);
    expect(count(efficient.trainableWeights)).toBe(count(naive.trainableWeights));
    expect(count(efficient.nonTrainableWeights)).toBe(count(naive.nonTrainableWeights));
    expect(efficient.weights.map((w) => w.originalName)).toEqual(naive.weights.map((w) => w.originalName));
    const a = naive.getWeights();
    efficient.getWeights().forEach((w, i) => expect(relativeError(w, a[i])).toBe(0));
    expect(efficient.getLayer('block2_concat')).toBeInstanceOf(EfficientDenseBlock);
    const lines: string[] = [];
    efficient.summary(undefined, undefined, (line) => lines.push(line));
    expect(lines.join('\n')).toContain(`Total params: ${naive.countParams()}`);
    naive.dispose();
    efficient.dispose();
  });

  test('three training steps from the same seed give the same losses and weights as the naive model', async () => {
    const naive = buildDenseNet(config(false), { seed: 5 });
    const efficient = buildDenseNet(config(true), { seed: 5 });
    const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 2);
    const y = tf.oneHot(tf.tensor1d([0, 3, 7, 9], 'int32'), 10);
    const run = async (model: tf.LayersModel) => {
      const optimizer = tf.train.momentum(0.1, 0.9, true);
      const losses: number[] = [];
      const tensors: number[] = [];
      for (let i = 0; i < 3; i++) {
        losses.push((await trainStep(model, x, y, { optimizer, weightDecay: 1e-4 })).loss);
        tensors.push(tf.memory().numTensors);
      }
      optimizer.dispose();
      // The first step creates the optimizer's slots; after that nothing may accumulate.
      expect(tensors[2]).toBe(tensors[1]);
      return losses;
    };
    const n = await run(naive);
    const e = await run(efficient);
    e.forEach((loss, i) => expect(Math.abs(loss - n[i]) / Math.abs(n[i])).toBeLessThan(1e-4));
    expect(n[2]).not.toBe(n[0]); // the steps did train
    naive.weights.forEach((w, i) => expectClose(efficient.weights[i].read(), w.read(), w.originalName, 1e-3));
    tf.dispose([x, y]);
    naive.dispose();
    efficient.dispose();
  });

  test('saves to disk with the project’s IO handler and loads back as the efficient model', async () => {
    const efficient = buildDenseNet(config(true), { seed: 8 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cardlab-efficient-'));
    try {
      await efficient.save(fileSystemIO(dir));
      const loaded = await tf.loadLayersModel(fileSystemIO(dir));
      expect(loaded.getLayer('block1_concat')).toBeInstanceOf(EfficientDenseBlock);
      const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 4);
      expectClose(loaded.predict(x) as tf.Tensor, efficient.predict(x) as tf.Tensor, 'prediction after load');
      // The naive model reads the same files' weights (by name).
      const naive = buildDenseNet(config(false), { seed: 99 });
      naive.setWeights(loaded.getWeights());
      expectClose(naive.predict(x) as tf.Tensor, efficient.predict(x) as tf.Tensor, 'naive model with the efficient weights');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function saveToMemory(model: tf.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return saved!;
}
