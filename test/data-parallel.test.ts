/**
 * Data-parallel training (src/parallel): the cross-replica sum under races and failures, and that
 * replicas in worker threads train the same model as one process with the whole batch.
 */
import { spawnSync } from 'child_process';
import path from 'path';
import { Worker } from 'worker_threads';
import { initBackend, tf } from '../src/tf';
import { buildDenseNet, cifarConfig, DenseNetConfig } from '../src/densenet';
import { disposeOptimizer, makeOptimizer, trainModel, trainStep } from '../src/train';
import { subset, syntheticStripes } from '../src/data';
import { DataParallelTrainer, DEFAULT_REPLICAS, splitRows } from '../src/parallel';
import { createSharedSumBuffer } from '../src/parallel/shared-sum';
import { assertBuilt } from './helpers/built';

const SHARED_SUM = path.join(__dirname, '..', 'dist', 'src', 'parallel', 'shared-sum.js');

beforeAll(() => assertBuilt(['parallel', 'densenet', 'train']));

/** Runs `body` (source of a function (sum, rank) => result) in one worker thread per rank. */
function inWorkers<T>(replicas: number, capacity: number, body: string, timeoutMs?: number): Promise<PromiseSettledResult<T>[]> {
  const buffer = createSharedSumBuffer(replicas, capacity);
  const code = `
    const { parentPort, workerData } = require('worker_threads');
    const { SharedSum } = require(${JSON.stringify(SHARED_SUM)});
    const sum = new SharedSum(workerData.buffer, workerData.rank, workerData.replicas, workerData.timeoutMs);
    try { parentPort.postMessage({ ok: (${body})(sum, workerData.rank) }); }
    catch (err) { parentPort.postMessage({ error: err.name + ': ' + err.message }); }`;
  return Promise.allSettled(
    Array.from({ length: replicas }, (_, rank) => {
      const worker = new Worker(code, { eval: true, workerData: { buffer, rank, replicas, timeoutMs } });
      return new Promise<T>((resolve, reject) => {
        worker.once('message', (m: { ok?: T; error?: string }) => (m.error ? reject(new Error(m.error)) : resolve(m.ok as T)));
        worker.once('error', reject);
      }).finally(() => worker.terminate());
    }),
  );
}

describe('SharedSum (cross-replica sums over a SharedArrayBuffer)', () => {
  test('three replicas, 300 sums of changing lengths back to back: every replica gets every exact total', async () => {
    // Fast replicas run ahead into the next sum while slow ones still read the last: the two slot sets must not mix.
    const results = await inWorkers<number[]>(3, 64, `(sum, rank) => {
      const wrong = [];
      for (let round = 0; round < 300; round++) {
        const n = 1 + (round % 64);
        const values = Array.from({ length: n }, (_, i) => rank * 1000 + round + i);
        const total = sum.sum(values);
        for (let i = 0; i < n; i++) if (total[i] !== 3000 + 3 * (round + i)) wrong.push([round, i, total[i]]);
        if (total.length !== n) wrong.push([round, 'length', total.length]);
      }
      return wrong;
    }`);
    expect(results).toEqual([0, 1, 2].map(() => ({ status: 'fulfilled', value: [] })));
  });

  test('a replica that aborts releases the others with ReplicaAbortedError instead of a hang', async () => {
    const results = await inWorkers<number>(2, 4, `(sum, rank) => {
      if (rank === 1) { sum.sum([1]); sum.abort(); return -1; }
      sum.sum([1]);
      return sum.sum([2])[0];
    }`);
    expect(results[1]).toEqual({ status: 'fulfilled', value: -1 });
    expect(results[0]).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: 'ReplicaAbortedError: another replica of the data-parallel step failed' }) });
  });

  test('a replica that never comes: the wait ends after the time limit; more values than the buffer holds is an error', async () => {
    const results = await inWorkers<number>(2, 4, `(sum, rank) => {
      if (rank === 1) return 0;
      try { sum.sum([1, 2, 3, 4, 5]); } catch (err) { if (!/exceeds the buffer's 4/.test(err.message)) throw err; }
      return sum.sum([1])[0];
    }`, 300);
    expect(results[1]).toEqual({ status: 'fulfilled', value: 0 });
    expect(results[0]).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: 'ReplicaAbortedError: the other replicas did not arrive within 0.3 s' }) });
  });
});

