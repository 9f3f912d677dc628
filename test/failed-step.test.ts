/**
 * A training step leaves nothing behind, and one that fails gives a clear error.
 *
 * - tfjs keeps the tensors the backward pass needs outside every tidy; a step that throws (out of
 *   memory, a shape error in a student's layer) used to leave them allocated for ever
 *   (src/backend/tape-cleanup.ts, the memory-efficient block's own kept tensors, trainStep's count).
 * - The wasm backend's 4 GB heap when full: the threaded build placed tensors at address 0 and the
 *   run hung, the single-threaded one died with "Aborted()" (src/backend/wasm-memory.ts). Those run
 *   in child processes, so that this worker's heap does not grow to 4 GB.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import { tf, useBackend } from '../src/tf';
import { buildDenseNet, cifarConfig, EfficientDenseBlock } from '../src/densenet';
import { makeOptimizer, trainStep } from '../src/train';
import { WASM_THREADS_ENV } from '../src/backend/wasm-threads';
import { assertBuilt } from './helpers/built';

const ROOT = path.join(__dirname, '..');

beforeAll(async () => {
  await useBackend('cpu');
});

test('memory-efficient training steps with dropout leave no tensor behind (each kept its dropout masks before)', async () => {
  const config = cifarConfig({ depth: 16, growthRate: 6, bottleneck: true, compression: 0.5, classes: 3, inputShape: [8, 8, 3], memoryEfficient: true, dropRate: 0.2 });
  const model = buildDenseNet(config, { seed: 1 });
  const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 2);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3);
  const optimizer = makeOptimizer('sgd', 0.1);
  const counts: number[] = [];
  for (let i = 0; i < 3; i++) {
    await trainStep(model, x, y, { optimizer, weightDecay: 1e-4 });
    counts.push(tf.memory().numTensors);
  }
  expect(counts).toEqual([counts[0], counts[0], counts[0]]);
  tf.dispose([x, y]);
  model.dispose();
});

describe('a failed gradient computation frees what its tape kept', () => {
  test('forward that throws after some ops: no tensor left', () => {
    const x = tf.variable(tf.randomNormal([4, 8]));
    const before = tf.memory().numTensors;
    expect(() =>
      tf.variableGrads(() => {
        const h = tf.relu(tf.matMul(x, tf.ones([8, 8]))).exp();
        throw new Error(`a student's layer failed after ${h.shape}`);
      }, [x]),
    ).toThrow("a student's layer failed after 4,8");
    expect(tf.memory().numTensors).toBe(before);
    // The engine still computes gradients afterwards.
    const { grads } = tf.variableGrads(() => x.square().sum() as tf.Scalar, [x]);
    expect(Array.from(grads[x.name].dataSync())).toEqual(Array.from(x.mul(2).dataSync()));
    tf.dispose([x, grads[x.name]]);
  });

  test('backward that throws (a custom gradient): no tensor left', () => {
    const x = tf.variable(tf.randomNormal([3, 3]));
    const failing = tf.customGrad(((a: tf.Tensor, save: tf.GradSaveFunc) => {
      save([a]);
      return { value: a.square(), gradFunc: () => { throw new Error('backward failed'); } };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    const before = tf.memory().numTensors;
    expect(() => tf.variableGrads(() => (failing(tf.sigmoid(x)) as tf.Tensor).sum() as tf.Scalar, [x])).toThrow('backward failed');
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  test('a DenseNet step whose memory-efficient block fails midway (also keeping bottleneck outputs; and a naive one): no tensor left, the next step trains', async () => {
    for (const [memoryEfficient, keepBottleneck] of [[true, false], [true, true], [false, false]]) {
      let layersSeen = 0;
      const config = cifarConfig({ depth: 16, growthRate: 6, bottleneck: true, compression: 0.5, classes: 3, inputShape: [8, 8, 3], memoryEfficient, dropRate: 0.2 });
      const model = buildDenseNet(config, { seed: 1 });
      for (const layer of model.layers) if (layer instanceof EfficientDenseBlock) layer.keepBottleneck = keepBottleneck;
      const x = tf.randomNormal([4, 8, 8, 3], 0, 1, 'float32', 2);
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0], 'int32'), 3);
      const optimizer = makeOptimizer('sgd', 0.1);
      const ok = await trainStep(model, x, y, { optimizer, weightDecay: 1e-4 }); // creates the optimizer's state
      expect(Number.isFinite(ok.loss)).toBe(true);
      const before = tf.memory().numTensors;
      // The third convolution of the step fails, as an allocation does when the heap is full.
      // Keras' Conv2D runs the fused kernel, the memory-efficient block the plain one.
      const convs = ['Conv2D', 'FusedConv2D'].map((name) => tf.getKernel(name, 'cpu')!);
      for (const conv of convs) {
        tf.unregisterKernel(conv.kernelName, 'cpu');
        tf.registerKernel({
          ...conv,
          kernelFunc: (args) => {
            if (++layersSeen === 3) throw new Error('out of memory (simulated)');
            return conv.kernelFunc(args);
          },
        });
      }
      try {
        await expect(trainStep(model, x, y, { optimizer, weightDecay: 1e-4 })).rejects.toThrow('out of memory (simulated)');
      } finally {
        for (const conv of convs) {
          tf.unregisterKernel(conv.kernelName, 'cpu');
          tf.registerKernel(conv);
        }
      }
      expect(layersSeen).toBe(3);
      expect(tf.memory().numTensors).toBe(before);
      const next = await trainStep(model, x, y, { optimizer, weightDecay: 1e-4 });
      expect(Number.isFinite(next.loss)).toBe(true);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, y]);
      model.dispose();
    }
  });
});

/** Runs `body` (JavaScript, with tf, initBackend and the train module in scope) on wasm in a child; its last stdout line is JSON. */
function wasmChild(body: string, threads: number, timeout = 240_000): Record<string, unknown> {
  const script = `
    const { tf, initBackend, wasmThreads } = require('./dist/src/tf');
    const { buildDenseNet, cifarConfig } = require('./dist/src/densenet');
    const { makeOptimizer, trainStep } = require('./dist/src/train');
    (async () => { await initBackend('wasm'); ${body} })().catch((e) => { console.log(JSON.stringify({ uncaught: String(e && e.stack || e) })); process.exit(3); });`;
  const r = spawnSync(process.execPath, ['-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, [WASM_THREADS_ENV]: String(threads), CARDLAB_BACKEND: '' },
    timeout,
    killSignal: 'SIGKILL',
  });
  if (r.status !== 0) throw new Error(`wasm child (${threads} thread(s)) did not finish (${r.signal ?? `exit ${r.status}`}): ${r.stdout.slice(-800)} ${r.stderr.slice(-1500)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

describe('the wasm backend out of memory', () => {
  beforeAll(() => assertBuilt(['backend', 'train', 'densenet']));

  test.each([1, 2])('%i thread(s): filling the 4 GB heap is a clear error; freed, the backend works again', (threads) => {
    const out = wasmChild(`
      const held = [];
      let error;
      try {
        for (let i = 0; i < 8; i++) held.push(tf.fill([256 * 2 ** 20], 1)); // 1 GB each
      } catch (e) { error = { name: e.name, message: e.message }; }
      const count = held.length;
      tf.dispose(held);
      const sum = tf.tidy(() => tf.conv2d(tf.ones([2, 16, 16, 4]), tf.ones([3, 3, 4, 5]), 1, 'same').sum().dataSync()[0]);
      console.log(JSON.stringify({ threads: wasmThreads(), error, count, sum, tensors: tf.memory().numTensors }));`, threads);
    expect(out.threads).toBe(threads);
    expect(out.count).toBe(3); // the fourth gigabyte holds the heap's own data
    expect(out.error).toEqual({ name: 'WasmOutOfMemoryError', message: expect.stringMatching(/^out of memory: the wasm backend could not allocate 1024 MB \(its heap is \d+ MB of the 4096 MB WebAssembly can address\)\. A smaller batch, the memory-efficient DenseNet/) });
    // 2 images × 5 output channels, each pixel summing 4 channels over the part of its 3×3 window inside the image.
    expect(out.sum).toBe(2 * 5 * 4 * (14 * 14 * 9 + 4 * 14 * 6 + 4 * 4));
    expect(out.tensors).toBe(0);
  });

  test('the naive DenseNet-BC L=100 step at batch 32 (5 GB): an error instead of a hang, nothing left behind, batch 4 then trains', () => {
    const out = wasmChild(`
      const model = buildDenseNet(cifarConfig({ depth: 100, growthRate: 12, bottleneck: true, compression: 0.5 }), { seed: 0 });
      const batch = (n) => tf.tidy(() => [tf.randomUniform([n, 32, 32, 3], 0, 1, 'float32', 1), tf.oneHot(tf.randomUniform([n], 0, 10, 'int32', 2), 10)]);
      const optimizer = makeOptimizer('sgd', 0.1);
      const [x4, y4] = batch(4);
      await trainStep(model, x4, y4, { optimizer, weightDecay: 1e-4 });
      const before = tf.memory().numTensors;
      const [x, y] = batch(32);
      let error;
      try { await trainStep(model, x, y, { optimizer, weightDecay: 1e-4 }); } catch (e) { error = { name: e.name, message: e.message }; }
      tf.dispose([x, y]);
      const leftBehind = tf.memory().numTensors - before;
      const { loss } = await trainStep(model, x4, y4, { optimizer, weightDecay: 1e-4 });
      console.log(JSON.stringify({ error, leftBehind, loss }));`, 2);
    expect(out.error).toEqual({ name: 'WasmOutOfMemoryError', message: expect.stringContaining('out of memory: the wasm backend could not allocate') });
    expect(out.leftBehind).toBe(0);
    expect(Number.isFinite(out.loss)).toBe(true);
  });
});
