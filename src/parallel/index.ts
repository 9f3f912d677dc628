/** Data-parallel training over worker threads, with batch norm over the whole batch. */
export { DataParallelTrainer, DEFAULT_REPLICAS, replicasAvailable, splitRows, type DataParallelOptions } from './data-parallel';
export type { KernelTime, OptimizerSpec } from './protocol';
