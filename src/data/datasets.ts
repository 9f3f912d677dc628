/** The data sets `cardlab train` knows, by name, as train/test ImageSets. */
import { loadCifar10 } from './cifar10';
import { subset, type ImageSet } from './image-set';
import { loadMnist } from './mnist';
import { shuffledIndices } from './random';
import { syntheticStripes } from './synthetic';

export type DatasetName = 'mnist' | 'cifar10' | 'synthetic';
export const DATASETS: readonly DatasetName[] = ['mnist', 'cifar10', 'synthetic'];

export interface DatasetOptions {
  seed?: number;
  /** mnist: digits used in all (train + test); cifar10: training images used; synthetic: training images. */
  samples?: number;
  /** mnist: share of `samples` held out for testing, from MNIST's test file (default 1/7: all 10,000 of 70,000). */
  testFraction?: number;
  /** cifar10: folder of the binary batches (else $CARDLAB_CIFAR10_DIR). */
  dataDir?: string;
}

export interface LoadedDataset {
  train: ImageSet;
  test: ImageSet;
  /** One line saying what was loaded, for logs. */
  description: string;
}

export function loadDataset(name: DatasetName, options: DatasetOptions = {}): LoadedDataset {
  const { seed = 0, samples } = options;
  switch (name) {
    case 'mnist': {
      const { train, test } = loadMnist({ seed, samples, testFraction: options.testFraction });
      return { train, test, description: `MNIST: ${train.count} training digits and ${test.count} test digits (from the test file, held out)` };
    }
    case 'cifar10': {
      let { train, test } = loadCifar10(options.dataDir);
      if (samples !== undefined && samples < train.count) train = subset(train, shuffledIndices(train.count, seed).subarray(0, samples));
      return { train, test, description: `CIFAR-10: ${train.count} training and ${test.count} test images` };
    }
    case 'synthetic': {
      const count = samples ?? 512;
      const train = syntheticStripes({ count, seed });
      const test = syntheticStripes({ count: Math.max(64, Math.round(count / 4)), seed: seed + 1 });
      return { train, test, description: `synthetic stripes: ${train.count} training and ${test.count} test images` };
    }
    default:
      throw new Error(`unknown dataset ${String(name)}: use one of ${DATASETS.join(', ')}`);
  }
}
