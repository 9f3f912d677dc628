/**
 * The threaded-SIMD wasm build under Node (src/backend/wasm-threads.ts): the thread count setting,
 * and that training on 2 threads is the same training as on 1 (same losses and weights for a fixed
 * seed, up to float rounding), each in its own process (a process starts the wasm backend once).
 */
import { spawnSync } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import { requestedWasmThreads, WASM_THREADS_ENV } from '../src/backend/wasm-threads';
import { assertBuilt } from './helpers/built';

const ROOT = path.join(__dirname, '..');

describe('CARDLAB_WASM_THREADS', () => {
  test('defaults to the available cores (at most 8); takes 1 to 8; anything else is an error naming the variable', () => {
    expect(requestedWasmThreads({})).toBe(Math.min(8, os.availableParallelism()));
    expect(requestedWasmThreads({ [WASM_THREADS_ENV]: '1' })).toBe(1);
    expect(requestedWasmThreads({ [WASM_THREADS_ENV]: ' 2 ' })).toBe(2);
    for (const bad of ['0', '9', '1.5', 'two', '-1']) {
      expect(() => requestedWasmThreads({ [WASM_THREADS_ENV]: bad })).toThrow(`CARDLAB_WASM_THREADS=${bad.trim()} must be a whole number from 1 to 8`);
    }
  });
});

/** Three training steps of a small memory-efficient DenseNet-BC on wasm with `threads` threads, in a child. */
function trainInChild(threads: number): { threads: number; losses: number[]; weights: number[] } {
  const script = `
    const { tf, initBackend, wasmThreads } = require('./dist/src/tf');
    const { buildDenseNet, cifarConfig } = require('./dist/src/densenet');
    const { makeOptimizer, trainStep } = require('./dist/src/train');
    (async () => {
      await initBackend('wasm');
      const config = cifarConfig({ depth: 16, growthRate: 6, bottleneck: true, compression: 0.5, classes: 5, inputShape: [12, 12, 3], memoryEfficient: true });
      const model = buildDenseNet(config, { seed: 3 });
      const x = tf.randomNormal([8, 12, 12, 3], 0, 1, 'float32', 4);
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 2], 'int32'), 5);
      const optimizer = makeOptimizer('sgd', 0.1);
      const losses = [];
      for (let i = 0; i < 3; i++) losses.push((await trainStep(model, x, y, { optimizer, weightDecay: 1e-4 })).loss);
      const weights = model.trainableWeights.map((w) => tf.tidy(() => tf.sum(tf.abs(w.read())).dataSync()[0]));
      console.log(JSON.stringify({ threads: wasmThreads(), losses, weights }));
    })();`;
  const r = spawnSync(process.execPath, ['-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, [WASM_THREADS_ENV]: String(threads), CARDLAB_BACKEND: '' },
    timeout: 120_000,
  });
  // The process must end by itself: the pool's waiting threads do not keep it alive.
  if (r.status !== 0) throw new Error(`child with ${threads} thread(s) failed (${r.signal ?? r.status}): ${r.stderr.slice(-1500)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

describe('threaded wasm', () => {
  test('a process that may not start worker threads (Node permission model, as the cell sandbox) runs single-threaded', () => {
    assertBuilt(['backend']);
    const script = `const { tf, initBackend, wasmThreads } = require('./dist/src/tf');
      initBackend('wasm').then(() => console.log(JSON.stringify({ threads: wasmThreads(), sum: tf.tidy(() => tf.conv2d(tf.ones([1, 4, 4, 2]), tf.ones([1, 1, 2, 3]), 1, 'same').sum().dataSync()[0]) })));`;
    const r = spawnSync(process.execPath, ['--experimental-permission', `--allow-fs-read=${ROOT}`, '--disable-warning=ExperimentalWarning', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, [WASM_THREADS_ENV]: '2', CARDLAB_BACKEND: '' },
      timeout: 60_000,
    });
    expect({ status: r.status, stderr: r.stderr.slice(-1000) }).toEqual({ status: 0, stderr: '' });
    expect(JSON.parse(r.stdout.trim())).toEqual({ threads: 1, sum: 96 });
  }, 90_000);

  test('trains the same model on 2 threads as on 1: same losses and weights (float tolerance), and the process ends by itself', () => {
    assertBuilt(['backend', 'densenet', 'train']);
    const one = trainInChild(1);
    const two = trainInChild(2);
    expect(one.threads).toBe(1);
    // The pool is capped at the cores Node sees.
    expect(two.threads).toBe(Math.min(2, os.availableParallelism()));
    expect(one.losses.every(Number.isFinite)).toBe(true);
    two.losses.forEach((loss, i) => expect(Math.abs(loss - one.losses[i]) / Math.abs(one.losses[i])).toBeLessThan(1e-4));
    two.weights.forEach((w, i) => expect(Math.abs(w - one.weights[i]) / Math.max(1e-6, Math.abs(one.weights[i]))).toBeLessThan(1e-4));
    // The steps did train: the loss moved.
    expect(one.losses[2]).not.toBeCloseTo(one.losses[0], 3);
  }, 240_000);
});
