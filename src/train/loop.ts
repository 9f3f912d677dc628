/**
 * The training loop: epochs of shuffled mini-batches through trainStep, the
 * learning-rate schedule, validation, per-epoch metrics (to the caller, the
 * JSON-lines log and the progress reporter).
 */
import { tf } from '../tf';
import { seededRandom, shuffledIndices } from '../data/random';
import { subset, toTensors, type ImageSet } from '../data/image-set';
import { augment, type AugmentOptions } from '../data/augment';
import { evaluate } from './evaluate';
import { appendMetricsLine } from './metrics-log';
import { disposeOptimizer, makeOptimizer, setLearningRate, PAPER_MOMENTUM, type OptimizerName } from './optimizer';
import { ProgressReporter } from './progress';
import { changesEveryStep, learningRateAt, type ScheduleName } from './schedule';
import { decayedWeights, outputsProbabilities, trainStep, PAPER_WEIGHT_DECAY } from './step';
import { DataParallelTrainer, replicasAvailable } from '../parallel/data-parallel';
import type { DenseNetConfig } from '../densenet/config';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  learningRate: number;
  /** Default: `step` (the paper's ÷10 at 50% and 75%); `cosine` changes the rate after every step. */
  schedule?: ScheduleName;
  /** SGD only. Default 0.9 (Nesterov). */
  momentum?: number;
  /** Default 1e-4 on conv/dense kernels. */
  weightDecay?: number;
  /** Fixes the order of the batches. Default 0. */
  seed?: number;
  /** Random shifts / mirroring of every training batch (never of the validation set). */
  augment?: AugmentOptions;
  /** Evaluated after every epoch (inference mode). */
  validation?: ImageSet;
  /** One JSON line per epoch is appended here. */
  metricsLog?: string;
  progress?: ProgressReporter;
  /** Called after each epoch with its metrics (e.g. to print a summary or save a checkpoint). */
  onEpochEnd?: (metrics: EpochMetrics) => void | Promise<void>;
  /**
   * Train data-parallel over wasm replicas (src/parallel): the configuration the model was built
   * from, and how many replicas (default `replicasAvailable()`: one per core on wasm where worker
   * threads may start, else 1, i.e. in this process; at most the batch size). The model's weights are brought up to date
   * before each validation and each onEpochEnd; the optimizer state stays in the replicas.
   */
  dataParallel?: { config: DenseNetConfig; replicas?: number };
}

export interface EpochMetrics {
  /** 1-based. */
  epoch: number;
  epochs: number;
  learningRate: number;
  /** Means over the epoch's batches, from the training-mode forward pass. */
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  /** Wall time of the epoch's training steps, and of the validation. */
  seconds: number;
  valSeconds?: number;
  samples: number;
  backend: string;
  /** Data-parallel runs: the replicas (each a wasm backend in a worker thread). */
  replicas?: number;
}

export interface TrainResult {
  history: EpochMetrics[];
  /** Its state (momenta) can continue a run (not after a data-parallel run: that state was the replicas'); free it with disposeOptimizer. */
  optimizer: tf.Optimizer;
}

export async function trainModel(model: tf.LayersModel, train: ImageSet, options: TrainOptions): Promise<TrainResult> {
  const {
    epochs, batchSize, schedule = 'step', weightDecay = PAPER_WEIGHT_DECAY, seed = 0, validation, metricsLog, progress,
  } = options;
  if (!(Number.isInteger(epochs) && epochs > 0)) throw new Error(`epochs must be a positive whole number, got ${epochs}`);
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`batch size must be a positive whole number, got ${batchSize}`);
  if (!(options.learningRate > 0)) throw new Error(`learning rate must be positive, got ${options.learningRate}`);
  if (!(weightDecay >= 0)) throw new Error(`weight decay must be 0 or more, got ${weightDecay}`);

  const optimizer = makeOptimizer(options.optimizer, options.learningRate, options.momentum ?? PAPER_MOMENTUM);
  const stepOptions = {
    optimizer,
    weightDecay,
    trainable: model.trainableWeights.map((w) => w.read() as tf.Variable),
    decayed: decayedWeights(model),
    probabilities: outputsProbabilities(model),
  };
  const replicas = options.dataParallel ? (options.dataParallel.replicas ?? replicasAvailable(batchSize)) : 1;
  // A last batch of one image would give batch norm a zero variance, and each replica needs a row:
  // skip a last batch smaller than that (the next shuffle differs).
  const smallest = Math.max(2, replicas);
  const steps = Math.max(1, Math.floor(train.count / batchSize) + (train.count % batchSize >= smallest ? 1 : 0));
  const history: EpochMetrics[] = [];
  let trainer: DataParallelTrainer | undefined;
  const applyRate = async (rate: number) => (trainer ? trainer.setLearningRate(rate) : setLearningRate(optimizer, rate));

  try {
    if (options.dataParallel && replicas > 1) {
      trainer = await DataParallelTrainer.start({
        config: options.dataParallel.config,
        model,
        optimizer: { name: options.optimizer, learningRate: options.learningRate, momentum: options.momentum ?? PAPER_MOMENTUM },
        weightDecay,
        replicas,
      });
    }
    for (let epoch = 0; epoch < epochs; epoch++) {
      const learningRate = learningRateAt(schedule, options.learningRate, epoch, epochs);
      await applyRate(learningRate);
      const order = shuffledIndices(train.count, seed * 1000003 + epoch);
      const augmentRandom = seededRandom(seed * 1000003 + epoch + 7919);
      progress?.startEpoch(epoch, epochs, steps);
      const started = performance.now();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      for (let step = 0; step < steps; step++) {
        if (step > 0 && changesEveryStep(schedule)) {
          await applyRate(learningRateAt(schedule, options.learningRate, epoch + step / steps, epochs));
        }
        const ids = order.subarray(step * batchSize, Math.min(train.count, (step + 1) * batchSize));
        const { x, y } = options.augment ? toTensors(augment(subset(train, ids), options.augment, augmentRandom)) : toTensors(train, ids);
        try {
          const result = trainer ? await trainer.step(x, y) : await trainStep(model, x, y, stepOptions);
          if (!Number.isFinite(result.loss)) {
            throw new Error(`the loss became ${result.loss} at epoch ${epoch + 1}, step ${step + 1}: lower the learning rate`);
          }
          lossSum += result.loss * ids.length;
          correct += result.correct;
          seen += ids.length;
        } finally {
          tf.dispose([x, y]);
        }
        progress?.update(step + 1, lossSum / seen, correct / seen);
      }
      progress?.endEpoch();
      const metrics: EpochMetrics = {
        epoch: epoch + 1,
        epochs,
        learningRate,
        loss: lossSum / seen,
        accuracy: correct / seen,
        seconds: (performance.now() - started) / 1000,
        samples: seen,
        backend: tf.getBackend(),
        ...(trainer ? { replicas: trainer.replicaCount } : {}),
      };
      await trainer?.pullWeights(); // validation and checkpoints see the trained weights
      if (validation) {
        const valStarted = performance.now();
        const result = await evaluate(model, validation, Math.max(batchSize, 128));
        Object.assign(metrics, { valLoss: result.loss, valAccuracy: result.accuracy, valSeconds: (performance.now() - valStarted) / 1000 });
      }
      history.push(metrics);
      if (metricsLog) appendMetricsLine(metricsLog, metrics);
      await options.onEpochEnd?.(metrics);
    }
  } catch (err) {
    disposeOptimizer(optimizer); // the caller never gets it
    throw err;
  } finally {
    await trainer?.close();
  }
  return { history, optimizer };
}
