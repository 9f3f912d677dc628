import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend, tf, useBackend, type BackendName } from '../src/tf';
import { syntheticStripes, toTensors, type ImageSet } from '../src/data';
import {
  chooseProgressMode, confusionMatrix, decayedWeights, disposeOptimizer, evaluate, fileSystemIO, learningRateAt, loadModel,
  loadWeightsInto, makeOptimizer, predictClasses, ProgressReporter, readMetricsLog, saveModel, setLearningRate,
  trainModel, trainStep, crossEntropy, type EpochMetrics,
} from '../src/train';
import { buildDenseNet, cifarConfig } from '../src/densenet';

let backend: BackendName;
let tmp: string;
beforeAll(async () => {
  backend = await initBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cardlab-train-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** conv 3×3 → batch norm → ReLU → global average pool → dense softmax; explicit layer names (stable across builds). */
function tinyModel(prefix = 'tiny', classes = 4, size = 12): tf.LayersModel {
  const input = tf.input({ shape: [size, size, 1], name: `${prefix}_input` });
  let x = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false, name: `${prefix}_conv`, kernelInitializer: tf.initializers.heNormal({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: `${prefix}_bn`, momentum: 0.9 }).apply(x) as tf.SymbolicTensor; // 0.9: a short run must move the moving averages
  x = tf.layers.activation({ activation: 'relu', name: `${prefix}_relu` }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: `${prefix}_pool` }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: classes, activation: 'softmax', name: `${prefix}_fc`, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

const trainSet = () => syntheticStripes({ count: 256, classes: 4, size: 12, seed: 11 });
const valSet = () => syntheticStripes({ count: 128, classes: 4, size: 12, seed: 12 });

describe('learning-rate schedule', () => {
  test('the paper\'s step schedule divides by 10 at 50% and 75% of the epochs', () => {
    const lr = (epoch: number, epochs: number) => learningRateAt('step', 0.1, epoch, epochs);
    expect([0, 149, 150, 224, 225, 299].map((e) => lr(e, 300))).toEqual([0.1, 0.1, 0.1 * 0.1, 0.1 * 0.1, 0.1 * 0.1 * 0.1, 0.1 * 0.1 * 0.1]);
    expect([0, 1, 2, 3].map((e) => lr(e, 4))).toEqual([0.1, 0.1, 0.1 * 0.1, 0.1 * 0.1 * 0.1]);
    expect(lr(20, 40)).toBeCloseTo(0.01, 12);
    expect(lr(30, 40)).toBeCloseTo(0.001, 12);
    expect([0, 5, 9].map((e) => learningRateAt('constant', 0.02, e, 10))).toEqual([0.02, 0.02, 0.02]);
  });

  test('cosine falls smoothly from the base rate to 0, within epochs too; the step schedule moves only at whole epochs', () => {
    const lr = (epoch: number) => learningRateAt('cosine', 0.1, epoch, 4);
    expect(lr(0)).toBeCloseTo(0.1, 12);
    expect(lr(2)).toBeCloseTo(0.05, 12);
    expect(lr(4)).toBeCloseTo(0, 12);
    expect(lr(1)).toBeCloseTo(0.05 * (1 + Math.SQRT1_2), 12);
    const steps = Array.from({ length: 41 }, (_, i) => lr(i / 10));
    steps.slice(1).forEach((v, i) => expect(v).toBeLessThan(steps[i]));
    expect(learningRateAt('step', 0.1, 1.9, 4)).toBe(0.1);
    expect(learningRateAt('step', 0.1, 2, 4)).toBeCloseTo(0.01, 12);
    expect(() => learningRateAt('bogus' as never, 0.1, 0, 4)).toThrow(/unknown learning-rate schedule bogus: use one of step, constant, cosine/);
  });

  test('the training loop lowers a cosine rate before every step', async () => {
    const model = tinyModel('cosine');
    const train = syntheticStripes({ count: 96, classes: 4, size: 12, seed: 13 });
    const result = await trainModel(model, train, { epochs: 2, batchSize: 32, optimizer: 'sgd', learningRate: 0.04, schedule: 'cosine' });
    expect(result.history.map((m) => m.learningRate)).toEqual([0.04, learningRateAt('cosine', 0.04, 1, 2)]);
    // The last of the 6 steps ran at the rate after 5/6 of the run, not at the epoch's first rate.
    expect((result.optimizer as tf.SGDOptimizer & { learningRate: number }).learningRate).toBeCloseTo(learningRateAt('cosine', 0.04, 5 / 3, 2), 12);
    disposeOptimizer(result.optimizer);
    model.dispose();
  });

  test('setLearningRate changes the step size of SGD and Adam without resetting them', () => {
    for (const name of ['sgd', 'adam'] as const) {
      const v = tf.variable(tf.scalar(1), true, `lr_probe_${name}`);
      const opt = makeOptimizer(name, 0.1);
      const stepOnce = () => {
        const before = v.dataSync()[0];
        opt.applyGradients({ [v.name]: tf.scalar(1) });
        return before - v.dataSync()[0];
      };
      const big = stepOnce();
      setLearningRate(opt, 0.001);
      const small = stepOnce();
      expect(small).toBeGreaterThan(0);
      expect(small).toBeLessThan(big / 20);
      disposeOptimizer(opt);
      v.dispose();
    }
  });
});

describe('training step', () => {
  test('weight decay adds λ·W to the kernels\' gradients only (SGD + Nesterov: Δ = −lr·(1+μ)·λ·W on the first step)', async () => {
    const model = tinyModel('wd');
    const start = model.getWeights().map((w) => w.clone());
    const { x, y } = toTensors(trainSet(), Array.from({ length: 32 }, (_, i) => i));
    const after = async (weightDecay: number) => {
      model.setWeights(start);
      const optimizer = makeOptimizer('sgd', 0.1, 0.9);
      await trainStep(model, x, y, { optimizer, weightDecay });
      disposeOptimizer(optimizer);
      return new Map(model.weights.map((w) => [w.originalName, w.read().arraySync() as unknown]));
    };
    const plain = await after(0);
    const decayed = await after(0.01);
    expect(decayedWeights(model).map((v) => v.name).sort()).toEqual(['wd_conv/kernel', 'wd_fc/kernel']);
    model.weights.forEach((w, i) => {
      const a = tf.tensor(plain.get(w.originalName) as number[]);
      const b = tf.tensor(decayed.get(w.originalName) as number[]);
      const diff = b.sub(a);
      if (/kernel$/.test(w.originalName)) {
        const expected = start[i].mul(-0.1 * 1.9 * 0.01);
        expect(diff.sub(expected).abs().max().dataSync()[0]).toBeLessThan(1e-6);
        expect(expected.abs().max().dataSync()[0]).toBeGreaterThan(1e-4); // the test can see a difference
      } else {
        expect(diff.abs().max().dataSync()[0]).toBe(0); // bias, BN gamma/beta, moving stats: untouched by decay
      }
      tf.dispose([a, b, diff]);
    });
    tf.dispose([x, y, ...start]);
  });

  test('the DenseNet ends in logits and the loss is the softmax cross-entropy: a confidently wrong output still gets a gradient', () => {
    const model = buildDenseNet(cifarConfig({ depth: 10, growthRate: 4, bottleneck: true, compression: 0.5, classes: 3, inputShape: [8, 8, 3] }), { seed: 1 });
    try {
      const last = model.layers[model.layers.length - 1];
      expect((last.getConfig() as { activation: string }).activation).toBe('linear');
      // True class 0 at logit −30 against +30: softmax gives it e^-60 ≈ 1e-26, far below a clipped
      // cross-entropy's 1e-7 floor, where the old softmax-output model got a zero gradient.
      const y = tf.tensor2d([[1, 0, 0]]);
      const logits = tf.tensor2d([[-30, 30, 0]]);
      const [loss, grad] = tf.tidy(() => {
        const { value, grad: g } = tf.valueAndGrad((z: tf.Tensor) => crossEntropy(z, y, false))(logits);
        return [value.dataSync()[0], Array.from(g.dataSync())];
      });
      expect(loss).toBeCloseTo(60, 3);
      expect(grad[0]).toBeCloseTo(-1, 5); // softmax − one-hot
      expect(grad[1]).toBeCloseTo(1, 5);
      tf.dispose([y, logits]);
    } finally {
      model.dispose();
    }
  });

  test('batch norm runs in training mode: batch statistics, and moving averages are updated', async () => {
    const model = tinyModel('bn');
    const movingMean = model.getLayer('bn_bn').getWeights()[2];
    expect(movingMean.abs().max().dataSync()[0]).toBe(0); // initialised to zeros
    const { x, y } = toTensors(trainSet(), Array.from({ length: 32 }, (_, i) => i));
    const optimizer = makeOptimizer('adam', 0.001);
    await trainStep(model, x, y, { optimizer, weightDecay: 0 });
    const updated = model.getLayer('bn_bn').getWeights()[2];
    expect(updated.abs().max().dataSync()[0]).toBeGreaterThan(1e-4);
    // Training mode normalises with the batch's own statistics: per-channel mean = β, std = γ.
    const [gamma, beta] = model.getLayer('bn_bn').getWeights();
    const bnOut = tf.model({ inputs: model.inputs, outputs: model.getLayer('bn_bn').output as tf.SymbolicTensor });
    const trainingOut = bnOut.apply(x, { training: true }) as tf.Tensor;
    const { mean, variance } = tf.moments(trainingOut, [0, 1, 2]);
    expect(mean.sub(beta).abs().max().dataSync()[0]).toBeLessThan(1e-4);
    expect(variance.sqrt().sub(gamma.abs()).abs().max().dataSync()[0]).toBeLessThan(1e-2);
    // Inference mode uses the moving averages instead, which after one step are far from the batch's.
    const inferenceOut = bnOut.predict(x) as tf.Tensor;
    expect(inferenceOut.mean([0, 1, 2]).sub(beta).abs().max().dataSync()[0]).toBeGreaterThan(1e-2);
    tf.dispose([mean, variance, inferenceOut]);
    tf.dispose([x, y, trainingOut]);
    disposeOptimizer(optimizer);
  });
});

describe('training loop', () => {
  let model: tf.LayersModel;
  let history: EpochMetrics[];
  const log = () => path.join(tmp, 'metrics', 'run.jsonl');
  let train: ImageSet;
  let val: ImageSet;

  beforeAll(async () => {
    train = trainSet();
    val = valSet();
    model = tinyModel('loop');
    const before = tf.memory().numTensors;
    const result = await trainModel(model, train, {
      epochs: 8, batchSize: 32, optimizer: 'adam', learningRate: 0.02, schedule: 'step', validation: val, metricsLog: log(), seed: 3,
    });
    disposeOptimizer(result.optimizer);
    expect(tf.memory().numTensors).toBe(before); // no tensor leaks across 64 steps
    history = result.history;
  });

  test('lowers the loss and reaches high held-out accuracy on a synthetic set in seconds', () => {
    expect(history).toHaveLength(8);
    expect(history[7].loss).toBeLessThan(history[0].loss * 0.5);
    expect(history[7].valAccuracy).toBeGreaterThanOrEqual(0.95);
    expect(history[7].accuracy).toBeGreaterThanOrEqual(0.9);
  });

  test('reports per-epoch metrics with the scheduled learning rate', () => {
    expect(history.map((m) => m.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const expected = [0.02, 0.02, 0.02, 0.02, 0.002, 0.002, 0.0002, 0.0002];
    history.forEach((m, i) => expect(m.learningRate).toBeCloseTo(expected[i], 12));
    for (const m of history) {
      expect(m.samples).toBe(256);
      expect(m.seconds).toBeGreaterThan(0);
      expect(m.backend).toBe(backend);
      expect(m.valLoss).toBeGreaterThan(0);
    }
  });

  test('the metrics log holds one JSON line per epoch', () => {
    const lines = fs.readFileSync(log(), 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(8);
    const parsed = lines.map((line) => JSON.parse(line) as EpochMetrics);
    expect(parsed).toEqual(readMetricsLog(log()));
    expect(parsed.map((m) => m.valAccuracy)).toEqual(history.map((m) => m.valAccuracy));
    expect(Object.keys(parsed[0])).toEqual(expect.arrayContaining(['epoch', 'loss', 'accuracy', 'valLoss', 'valAccuracy', 'seconds', 'learningRate']));
  });

  test('a metrics log with a broken line is an error naming the file and line', () => {
    const file = path.join(tmp, 'broken.jsonl');
    fs.writeFileSync(file, '{"epoch":1}\n{"epoch":\n');
    expect(() => readMetricsLog(file)).toThrow(`${file}:2 is not a JSON line`);
  });

  test('evaluation gives accuracy and a confusion matrix that agree with the predictions', async () => {
    const result = await evaluate(model, val, 50);
    const predicted = await predictClasses(model, val, 33);
    expect(result.confusion).toEqual(confusionMatrix(val.labels, predicted, 4));
    const correct = predicted.filter((p, i) => p === val.labels[i]).length;
    expect(result.accuracy).toBeCloseTo(correct / val.count, 12);
    expect(result.accuracy).toBeCloseTo(history[7].valAccuracy!, 12);
    expect(result.confusion.flat().reduce((a, b) => a + b, 0)).toBe(val.count);
  });

  test('save → load gives identical predictions (model.json + weights.bin)', async () => {
    const dir = path.join(tmp, 'saved');
    await saveModel(model, dir);
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    const allWeights = model.weights.reduce((n, w) => n + w.shape.reduce((a, b) => a! * b!, 1)!, 0);
    expect(fs.statSync(path.join(dir, 'weights.bin')).size).toBe(4 * allWeights);
    const { x } = toTensors(val);
    const expected = model.predict(x) as tf.Tensor;
    const loaded = await loadModel(dir);
    const got = loaded.predict(x) as tf.Tensor;
    expect(Array.from(got.dataSync())).toEqual(Array.from(expected.dataSync()));
    // Weights into a fresh build of the same architecture (same layer names).
    const fresh = tinyModel('loop');
    await loadWeightsInto(fresh, dir);
    const fromWeights = fresh.predict(x) as tf.Tensor;
    expect(Array.from(fromWeights.dataSync())).toEqual(Array.from(expected.dataSync()));
    tf.dispose([x, expected, got, fromWeights]);
    loaded.dispose();
    fresh.dispose();
  });

  test('a model saved on one backend loads and predicts the same on the cpu backend', async () => {
    const dir = path.join(tmp, 'saved-cross');
    await saveModel(model, dir);
    const { x } = toTensors(val, [0, 1, 2, 3, 4, 5, 6, 7]);
    const expected = (model.predict(x) as tf.Tensor).arraySync() as number[][];
    tf.dispose(x);
    await useBackend('cpu');
    try {
      const loaded = await loadModel(dir);
      const { x: xc } = toTensors(val, [0, 1, 2, 3, 4, 5, 6, 7]);
      const got = (loaded.predict(xc) as tf.Tensor).arraySync() as number[][];
      got.forEach((row, i) => row.forEach((p, j) => expect(p).toBeCloseTo(expected[i][j], 5)));
      loaded.dispose();
      tf.dispose(xc);
    } finally {
      await useBackend(backend);
    }
  });

  test('a truncated weights file is an error naming the file and the expected size', async () => {
    const dir = path.join(tmp, 'truncated');
    await saveModel(model, dir);
    const weights = path.join(dir, 'weights.bin');
    const size = fs.statSync(weights).size;
    fs.truncateSync(weights, size - 8);
    await expect(loadModel(dir)).rejects.toThrow(`weights.bin) are ${size - 8} bytes; the manifest expects ${size}`);
    await expect(fileSystemIO(path.join(tmp, 'nowhere')).load()).rejects.toThrow(/cannot read a saved model from .*nowhere\/model\.json/);
  });
});

test('a diverging run stops with a clear error and leaks nothing', async () => {
  // Logits straight from a dense layer (no batch norm to rescale, no softmax clipping): it can overflow.
  const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [12, 12, 1] }), tf.layers.dense({ units: 4 })] });
  const before = tf.memory().numTensors;
  await expect(trainModel(model, trainSet(), { epochs: 3, batchSize: 32, optimizer: 'sgd', learningRate: 1e38, schedule: 'constant' }))
    .rejects.toThrow(/the loss became (NaN|Infinity) at epoch \d+, step \d+: lower the learning rate/);
  expect(tf.memory().numTensors).toBe(before);
  model.dispose();
});

describe('progress', () => {
  const fakeStream = (isTTY: boolean) => {
    const chunks: string[] = [];
    return { chunks, stream: { isTTY, write: (s: string) => chunks.push(s) } };
  };

  test('auto chooses a bar on a terminal and plain lines otherwise; CARDLAB_PROGRESS forces one', () => {
    const saved = process.env.CARDLAB_PROGRESS;
    delete process.env.CARDLAB_PROGRESS;
    try {
      expect(chooseProgressMode('auto', { isTTY: true, write: () => true })).toBe('bar');
      expect(chooseProgressMode('auto', { isTTY: false, write: () => true })).toBe('lines');
      expect(chooseProgressMode('off', { isTTY: true, write: () => true })).toBe('off');
      process.env.CARDLAB_PROGRESS = 'bar';
      expect(chooseProgressMode('auto', { isTTY: false, write: () => true })).toBe('bar');
      process.env.CARDLAB_PROGRESS = 'fancy';
      expect(() => chooseProgressMode('auto', { write: () => true })).toThrow(/CARDLAB_PROGRESS=fancy/);
    } finally {
      if (saved === undefined) delete process.env.CARDLAB_PROGRESS;
      else process.env.CARDLAB_PROGRESS = saved;
    }
  });

  test('lines mode prints at most one line per interval, with step, loss and time left', () => {
    let now = 0;
    const { chunks, stream } = fakeStream(false);
    const progress = new ProgressReporter({ mode: 'lines', stream, intervalMs: 10000, now: () => now });
    progress.startEpoch(0, 3, 100);
    for (let step = 1; step <= 100; step++) {
      now += 1000; // one second per step
      progress.update(step, 0.5, 0.75);
    }
    progress.endEpoch();
    expect(chunks).toHaveLength(9); // at 10 s, 20 s … 90 s; the epoch summary replaces the 100th
    expect(chunks[0]).toBe('epoch 1/3 step 10/100 (10%) loss 0.5000 acc 75.0% 10s (~1m30s left)\n');
  });

  test('bar mode redraws one line with \\r and ends it at the end of the epoch', () => {
    let now = 0;
    const { chunks, stream } = fakeStream(true);
    const progress = new ProgressReporter({ mode: 'bar', stream, barWidth: 10, now: () => now });
    progress.startEpoch(1, 2, 4);
    for (let step = 1; step <= 4; step++) {
      now += 500;
      progress.update(step, 1, 0.5);
    }
    progress.endEpoch();
    expect(chunks.slice(0, 4).every((c) => c.startsWith('\repoch 2/2 ['))).toBe(true);
    expect(chunks[1]).toContain('[====>     ] 2/4');
    expect(chunks[3]).toContain('[==========] 4/4');
    expect(chunks[4]).toBe('\n');
  });
});