describe('splitRows', () => {
  test('as even as possible, the first replicas one row more; fewer rows than replicas is an error', () => {
    expect(splitRows(64, 2)).toEqual([32, 32]);
    expect(splitRows(7, 2)).toEqual([4, 3]);
    expect(splitRows(8, 3)).toEqual([3, 3, 2]);
    expect(() => splitRows(1, 2)).toThrow('a batch of 1 rows cannot be split over 2 replicas');
  });
});

describe('DataParallelTrainer: the same training as one process with the whole batch', () => {
  const small = (memoryEfficient: boolean): DenseNetConfig =>
    cifarConfig({ depth: 16, growthRate: 6, bottleneck: true, compression: 0.5, classes: 5, inputShape: [12, 12, 3], memoryEfficient });
  const batch = (rows: number, seed: number) =>
    tf.tidy(() => [tf.randomNormal([rows, 12, 12, 3], 0, 1, 'float32', seed), tf.oneHot(tf.randomUniform([rows], 0, 5, 'int32', seed + 1) as tf.Tensor1D, 5)]);

  beforeAll(async () => {
    await initBackend('wasm');
  });

  /** Losses and final weights of `steps` steps in this process, and over `replicas` replicas. */
  async function both(config: DenseNetConfig, rows: number, replicas: number, steps = 3) {
    const reference = buildDenseNet(config, { seed: 3 });
    const parallel = buildDenseNet(config, { seed: 3 });
    const optimizer = makeOptimizer('sgd', 0.1);
    const trainer = await DataParallelTrainer.start({ config, model: parallel, optimizer: { name: 'sgd', learningRate: 0.1 }, weightDecay: 1e-4, replicas });
    const one: { loss: number; correct: number }[] = [];
    const many: { loss: number; correct: number }[] = [];
    try {
      for (let step = 0; step < steps; step++) {
        const [x, y] = batch(rows, 10 + step);
        one.push(await trainStep(reference, x, y, { optimizer, weightDecay: 1e-4 }));
        many.push(await trainer.step(x, y));
        tf.dispose([x, y]);
      }
      await trainer.pullWeights();
    } finally {
      await trainer.close();
    }
    const maxDiff = Math.max(...reference.weights.map((w, i) => tf.tidy(() => tf.max(tf.abs(tf.sub(w.read(), parallel.weights[i].read()))).dataSync()[0])));
    const moved = Math.max(...reference.trainableWeights.map((w) => tf.tidy(() => tf.max(tf.abs(w.read())).dataSync()[0])));
    disposeOptimizer(optimizer);
    reference.dispose();
    parallel.dispose();
    return { one, many, maxDiff, moved };
  }

  test.each([
    ['memory-efficient', true, 8, 2],
    ['naive', false, 8, 2],
    ['memory-efficient, uneven split 3 + 2 + 2', true, 7, 3],
  ])('%s: same losses, accuracy counts and weights (batch statistics and moving averages included)', async (_name, efficient, rows, replicas) => {
    const { one, many, maxDiff, moved } = await both(small(efficient), rows, replicas);
    for (let i = 0; i < one.length; i++) {
      expect(many[i].loss).toBeCloseTo(one[i].loss, 5);
      expect(many[i].correct).toBe(one[i].correct);
    }
    expect(moved).toBeGreaterThan(0.1);
    expect(maxDiff).toBeLessThan(1e-4);
  }, 120_000);

  test('the tolerance above would catch unsynchronised batch norm: per-replica statistics give another loss', () => {
    const config = small(true);
    const model = buildDenseNet(config, { seed: 3 });
    const [x, y] = batch(8, 10);
    const lossOf = (xs: tf.Tensor, ys: tf.Tensor) =>
      tf.tidy(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor).dataSync()[0]);
    const whole = lossOf(x, y);
    const halves = (lossOf(x.slice(0, 4), y.slice(0, 4)) + lossOf(x.slice(4, 4), y.slice(4, 4))) / 2;
    expect(Math.abs(whole - halves)).toBeGreaterThan(1e-3);
    tf.dispose([x, y]);
    model.dispose();
  });
});

