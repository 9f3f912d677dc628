/** A model's weights as plain arrays, to send between the main thread and the replicas. */
import { tf } from '../tf';
import type { WeightValues } from './protocol';

/** Every weight (trainable, then the rest: tfjs-layers' `model.weights` order) by name and shape. */
export function readWeights(model: tf.LayersModel): WeightValues[] {
  return model.weights.map((w) => ({ name: w.originalName, shape: w.shape as number[], values: w.read().dataSync() as Float32Array }));
}

/** Writes weights read from a model built from the same configuration; a mismatch is an error. */
export function writeWeights(model: tf.LayersModel, weights: WeightValues[]): void {
  if (weights.length !== model.weights.length) {
    throw new Error(`expected ${model.weights.length} weight tensors, got ${weights.length}`);
  }
  weights.forEach((w, i) => {
    const own = model.weights[i];
    if (w.name !== own.originalName || w.shape.join() !== own.shape.join()) {
      throw new Error(`weight ${i} is ${w.name} [${w.shape}], the model's is ${own.originalName} [${own.shape}]`);
    }
  });
  weights.forEach((w, i) =>
    tf.tidy(() => {
      model.weights[i].write(tf.tensor(w.values, w.shape, 'float32'));
    }),
  );
}
