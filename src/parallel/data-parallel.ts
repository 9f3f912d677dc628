/**
 * Data-parallel training on the wasm backend: one replica per core, each a worker thread with its
 * own single-threaded wasm instance (and its own 4 GB heap).
 *
 * Why: tfjs-wasm runs only XNNPACK's kernels (convolutions, matrix products) on its thread pool; the
 * rest of a DenseNet step (batch norm, slices, sums, transposes, the memory-efficient block's
 * JavaScript) runs on one thread. Two replicas that each take half the batch keep both cores busy
 * the whole step. Measured alone on the 2-core machine (DenseNet-BC L=100, batch 64,
 * memory-efficient): one process with the 2-thread pool 9.6–10.4 s a step; two single-threaded
 * processes with 32 rows each, side by side, 6.4–7.0 s each.
 *
 * It trains the same model as one process with the whole batch: each replica's loss is its rows'
 * share of the batch mean and the gradients are summed across replicas (src/train/step.ts); batch
 * norm normalises with the statistics of the whole batch and backpropagates through them
 * (synchronised batch norm, src/parallel/batch-statistics.ts); every replica applies the same
 * update to the same weights. Only dropout differs: each replica draws its own masks.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { tf } from '../tf';
import type { DenseNetConfig } from '../densenet';
import type { StepResult } from '../train';
import type { KernelTime, OptimizerSpec, ReplicaRequest, ReplicaResponse, ReplicaSetup } from './protocol';
import { readWeights, writeWeights } from './weights';
import { abortSharedSum, createSharedSumBuffer } from './shared-sum';

export interface DataParallelOptions {
  config: DenseNetConfig;
  /** The model (built from `config`) whose weights the replicas start from; `pullWeights` updates it. */
  model: tf.LayersModel;
  optimizer: OptimizerSpec;
  weightDecay: number;
  /** Default: DEFAULT_REPLICAS. */
  replicas?: number;
}

/** One replica per core (at least 2, at most 8). */
export const DEFAULT_REPLICAS = Math.min(8, Math.max(2, os.availableParallelism()));

/**
 * How many replicas training here should use: DEFAULT_REPLICAS on the wasm backend when this process
 * may start worker threads, else 1 (one process: other backends thread themselves, and Node's
 * permission model, as in the notebook-cell sandbox, refuses workers without --allow-worker); and
 * at most `batchSize`, since each replica needs a row.
 */
export function replicasAvailable(batchSize = Infinity): number {
  const permission = (process as { permission?: { has(scope: string): boolean } }).permission;
  const workersAllowed = !permission || permission.has('worker');
  return tf.getBackend() === 'wasm' && workersAllowed ? Math.min(DEFAULT_REPLICAS, batchSize) : 1;
}

/** The replica worker: next to this module when compiled, else in the build (tests run the sources). */
function workerScript(): string {
  const candidates = [path.join(__dirname, 'replica-worker.js'), path.join(__dirname, '..', '..', 'dist', 'src', 'parallel', 'replica-worker.js')];
  const found = candidates.find((file) => fs.existsSync(file));
  if (!found) throw new Error(`the data-parallel replica worker is not built (looked for ${candidates.join(', ')}): run npm run build`);
  return found;
}

/** How many rows each replica gets: as even as possible, the first ones one more. */
export function splitRows(rows: number, replicas: number): number[] {
  if (rows < replicas) throw new Error(`a batch of ${rows} rows cannot be split over ${replicas} replicas (each needs a row for its batch norm)`);
  const base = Math.floor(rows / replicas);
  return Array.from({ length: replicas }, (_, r) => base + (r < rows % replicas ? 1 : 0));
}

class Replica {
  private pending?: { resolve: (m: ReplicaResponse) => void; reject: (e: Error) => void };
  private failure?: Error;

  constructor(
    readonly worker: Worker,
    private readonly onFailure: (error: Error) => void,
  ) {
    worker.on('message', (message: ReplicaResponse) => {
      const pending = this.settle();
      if (message.type === 'error') pending?.reject(new Error(`data-parallel replica failed: ${message.error}`));
      else pending?.resolve(message);
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(`data-parallel replica exited (code ${code})`)));
  }

  private settle() {
    const pending = this.pending;
    this.pending = undefined;
    this.worker.unref(); // idle replicas do not keep the process alive
    return pending;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.onFailure(error);
    this.settle()?.reject(error);
  }

  /** The next message from the replica (its answer to `request`, or 'ready'). */
  next(): Promise<ReplicaResponse> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending) return Promise.reject(new Error('a replica was asked twice at once'));
    this.worker.ref();
    return new Promise((resolve, reject) => (this.pending = { resolve, reject }));
  }

  request(message: ReplicaRequest, transfer: ArrayBuffer[] = []): Promise<ReplicaResponse> {
    const answer = this.next();
    if (!this.failure) this.worker.postMessage(message, transfer);
    return answer;
  }
}

