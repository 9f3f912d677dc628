import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from './helpers/cli';
import { loadDataset } from '../src/data';
import { evaluate, loadModel, readMetricsLog } from '../src/train';
import { DEFAULT_REPLICAS } from '../src/parallel';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cardlab-train-cli-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));


test('cardlab train --out saves weights, a metrics log and a run summary that reload to the same accuracy', async () => {
  const out = path.join(tmp, 'run');
  const stdout = await runCli('train', '--dataset', 'synthetic', '--samples', '256', '--epochs', '3', '--seed', '4', '--out', out, '--json', '--progress', 'off');
  const summary = JSON.parse(stdout) as { testAccuracy: number; history: unknown[]; epochs: number; optimizer: string; model: { parameters: number } };
  expect(summary.epochs).toBe(3);
  expect(summary.optimizer).toBe('adam');
  expect(summary.history).toHaveLength(3);
  expect(summary.testAccuracy).toBeGreaterThan(0.5); // 4 classes: chance is 0.25
  expect(fs.readdirSync(out).sort()).toEqual(['metrics.jsonl', 'model.json', 'run.json', 'weights.bin']);
  expect(readMetricsLog(path.join(out, 'metrics.jsonl'))).toEqual(summary.history);
  expect(JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8'))).toEqual(summary);
  // The saved model is the trained one: same held-out accuracy.
  const model = await loadModel(out);
  expect(model.countParams()).toBe(summary.model.parameters);
  const { test } = loadDataset('synthetic', { seed: 4, samples: 256 });
  expect((await evaluate(model, test)).accuracy).toBeCloseTo(summary.testAccuracy, 10);
  model.dispose();
});

test('a second run into the same folder starts a fresh metrics log', async () => {
  const out = path.join(tmp, 'again');
  await runCli('train', '--dataset', 'synthetic', '--samples', '64', '--epochs', '2', '--out', out, '--json', '--progress', 'off');
  await runCli('train', '--dataset', 'synthetic', '--samples', '64', '--epochs', '1', '--out', out, '--json', '--progress', 'off');
  expect(readMetricsLog(path.join(out, 'metrics.jsonl'))).toHaveLength(1);
});

test('prints a readable summary with per-epoch lines and the confusion matrix', async () => {
  const stdout = await runCli('train', '--dataset', 'synthetic', '--samples', '64', '--epochs', '2', '--progress', 'off', '--optimizer', 'sgd', '--lr', '0.05', '--shift', '1', '--mirror');
  expect(stdout).toMatch(/DenseNet-BC blocks 2, k=8, cifar stem: [\d,]+ parameters; sgd lr 0\.05 \(constant\)/);
  expect(stdout).toContain('augmented: shifts ≤ 1 px, mirroring');
  expect(stdout).toMatch(/^epoch 1\/2 {2}lr 0\.0500 {2}loss \d+\.\d{4} {2}acc [\d.]+% {2}val_loss/m);
  expect(stdout).toMatch(/^held-out accuracy [\d.]+% \(\d+\/64\)/m);
  expect(stdout).toMatch(/^true\\pred +0 +1 +2 +3$/m);
});

test('bad options are clear errors', async () => {
  await expect(runCli('train', '--optimizer', 'rmsprop')).rejects.toThrow(/Allowed choices are sgd, adam/);
  await expect(runCli('train', '--epochs', '0')).rejects.toThrow(/--epochs must be a positive integer/);
  const saved = process.env.CARDLAB_CIFAR10_DIR;
  delete process.env.CARDLAB_CIFAR10_DIR;
  try {
    await expect(runCli('train', '--dataset', 'cifar10', '--progress', 'off')).rejects.toThrow(/no CIFAR-10 folder given: .*--data-dir DIR/);
    await expect(runCli('train', '--dataset', 'cifar10', '--data-dir', tmp, '--progress', 'off')).rejects.toThrow(/data_batch_1\.bin does not exist/);
  } finally {
    if (saved !== undefined) process.env.CARDLAB_CIFAR10_DIR = saved;
  }
});

test('on wasm it trains data-parallel, one replica per core (--replicas 1: one process); --replicas needs wasm', async () => {
  const parallel = JSON.parse(await runCli('train', '--dataset', 'synthetic', '--samples', '64', '--epochs', '1', '--json', '--progress', 'off', '--backend', 'wasm'));
  expect(parallel).toMatchObject({ backend: 'wasm', replicas: DEFAULT_REPLICAS, history: [expect.objectContaining({ replicas: DEFAULT_REPLICAS })] });
  const single = JSON.parse(await runCli('train', '--dataset', 'synthetic', '--samples', '64', '--epochs', '1', '--json', '--progress', 'off', '--backend', 'wasm', '--replicas', '1'));
  expect(single).toMatchObject({ backend: 'wasm', replicas: 1 });
  expect(single.history[0].replicas).toBeUndefined();
  // The same training: same seed, same batches, batch norm over the whole batch.
  expect(parallel.history[0].loss).toBeCloseTo(single.history[0].loss, 4);
  expect(parallel.testAccuracy).toBeCloseTo(single.testAccuracy, 2);
  const text = await runCli('train', '--dataset', 'synthetic', '--samples', '64', '--epochs', '1', '--progress', 'off', '--backend', 'wasm', '--replicas', '2');
  expect(text).toMatch(/epochs on wasm \(2 replicas\)/);
  expect(text).toMatch(/trained in .* on wasm \(2 replicas\)$/m);
  // Each replica needs a row: a batch of one trains in one process.
  const one = JSON.parse(await runCli('train', '--dataset', 'synthetic', '--samples', '12', '--epochs', '1', '--batch', '1', '--json', '--progress', 'off', '--backend', 'wasm'));
  expect(one).toMatchObject({ replicas: 1, batchSize: 1 });
  await expect(runCli('train', '--dataset', 'synthetic', '--samples', '64', '--epochs', '1', '--progress', 'off', '--backend', 'cpu', '--replicas', '2')).rejects.toThrow(
    '--replicas 2 needs the wasm backend (this run uses cpu)',
  );
}, 120_000);
