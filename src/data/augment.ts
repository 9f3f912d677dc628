/**
 * Data augmentation on ImageSets, as in the paper's "C10+" (random shifts and
 * horizontal mirroring). A fresh random shift per image and epoch shows the
 * network more positions of each digit or object than the set holds, which
 * narrows the gap between training and held-out accuracy on small sets.
 */
import { imageSize, type ImageSet } from './image-set';

export interface AugmentOptions {
  /** Shift each image by up to this many pixels in x and y (vacated pixels are 0). */
  maxShift?: number;
  /** Mirror left–right with probability 1/2 (CIFAR; never for digits). */
  mirror?: boolean;
}

/** A shifted (and maybe mirrored) copy of every image of `set`, drawn from `random`. */
export function augment(set: ImageSet, options: AugmentOptions, random: () => number): ImageSet {
  const { maxShift = 0, mirror = false } = options;
  if (!(Number.isInteger(maxShift) && maxShift >= 0)) throw new Error(`maxShift must be a whole number ≥ 0, got ${maxShift}`);
  if (maxShift === 0 && !mirror) return set;
  const { height: h, width: w, channels: c } = set;
  const size = imageSize(set);
  const images = new Float32Array(set.images.length);
  const draw = () => Math.floor(random() * (2 * maxShift + 1)) - maxShift;
  for (let n = 0; n < set.count; n++) {
    const dy = draw();
    const dx = draw();
    const flip = mirror && random() < 0.5;
    const base = n * size;
    for (let y = 0; y < h; y++) {
      const sy = y - dy;
      if (sy < 0 || sy >= h) continue;
      for (let x = 0; x < w; x++) {
        let sx = x - dx;
        if (sx < 0 || sx >= w) continue;
        if (flip) sx = w - 1 - sx;
        const to = base + (y * w + x) * c;
        const from = base + (sy * w + sx) * c;
        for (let k = 0; k < c; k++) images[to + k] = set.images[from + k];
      }
    }
  }
  return { ...set, images };
}
