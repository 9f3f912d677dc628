/**
 * `cardlab train`: trains a DenseNet-BC on MNIST (default), CIFAR-10 or a
 * synthetic set, prints one summary line per epoch (stdout) with progress on
 * stderr, evaluates on the held-out set, and with --out saves the weights
 * (model.json + weights.bin), the metrics log and a run summary.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { BACKENDS, initBackend, type BackendName } from '../tf';
import { DATASETS, loadDataset, type DatasetName } from '../data/datasets';
import { CIFAR_DIR_ENV } from '../data/cifar10';
import { buildDenseNet } from '../densenet/build';
import { cifarBlockLayers } from '../densenet/presets';
import { variantName, type DenseNetConfig } from '../densenet/config';
import { defaultRecipe } from '../train/recipes';
import { trainModel, type EpochMetrics } from '../train/loop';
import { evaluate, type Evaluation } from '../train/evaluate';
import { chooseProgressMode, formatDuration, ProgressReporter, PROGRESS_MODES, type ProgressMode } from '../train/progress';
import { saveModel } from '../train/fs-io';
import { disposeOptimizer, OPTIMIZERS, type OptimizerName } from '../train/optimizer';
import { SCHEDULES, type ScheduleName } from '../train/schedule';
import { DEFAULT_REPLICAS, replicasAvailable } from '../parallel/data-parallel';

export const METRICS_FILE = 'metrics.jsonl';
export const RUN_FILE = 'run.json';

interface TrainCliOptions {
  dataset: DatasetName;
  dataDir?: string;
  epochs?: number;
  batch?: number;
  lr?: number;
  optimizer?: OptimizerName;
  schedule?: ScheduleName;
  weightDecay?: number;
  samples?: number;
  testFraction?: number;
  shift?: number;
  mirror?: boolean;
  seed: number;
  depth?: number;
  blocks?: number[];
  growth?: number;
  out?: string;
  backend?: BackendName;
  replicas?: number;
  progress: ProgressMode | 'auto';
  json?: boolean;
}

function positiveInt(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new InvalidArgumentError(`${flag} must be a positive integer (got "${value}").`);
    return Number(value);
  };
}

function nonNegativeInt(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`${flag} must be a whole number (got "${value}").`);
    return Number(value);
  };
}

function numberWhere(flag: string, ok: (n: number) => boolean, what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new InvalidArgumentError(`${flag} must be ${what} (got "${value}").`);
    return n;
  };
}

function blockList(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.length === 0 || !parts.every((s) => /^\d+$/.test(s) && Number(s) > 0)) {
    throw new InvalidArgumentError(`--blocks must be comma-separated positive integers, e.g. 4,4 (got "${value}").`);
  }
  return parts.map(Number);
}

/** The recipe's model with the command line's changes. */
function modelConfig(base: DenseNetConfig, opts: TrainCliOptions): DenseNetConfig {
  const config = { ...base };
  if (opts.growth !== undefined) {
    config.growthRate = opts.growth;
    config.initFeatures = 2 * opts.growth; // DenseNet-BC stem width
  }
  if (opts.depth !== undefined) {
    if (config.stem !== 'cifar') throw new Error('--depth describes the three-block CIFAR network; use --blocks for this data set\'s model');
    const perBlock = cifarBlockLayers(opts.depth, config.bottleneck);
    config.blocks = [perBlock, perBlock, perBlock];
  }
  if (opts.blocks) config.blocks = opts.blocks;
  return config;
}

function epochLine(m: EpochMetrics): string {
  const val = m.valAccuracy === undefined ? '' : `  val_loss ${m.valLoss!.toFixed(4)}  val_acc ${(100 * m.valAccuracy).toFixed(2)}%`;
  return `epoch ${m.epoch}/${m.epochs}  lr ${m.learningRate.toPrecision(3)}  loss ${m.loss.toFixed(4)}  acc ${(100 * m.accuracy).toFixed(2)}%${val}  ${m.seconds.toFixed(1)}s`;
}

