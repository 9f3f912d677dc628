/**
 * ImageSet: a labelled set of images held in plain typed arrays (NHWC, floats
 * in [0, 1]), so it costs no tensor memory until a batch is needed and works
 * the same on every backend.
 */
import { tf } from '../tf';

export interface ImageSet {
  /** count × height × width × channels floats, image after image (NHWC). */
  images: Float32Array;
  /** One class index per image. */
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
  channels: number;
  classes: number;
}

export function imageSize(set: Pick<ImageSet, 'height' | 'width' | 'channels'>): number {
  return set.height * set.width * set.channels;
}

/** Checks that the arrays agree with the declared shape; every builder of an ImageSet calls this. */
export function checkImageSet(set: ImageSet): ImageSet {
  if (set.images.length !== set.count * imageSize(set)) {
    throw new Error(
      `image set holds ${set.images.length} pixel values, expected ${set.count} × ${set.height}×${set.width}×${set.channels}`,
    );
  }
  if (set.labels.length !== set.count) {
    throw new Error(`image set holds ${set.labels.length} labels for ${set.count} images`);
  }
  const bad = set.labels.findIndex((label) => label >= set.classes);
  if (bad >= 0) throw new Error(`label ${set.labels[bad]} of image ${bad} is not below ${set.classes} classes`);
  return set;
}

/** The images at `indices`, in that order, as a new set. */
export function subset(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const size = imageSize(set);
  const images = new Float32Array(indices.length * size);
  const labels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i];
    if (!(from >= 0 && from < set.count)) throw new Error(`index ${from} is outside the set of ${set.count} images`);
    images.set(set.images.subarray(from * size, (from + 1) * size), i * size);
    labels[i] = set.labels[from];
  }
  return { ...set, images, labels, count: indices.length };
}

/** Concatenates sets of the same image shape and classes. */
export function concatSets(sets: ImageSet[]): ImageSet {
  if (sets.length === 0) throw new Error('concatSets needs at least one set');
  const [first] = sets;
  for (const s of sets) {
    if (s.height !== first.height || s.width !== first.width || s.channels !== first.channels || s.classes !== first.classes) {
      throw new Error('concatSets: the sets differ in image shape or number of classes');
    }
  }
  const count = sets.reduce((n, s) => n + s.count, 0);
  const images = new Float32Array(count * imageSize(first));
  const labels = new Uint8Array(count);
  let at = 0;
  for (const s of sets) {
    images.set(s.images, at * imageSize(first));
    labels.set(s.labels, at);
    at += s.count;
  }
  return { ...first, images, labels, count };
}

/** Images [n, h, w, c] and one-hot labels [n, classes] for the images at `indices` (all when omitted). */
export function toTensors(set: ImageSet, indices?: ArrayLike<number>): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const part = indices ? subset(set, indices) : set;
  return tf.tidy(() => ({
    x: tf.tensor4d(part.images, [part.count, part.height, part.width, part.channels]),
    y: tf.oneHot(tf.tensor1d(part.labels, 'int32'), part.classes).toFloat() as tf.Tensor2D,
  }));
}

/** How many images of each class the set holds. */
export function classCounts(set: ImageSet): number[] {
  const counts = new Array<number>(set.classes).fill(0);
  for (const label of set.labels) counts[label]++;
  return counts;
}
