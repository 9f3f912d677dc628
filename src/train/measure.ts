/**
 * Memory and time of one training step of a CIFAR DenseNet-BC (k=12, 32×32×3)
 * in this process: tf.profile's peakBytes (the largest total size of live
 * tensors after any kernel of the step: weights, optimizer slots and data
 * included) and the median wall time. Used by notebook 6 and by the memory
 * benchmark (bench/memory.ts), which runs it in child processes.
 */
import { BackendName, initBackend, tf } from '../tf';
import { buildDenseNet, cifarConfig, paperDepth } from '../densenet';
import { makeOptimizer } from './optimizer';
import { PAPER_WEIGHT_DECAY, trainStep } from './step';

export interface StepSpec {
  /** Paper depth L of the CIFAR DenseNet-BC. */
  depth: number;
  batch: number;
  memoryEfficient: boolean;
  growthRate?: number;
  backend?: BackendName;
  /** Steps timed after the profiled (warm-up) one; the median is reported. */
  timedSteps?: number;
  seed?: number;
}

export interface StepMeasurement {
  backend: string;
  /** tf.profile peakBytes of the first training step. */
  peakBytes: number;
  /** Median wall time of the timed steps. */
  ms: number;
  loss: number;
  /** Size of the wasm heap after the steps (it only grows), when the backend is wasm. */
  wasmHeapBytes: number | null;
  /** Peak resident set size of the measuring process. */
  maxRssBytes: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** One profiled training step then `timedSteps` timed ones, in this process. */
export async function measureTrainingStep(spec: StepSpec): Promise<StepMeasurement> {
  const backend = await initBackend(spec.backend);
  const { depth, batch, memoryEfficient, growthRate = 12, timedSteps = 2, seed = 1 } = spec;
  const config = cifarConfig({ depth, growthRate, bottleneck: true, compression: 0.5, memoryEfficient });
  if (paperDepth(config) !== depth) throw new Error(`no CIFAR DenseNet-BC has depth ${depth} (L = 6n + 4)`);
  const model = buildDenseNet(config, { seed });
  const x = tf.randomNormal([batch, ...config.inputShape], 0, 1, 'float32', seed);
  const y = tf.tidy(() => tf.oneHot(tf.randomUniform([batch], 0, config.classes, 'int32', seed) as tf.Tensor1D, config.classes));
  const optimizer = makeOptimizer('sgd', 0.1);
  const step = () => trainStep(model, x, y, { optimizer, weightDecay: PAPER_WEIGHT_DECAY });
  try {
    let loss = NaN;
    const profile = await tf.profile(async () => {
      loss = (await step()).loss;
    });
    const times: number[] = [];
    for (let i = 0; i < timedSteps; i++) {
      const start = performance.now();
      loss = (await step()).loss;
      times.push(performance.now() - start);
    }
    const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm;
    return {
      backend,
      peakBytes: profile.peakBytes,
      ms: times.length > 0 ? median(times) : NaN,
      loss,
      wasmHeapBytes: backend === 'wasm' && wasm?.HEAPU8 ? wasm.HEAPU8.byteLength : null,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
    };
  } finally {
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  }
}
