/** Messages between a data-parallel trainer (main thread) and its replicas (worker threads). */
import type { DenseNetConfig } from '../densenet';
import type { OptimizerName } from '../train';

/** One weight tensor by name (tfjs-layers' original name), in `model.weights` order. */
export interface WeightValues {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** One kernel a profiled step ran, and its time (tf.profile's kernelTimeMs). */
export interface KernelTime {
  name: string;
  kernelTimeMs: number;
}

export interface OptimizerSpec {
  name: OptimizerName;
  learningRate: number;
  momentum?: number;
}

/** What a replica is started with (its workerData). */
export interface ReplicaSetup {
  rank: number;
  replicas: number;
  sumBuffer: SharedArrayBuffer;
  config: DenseNetConfig;
  weights: WeightValues[];
  optimizer: OptimizerSpec;
  weightDecay: number;
}

export type ReplicaRequest =
  /** `profile`: run the step under tf.profile and send back its kernels. */
  | { type: 'step'; x: Float32Array; xShape: number[]; y: Float32Array; yShape: number[]; lossWeight: number; profile?: boolean }
  | { type: 'setLearningRate'; learningRate: number }
  | { type: 'getWeights' }
  | { type: 'setWeights'; weights: WeightValues[] };

export type ReplicaResponse =
  | { type: 'ready' }
  | { type: 'stepped'; loss: number; correct: number; kernels?: KernelTime[] }
  | { type: 'done' }
  | { type: 'weights'; weights: WeightValues[] }
  | { type: 'error'; error: string };
