/**
 * Synthetic image sets for fast tests: class c is a stripe pattern at angle
 * c·180°/classes, with a random phase (so position alone does not tell the
 * class) and Gaussian noise. A 3×3 conv with global pooling learns it in a
 * few dozen steps, so tests can check that training works in seconds.
 */
import { gaussian, seededRandom } from './random';
import { checkImageSet, type ImageSet } from './image-set';

export interface SyntheticOptions {
  count: number;
  classes?: number;
  /** Side of the square images. */
  size?: number;
  channels?: number;
  /** Standard deviation of the added noise (pixels are clipped to [0, 1]). */
  noise?: number;
  /** Stripe period in pixels. */
  period?: number;
  seed?: number;
}

export function syntheticStripes(options: SyntheticOptions): ImageSet {
  const { count, classes = 4, size = 12, channels = 1, noise = 0.1, period = 4, seed = 0 } = options;
  if (!(Number.isInteger(count) && count > 0)) throw new Error(`count must be a positive whole number, got ${count}`);
  if (!(Number.isInteger(classes) && classes >= 2 && classes <= 255)) throw new Error(`classes must be 2–255, got ${classes}`);
  const random = seededRandom(seed);
  const images = new Float32Array(count * size * size * channels);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const label = i % classes; // balanced classes
    labels[i] = label;
    const angle = (Math.PI * label) / classes;
    const [dx, dy] = [Math.cos(angle), Math.sin(angle)];
    const phase = 2 * Math.PI * random();
    let at = i * size * size * channels;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const stripe = 0.5 + 0.5 * Math.cos((2 * Math.PI * (x * dx + y * dy)) / period + phase);
        for (let c = 0; c < channels; c++) {
          images[at++] = Math.min(1, Math.max(0, stripe + noise * gaussian(random)));
        }
      }
    }
  }
  return checkImageSet({ images, labels, count, height: size, width: size, channels, classes });
}