describe('trainModel with dataParallel', () => {
  const config = cifarConfig({ depth: 16, growthRate: 6, bottleneck: true, compression: 0.5, classes: 4, inputShape: [12, 12, 3], memoryEfficient: true });
  const data = syntheticStripes({ count: 22, classes: 4, size: 12, channels: 3, seed: 2 });
  const run = async (dataParallel?: { config: DenseNetConfig; replicas?: number }) => {
    const model = buildDenseNet(config, { seed: 5 });
    const { history, optimizer } = await trainModel(model, data, { epochs: 2, batchSize: 8, optimizer: 'sgd', learningRate: 0.05, validation: data, dataParallel });
    disposeOptimizer(optimizer);
    const weights = model.weights.map((w) => w.read().dataSync().slice());
    model.dispose();
    return { history, weights };
  };

  beforeAll(async () => {
    await initBackend('wasm');
  });

  test('the same epochs as in one process (losses, validation on the pulled weights, final weights); a last batch smaller than the replicas is skipped', async () => {
    const one = await run();
    const three = await run({ config, replicas: 3 });
    // 22 images in batches of 8: 8, 8 and 6 (each replica gets a row); with 3 replicas a last batch of 2 would be skipped.
    expect(one.history.map((e) => e.samples)).toEqual([22, 22]);
    expect(three.history.map((e) => [e.samples, e.replicas])).toEqual([[22, 3], [22, 3]]);
    for (let e = 0; e < 2; e++) {
      expect(three.history[e].loss).toBeCloseTo(one.history[e].loss, 5);
      expect(three.history[e].valLoss!).toBeCloseTo(one.history[e].valLoss!, 4);
    }
    const diff = Math.max(...one.weights.map((w, i) => Math.max(...w.map((v, j) => Math.abs(v - three.weights[i][j])))));
    expect(diff).toBeLessThan(1e-4);
    const smallLast = buildDenseNet(config, { seed: 5 });
    const { history, optimizer } = await trainModel(smallLast, subset(data, Array.from({ length: 18 }, (_, i) => i)), {
      epochs: 1, batchSize: 8, optimizer: 'sgd', learningRate: 0.05, dataParallel: { config, replicas: 3 },
    });
    expect(history[0].samples).toBe(16);
    disposeOptimizer(optimizer);
    smallLast.dispose();
  }, 120_000);
});

