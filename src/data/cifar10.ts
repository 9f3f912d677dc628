/**
 * CIFAR-10 reader for the official binary version (cifar-10-binary.tar.gz from
 * https://www.cs.toronto.edu/~kriz/cifar.html): data_batch_1.bin … data_batch_5.bin
 * and test_batch.bin, each 10,000 records of 1 label byte + 3,072 pixel bytes,
 * the pixels channel-planar (1,024 red, then green, then blue, rows top to bottom).
 */
import * as fs from 'fs';
import * as path from 'path';
import { checkImageSet, concatSets, type ImageSet } from './image-set';

export const CIFAR_SIDE = 32;
const PLANE = CIFAR_SIDE * CIFAR_SIDE;
const PIXEL_BYTES = 3 * PLANE;
export const CIFAR_RECORD_BYTES = 1 + PIXEL_BYTES;
/** Records in each official batch file. */
export const CIFAR_RECORDS_PER_FILE = 10000;
export const CIFAR_TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const CIFAR_TEST_FILE = 'test_batch.bin';
export const CIFAR_CLASS_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
/** Environment variable naming the folder that holds the batch files (the `--data-dir` option wins). */
export const CIFAR_DIR_ENV = 'CARDLAB_CIFAR10_DIR';

const HOW_TO_GET = `download the binary version (cifar-10-binary.tar.gz) from https://www.cs.toronto.edu/~kriz/cifar.html, extract it, and pass its folder with --data-dir DIR or ${CIFAR_DIR_ENV}=DIR`;

/** Decodes records (label byte + channel-planar pixels) into NHWC floats in [0, 1]. `source` names the file in errors. */
export function decodeCifarRecords(bytes: Uint8Array, source: string, expectedRecords?: number): ImageSet {
  const expected = expectedRecords === undefined ? undefined : expectedRecords * CIFAR_RECORD_BYTES;
  if (expected !== undefined ? bytes.length !== expected : bytes.length === 0 || bytes.length % CIFAR_RECORD_BYTES !== 0) {
    const want = expected !== undefined
      ? `${expected} bytes (${expectedRecords} records of ${CIFAR_RECORD_BYTES} bytes: 1 label + 3072 pixels)`
      : `a non-zero multiple of ${CIFAR_RECORD_BYTES} bytes (1 label + 3072 pixels per record)`;
    throw new Error(`CIFAR-10 file ${source} is ${bytes.length} bytes; expected ${want}. Is it truncated or not a CIFAR-10 binary batch?`);
  }
  const count = bytes.length / CIFAR_RECORD_BYTES;
  const images = new Float32Array(count * PIXEL_BYTES);
  const labels = new Uint8Array(count);
  for (let r = 0; r < count; r++) {
    const at = r * CIFAR_RECORD_BYTES;
    const label = bytes[at];
    if (label > 9) {
      throw new Error(
        `CIFAR-10 file ${source}: record ${r} has label ${label}, but CIFAR-10 labels are 0–9 (a CIFAR-100 file has 2 label bytes per record; expected ${CIFAR_RECORD_BYTES}-byte CIFAR-10 records)`,
      );
    }
    labels[r] = label;
    const out = r * PIXEL_BYTES;
    for (let c = 0; c < 3; c++) {
      const plane = at + 1 + c * PLANE;
      for (let p = 0; p < PLANE; p++) images[out + p * 3 + c] = bytes[plane + p] / 255;
    }
  }
  return checkImageSet({ images, labels, count, height: CIFAR_SIDE, width: CIFAR_SIDE, channels: 3, classes: 10 });
}

/** Encodes a 32×32×3 set back into the binary record format (pixels rounded to bytes). */
export function encodeCifarRecords(set: ImageSet): Uint8Array {
  if (set.height !== CIFAR_SIDE || set.width !== CIFAR_SIDE || set.channels !== 3) {
    throw new Error(`CIFAR-10 records hold 32×32×3 images, not ${set.height}×${set.width}×${set.channels}`);
  }
  const bytes = new Uint8Array(set.count * CIFAR_RECORD_BYTES);
  for (let r = 0; r < set.count; r++) {
    const at = r * CIFAR_RECORD_BYTES;
    bytes[at] = set.labels[r];
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < PLANE; p++) {
        const v = set.images[r * PIXEL_BYTES + p * 3 + c];
        bytes[at + 1 + c * PLANE + p] = Math.max(0, Math.min(255, Math.round(v * 255)));
      }
    }
  }
  return bytes;
}

/** Reads one batch file; `expectedRecords` (10,000 for official files) makes any other size an error. */
export function readCifarBatch(file: string, expectedRecords?: number): ImageSet {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`CIFAR-10 file ${file} does not exist: ${HOW_TO_GET}`);
    }
    throw err;
  }
  return decodeCifarRecords(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), file, expectedRecords);
}

/**
 * The folder that holds the batch files: `dir` (else $CARDLAB_CIFAR10_DIR), or its
 * `cifar-10-batches-bin` subfolder as the archive extracts it.
 */
export function resolveCifarDir(dir: string | undefined = process.env[CIFAR_DIR_ENV]): string {
  if (!dir) throw new Error(`no CIFAR-10 folder given: ${HOW_TO_GET}`);
  const nested = path.join(dir, 'cifar-10-batches-bin');
  if (!fs.existsSync(path.join(dir, CIFAR_TEST_FILE)) && fs.existsSync(path.join(nested, CIFAR_TEST_FILE))) return nested;
  return dir;
}

export interface Cifar10Options {
  /** Records per file; official files hold 10,000 and any other size is an error. */
  recordsPerFile?: number;
}

/** The 50,000 training and 10,000 test images of a downloaded CIFAR-10 binary copy. */
export function loadCifar10(dir?: string, options: Cifar10Options = {}): { train: ImageSet; test: ImageSet } {
  const folder = resolveCifarDir(dir);
  const records = options.recordsPerFile ?? CIFAR_RECORDS_PER_FILE;
  return {
    train: concatSets(CIFAR_TRAIN_FILES.map((name) => readCifarBatch(path.join(folder, name), records))),
    test: readCifarBatch(path.join(folder, CIFAR_TEST_FILE), records),
  };
}