function confusionTable(evaluation: Evaluation): string {
  const width = Math.max(4, String(evaluation.count).length + 1);
  const cell = (s: string | number) => String(s).padStart(width);
  const header = `${'true\\pred'.padEnd(9)}${evaluation.confusion.map((_, i) => cell(i)).join('')}`;
  const rows = evaluation.confusion.map((row, i) => `${String(i).padEnd(9)}${row.map(cell).join('')}`);
  return [header, ...rows].join('\n');
}

/** "wasm", or "wasm (2 replicas)" for a data-parallel run. */
function backendLabel(backend: string, replicas: number): string {
  return replicas > 1 ? `${backend} (${replicas} replicas)` : backend;
}

export async function runTrain(opts: TrainCliOptions): Promise<void> {
  const backend = await initBackend(opts.backend);
  const recipe = defaultRecipe(opts.dataset);
  const config = modelConfig(recipe.model, opts);
  const settings = {
    epochs: opts.epochs ?? recipe.epochs,
    batchSize: opts.batch ?? recipe.batchSize,
    optimizer: opts.optimizer ?? recipe.optimizer,
    learningRate: opts.lr ?? recipe.learningRate,
    schedule: opts.schedule ?? recipe.schedule,
    weightDecay: opts.weightDecay ?? recipe.weightDecay,
    augment: { maxShift: opts.shift ?? recipe.augment?.maxShift ?? 0, mirror: opts.mirror ?? recipe.augment?.mirror ?? false },
    seed: opts.seed,
  };
  const data = loadDataset(opts.dataset, { seed: opts.seed, samples: opts.samples, testFraction: opts.testFraction, dataDir: opts.dataDir });
  const inputShape: [number, number, number] = [data.train.height, data.train.width, data.train.channels];
  const modelConfigFull = { ...config, inputShape, classes: data.train.classes };
  const model = buildDenseNet(modelConfigFull, { seed: opts.seed });
  // wasm runs tfjs's own kernels on one thread: one replica per core keeps every core busy (src/parallel).
  const replicas = opts.replicas ?? replicasAvailable(settings.batchSize);
  if (replicas > 1 && backend !== 'wasm') throw new Error(`--replicas ${replicas} needs the wasm backend (this run uses ${backend})`);
  const say = (line: string) => { if (!opts.json) console.log(line); };
  say(data.description);
  say(
    `${variantName(config)} blocks ${config.blocks.join('-')}, k=${config.growthRate}, ${config.stem} stem: ` +
      `${model.countParams().toLocaleString('en-US')} parameters; ${settings.optimizer} lr ${settings.learningRate} (${settings.schedule}), ` +
      `weight decay ${settings.weightDecay}, batch ${settings.batchSize}, ${settings.epochs} epochs on ${backendLabel(backend, replicas)}` +
      (settings.augment.maxShift > 0 || settings.augment.mirror
        ? `; augmented: shifts ≤ ${settings.augment.maxShift} px${settings.augment.mirror ? ', mirroring' : ''}`
        : ''),
  );

  const metricsLog = opts.out ? path.join(opts.out, METRICS_FILE) : undefined;
  if (opts.out) {
    fs.mkdirSync(opts.out, { recursive: true });
    fs.rmSync(metricsLog!, { force: true }); // the log describes the weights saved beside it: this run's
  }
  const progress = new ProgressReporter({ mode: chooseProgressMode(opts.progress, process.stderr) });
  const started = performance.now();
  const { history, optimizer } = await trainModel(model, data.train, {
    ...settings,
    validation: data.test,
    ...(replicas > 1 ? { dataParallel: { config: modelConfigFull, replicas } } : {}),
    metricsLog,
    progress,
    onEpochEnd: async (m) => {
      say(epochLine(m));
      if (opts.out) await saveModel(model, opts.out); // a checkpoint per epoch: an interrupted run keeps its weights
    },
  });
  disposeOptimizer(optimizer);
  const trainSeconds = (performance.now() - started) / 1000;
  const final = await evaluate(model, data.test);
  const summary = {
    dataset: opts.dataset,
    backend,
    replicas,
    model: { ...config, inputShape, classes: data.train.classes, parameters: model.countParams() },
    ...settings,
    trainSamples: data.train.count,
    testSamples: data.test.count,
    testAccuracy: final.accuracy,
    testLoss: final.loss,
    confusion: final.confusion,
    seconds: trainSeconds,
    history,
  };
  if (opts.out) fs.writeFileSync(path.join(opts.out, RUN_FILE), JSON.stringify(summary, null, 2) + '\n');
  if (opts.json) {
    console.log(JSON.stringify(summary));
  } else {
    const correct = Math.round(final.accuracy * final.count);
    console.log(`held-out accuracy ${(100 * final.accuracy).toFixed(2)}% (${correct}/${final.count}), loss ${final.loss.toFixed(4)}; trained in ${formatDuration(trainSeconds)} on ${backendLabel(backend, replicas)}`);
    console.log(confusionTable(final));
    if (opts.out) console.log(`saved ${path.join(opts.out, 'model.json')}, weights.bin, ${METRICS_FILE} and ${RUN_FILE}`);
  }
  model.dispose();
}