describe('DataParallelTrainer: failures are errors, not hangs', () => {
  const config = cifarConfig({ depth: 16, growthRate: 6, bottleneck: true, compression: 0.5, classes: 5, inputShape: [12, 12, 3], memoryEfficient: true });

  beforeAll(async () => {
    await initBackend('wasm');
  });

  test('a batch the model cannot take: the step rejects naming the replica error; later requests reject; close works', async () => {
    const model = buildDenseNet(config, { seed: 1 });
    const trainer = await DataParallelTrainer.start({ config, model, optimizer: { name: 'sgd', learningRate: 0.1 }, weightDecay: 0, replicas: 2 });
    const [x, y] = [tf.zeros([4, 12, 12, 4]), tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 5)];
    await expect(trainer.step(x, y)).rejects.toThrow(/data-parallel replica failed: .*(shape|channels)/);
    await expect(trainer.setLearningRate(0.01)).rejects.toThrow('an earlier request failed on this replica: start a new trainer');
    await trainer.close();
    tf.dispose([x, y]);
    model.dispose();
  }, 60_000);

  test('a replica that dies mid-training: the step rejects (the other replica is released from its wait)', async () => {
    const model = buildDenseNet(config, { seed: 1 });
    const trainer = await DataParallelTrainer.start({ config, model, optimizer: { name: 'sgd', learningRate: 0.1 }, weightDecay: 0, replicas: 2 });
    const [x, y] = [tf.randomNormal([4, 12, 12, 3]), tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 5)];
    await trainer.step(x, y);
    const replicas = (trainer as unknown as { replicas: { worker: Worker }[] }).replicas;
    const stepping = trainer.step(x, y);
    await replicas[1].worker.terminate();
    await expect(stepping).rejects.toThrow(/data-parallel replica (exited|failed)/);
    await trainer.close();
    tf.dispose([x, y]);
    model.dispose();
  }, 60_000);

  test('a script that never closes its trainer still ends when its work is done (idle replicas do not hold the process)', () => {
    const script = `
      const { tf, initBackend } = require('./dist/src/tf');
      const { buildDenseNet, cifarConfig } = require('./dist/src/densenet');
      const { DataParallelTrainer } = require('./dist/src/parallel');
      (async () => {
        await initBackend('wasm');
        const config = cifarConfig(${JSON.stringify({ depth: 16, growthRate: 6, bottleneck: true, compression: 0.5, classes: 5, inputShape: [12, 12, 3], memoryEfficient: true })});
        const model = buildDenseNet(config, { seed: 1 });
        const trainer = await DataParallelTrainer.start({ config, model, optimizer: { name: 'sgd', learningRate: 0.1 }, weightDecay: 0, replicas: 2 });
        const { loss } = await trainer.step(tf.randomNormal([4, 12, 12, 3]), tf.oneHot(tf.tensor1d([0, 1, 2, 3], 'int32'), 5));
        console.log(Number.isFinite(loss) ? 'stepped' : 'bad loss');
      })();`;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: path.join(__dirname, '..'), encoding: 'utf8', timeout: 60_000 });
    expect({ status: r.status, signal: r.signal, stdout: r.stdout.trim() }).toEqual({ status: 0, signal: null, stdout: 'stepped' });
  }, 70_000);

  test('a configuration whose weights do not match the model: start rejects naming the weight', async () => {
    const model = buildDenseNet({ ...config, growthRate: 4 }, { seed: 1 });
    await expect(DataParallelTrainer.start({ config, model, optimizer: { name: 'sgd', learningRate: 0.1 }, weightDecay: 0, replicas: 2 })).rejects.toThrow(
      /data-parallel replica failed: Error: weight \d+ is \S+ \[[\d,]+\], the model's is/,
    );
    model.dispose();
  }, 60_000);
});

describe('replicasAvailable: how many replicas training uses by default', () => {
  const ROOT = path.join(__dirname, '..');
  const ask = (flags: string[], backend: string) => {
    const script = `const { initBackend } = require('./dist/src/tf'); const { replicasAvailable } = require('./dist/src/parallel');
      initBackend(${JSON.stringify(backend)}).then(() => console.log(replicasAvailable()));`;
    const r = spawnSync(process.execPath, [...flags, '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
    return Number(r.stdout.trim());
  };

  test('one per core on wasm; 1 on the cpu backend and where worker threads are refused (the cell sandbox\'s permission model)', () => {
    expect(ask([], 'wasm')).toBe(DEFAULT_REPLICAS);
    expect(ask([], 'cpu')).toBe(1);
    expect(ask(['--experimental-permission', '--allow-fs-read=*'], 'wasm')).toBe(1);
    expect(ask(['--experimental-permission', '--allow-fs-read=*', '--allow-worker'], 'wasm')).toBe(DEFAULT_REPLICAS);
  }, 120_000);
});
