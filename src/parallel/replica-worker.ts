/**
 * One replica of a data-parallel trainer (src/parallel/data-parallel.ts), in a worker thread.
 *
 * It starts its own single-threaded wasm backend (its own 4 GB heap), builds the same model and
 * loads the weights it was given, and then trains on the rows each step hands it: batch norm over
 * every replica's rows (sync-batch-norm.ts, and the memory-efficient block through
 * batch-statistics.ts), its loss weighted by its share of the batch, gradients summed across
 * replicas before weight decay and the same optimizer update on every replica. The sums give every
 * replica the same bits, so the weights never diverge and never travel, except when asked for.
 */
import { parentPort, workerData } from 'worker_threads';
import { WASM_THREADS_ENV } from '../backend/wasm-threads';
import { initBackend, tf } from '../tf';
import { buildDenseNet, EfficientDenseBlock } from '../densenet';
import { makeOptimizer, setLearningRate } from '../train/optimizer';
import { trainStep } from '../train/step';
import { setReplicaGroup, sumAcrossReplicas } from './batch-statistics';
import { SharedSum } from './shared-sum';
import { synchronizeBatchNorm } from './sync-batch-norm';
import type { ReplicaRequest, ReplicaResponse, ReplicaSetup } from './protocol';
import { readWeights, writeWeights } from './weights';

async function main(setup: ReplicaSetup): Promise<void> {
  const port = parentPort!;
  const send = (message: ReplicaResponse, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
  const group = new SharedSum(setup.sumBuffer, setup.rank, setup.replicas);
  let failed = false;
  try {
    // One XNNPACK thread per replica: the replicas are the parallelism.
    process.env[WASM_THREADS_ENV] = '1';
    await initBackend('wasm');
    const model = buildDenseNet(setup.config);
    writeWeights(model, setup.weights);
    synchronizeBatchNorm(model);
    // Each replica has its own 4 GB for part of the batch: keep the bottleneck outputs, skip their recomputation.
    for (const layer of model.layers) if (layer instanceof EfficientDenseBlock) layer.keepBottleneck = true;
    setReplicaGroup(group);
    const optimizer = makeOptimizer(setup.optimizer.name, setup.optimizer.learningRate, setup.optimizer.momentum);
    const trainable = model.trainableWeights.map((w) => w.read() as tf.Variable);

    /** All gradients summed across replicas in one sum (trainable order: the same on every replica). */
    const sumGradients = (grads: tf.NamedTensorMap): tf.NamedTensorMap => {
      const names = trainable.map((v) => v.name).filter((name) => grads[name]);
      const { sums } = sumAcrossReplicas(names.map((name) => grads[name]));
      return Object.fromEntries(names.map((name, i) => [name, sums[i]]));
    };

    send({ type: 'ready' });
    port.on('message', async (request: ReplicaRequest) => {
      if (failed) {
        send({ type: 'error', error: 'an earlier request failed on this replica: start a new trainer' });
        return;
      }
      try {
        switch (request.type) {
          case 'step': {
            const [x, y] = [tf.tensor(request.x, request.xShape, 'float32'), tf.tensor(request.y, request.yShape, 'float32')];
            try {
              const run = () =>
                trainStep(model, x, y, {
                  optimizer,
                  weightDecay: setup.weightDecay,
                  trainable,
                  lossWeight: request.lossWeight,
                  reduceGradients: sumGradients,
                });
              if (request.profile) {
                let result: Awaited<ReturnType<typeof run>> | undefined;
                const info = await tf.profile(async () => {
                  result = await run();
                });
                const kernels = info.kernels.map((k) => ({ name: k.name, kernelTimeMs: typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0 }));
                send({ type: 'stepped', ...result!, kernels });
              } else {
                send({ type: 'stepped', ...(await run()) });
              }
            } finally {
              tf.dispose([x, y]);
            }
            break;
          }
          case 'setLearningRate':
            setLearningRate(optimizer, request.learningRate);
            send({ type: 'done' });
            break;
          case 'getWeights': {
            const weights = readWeights(model);
            send({ type: 'weights', weights }, weights.map((w) => w.values.buffer as ArrayBuffer));
            break;
          }
          case 'setWeights':
            writeWeights(model, request.weights);
            send({ type: 'done' });
            break;
        }
      } catch (err) {
        // The others may be waiting for this replica at a cross-replica sum: release them.
        failed = true;
        group.abort();
        send({ type: 'error', error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
      }
    });
  } catch (err) {
    group.abort();
    send({ type: 'error', error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
}

void main(workerData as ReplicaSetup);