export function registerTrainCommands(program: Command): void {
  program
    .command('train')
    .description('train a DenseNet-BC (default: a small one on MNIST, ≥ 99% on its 10,000 test digits in under 5 minutes on 2 cores)')
    .addOption(new Option('--dataset <name>', 'data set').choices(DATASETS).default('mnist'))
    .option('--data-dir <dir>', `CIFAR-10 binary folder (data_batch_1.bin … test_batch.bin); default $${CIFAR_DIR_ENV}`)
    .option('--epochs <n>', 'epochs (default: the data set\'s recipe)', positiveInt('--epochs'))
    .option('--batch <n>', 'mini-batch size', positiveInt('--batch'))
    .option('--lr <rate>', 'initial learning rate', numberWhere('--lr', (n) => n > 0, 'a positive number'))
    .addOption(new Option('--optimizer <name>', 'sgd (Nesterov momentum 0.9, the paper\'s) or adam').choices(OPTIMIZERS))
    .addOption(new Option('--schedule <name>', 'step (÷10 at 50% and 75% of the epochs), cosine (smoothly to 0, every step) or constant').choices(SCHEDULES))
    .option('--weight-decay <l2>', 'L2 on conv/dense kernels (default 1e-4)', numberWhere('--weight-decay', (n) => n >= 0, '0 or more'))
    .option('--samples <n>', 'mnist: digits used in all (train + test); cifar10/synthetic: training images', positiveInt('--samples'))
    .option('--test-fraction <f>', 'mnist: share of --samples held out, from the test file (default 1/7: the official 10,000 of 70,000)', numberWhere('--test-fraction', (n) => n > 0 && n < 1, 'between 0 and 1'))
    .option('--shift <px>', 'augment: random shifts of up to px pixels (0 = none; default: the recipe\'s, 4 for cifar10, none for mnist)', nonNegativeInt('--shift'))
    .option('--mirror', 'augment: random left–right mirroring (default for cifar10)')
    .option('--no-mirror', 'no mirroring')
    .option('--seed <n>', 'fixes the split, the initial weights and the batch order', nonNegativeInt('--seed'), 0)
    .option('--depth <L>', 'three-block CIFAR-style network of depth L (cifar10)', positiveInt('--depth'))
    .option('--blocks <list>', 'layers per dense block, e.g. 4,4', blockList)
    .option('--growth <k>', 'growth rate k', positiveInt('--growth'))
    .option('--out <dir>', `save model.json + weights.bin (every epoch), ${METRICS_FILE} and ${RUN_FILE} here`)
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend (default: the fastest that loads)').choices(BACKENDS))
    .option('--replicas <n>', `wasm: train data-parallel over n replicas, one thread each, batch norm over the whole batch (default ${DEFAULT_REPLICAS}, one per core; 1 = one process)`, positiveInt('--replicas'))
    .addOption(new Option('--progress <mode>', 'progress on stderr: a bar on a terminal, lines otherwise').choices(['auto', ...PROGRESS_MODES]).default('auto'))
    .option('--json', 'print only the run summary as JSON on stdout')
    .action(async (opts: TrainCliOptions) => {
      await runTrain(opts);
    });
}