export class DataParallelTrainer {
  private busy = false;

  private constructor(
    private readonly replicas: Replica[],
    private readonly sumBuffer: SharedArrayBuffer,
    private readonly model: tf.LayersModel,
  ) {}

  /** Starts the replicas with `model`'s weights; resolves when every one is ready to train. */
  static async start(options: DataParallelOptions): Promise<DataParallelTrainer> {
    const count = options.replicas ?? DEFAULT_REPLICAS;
    const weights = readWeights(options.model);
    const trainableValues = options.model.trainableWeights.reduce((n, w) => n + tf.util.sizeFromShape(w.shape as number[]), 0);
    const widest = Math.max(0, ...options.model.weights.map((w) => w.shape[w.shape.length - 1] ?? 0));
    // Room for every gradient at once, or a batch norm's two channel sums, plus the row count every sum carries.
    const sumBuffer = createSharedSumBuffer(count, Math.max(trainableValues, 2 * widest) + 1);
    const script = workerScript();
    const replicas: Replica[] = [];
    const abort = () => abortSharedSum(sumBuffer);
    for (let rank = 0; rank < count; rank++) {
      const setup: ReplicaSetup = {
        rank,
        replicas: count,
        sumBuffer,
        config: options.config,
        weights,
        optimizer: options.optimizer,
        weightDecay: options.weightDecay,
      };
      replicas.push(new Replica(new Worker(script, { workerData: setup }), abort));
    }
    const trainer = new DataParallelTrainer(replicas, sumBuffer, options.model);
    try {
      await Promise.all(replicas.map((r) => r.next()));
    } catch (err) {
      await trainer.close();
      throw err;
    }
    return trainer;
  }

  get replicaCount(): number {
    return this.replicas.length;
  }

  /** One training step on the batch (x, one-hot y), its rows split over the replicas. */
  async step(x: tf.Tensor, y: tf.Tensor): Promise<StepResult> {
    return (await this.run(x, y, false)).result;
  }

  /** A step under tf.profile: its result and the kernels the first replica ran (the others run the same). */
  async profileStep(x: tf.Tensor, y: tf.Tensor): Promise<{ result: StepResult; kernels: KernelTime[] }> {
    const { result, kernels } = await this.run(x, y, true);
    return { result, kernels: kernels ?? [] };
  }

  private async run(x: tf.Tensor, y: tf.Tensor, profile: boolean): Promise<{ result: StepResult; kernels?: KernelTime[] }> {
    const rows = splitRows(x.shape[0], this.replicas.length);
    const [xs, ys] = [x.dataSync() as Float32Array, y.dataSync() as Float32Array];
    const xRow = x.size / x.shape[0];
    const yRow = y.size / y.shape[0];
    let start = 0;
    const answers = await this.exclusive(() =>
      this.replicas.map((replica, r) => {
        const [from, n] = [start, rows[r]];
        start += n;
        const xPart = xs.slice(from * xRow, (from + n) * xRow);
        const yPart = ys.slice(from * yRow, (from + n) * yRow);
        return replica.request(
          { type: 'step', x: xPart, xShape: [n, ...x.shape.slice(1)], y: yPart, yShape: [n, ...y.shape.slice(1)], lossWeight: n / x.shape[0], profile },
          [xPart.buffer, yPart.buffer],
        );
      }),
    );
    let loss = 0;
    let correct = 0;
    for (const a of answers) {
      if (a.type !== 'stepped') throw new Error(`unexpected replica answer ${a.type}`);
      loss += a.loss;
      correct += a.correct;
    }
    const first = answers[0];
    return { result: { loss, correct }, kernels: first.type === 'stepped' ? first.kernels : undefined };
  }

  async setLearningRate(learningRate: number): Promise<void> {
    await this.exclusive(() => this.replicas.map((r) => r.request({ type: 'setLearningRate', learningRate })));
  }

  /** Copies the replicas' weights (all equal) into the model, e.g. to evaluate or save it. */
  async pullWeights(): Promise<void> {
    const [answer] = await this.exclusive(() => [this.replicas[0].request({ type: 'getWeights' })]);
    if (answer.type !== 'weights') throw new Error(`unexpected replica answer ${answer.type}`);
    writeWeights(this.model, answer.weights);
  }

  /** Stops the replicas (their wasm heaps go with them). */
  async close(): Promise<void> {
    abortSharedSum(this.sumBuffer);
    await Promise.all(this.replicas.map((r) => r.worker.terminate()));
  }

  private async exclusive(requests: () => Promise<ReplicaResponse>[]): Promise<ReplicaResponse[]> {
    if (this.busy) throw new Error('the data-parallel trainer is already running a request');
    this.busy = true;
    try {
      // Every replica answers (a failed one releases the others) before the next request goes out.
      const settled = await Promise.allSettled(requests());
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      return settled.map((s) => (s as PromiseFulfilledResult<ReplicaResponse>).value);
    } finally {
      this.busy = false;
    }
  }
}
