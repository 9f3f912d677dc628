/**
 * Evaluation in inference mode (batch norm uses its moving averages): loss, accuracy, confusion matrix.
 * The arg max of logits is the arg max of their softmax, so the classes need no softmax; the loss is
 * the softmax cross-entropy of the logits.
 */
import { tf } from '../tf';
import { toTensors, type ImageSet } from '../data/image-set';
import { crossEntropy, outputsProbabilities } from './step';

export interface Evaluation {
  loss: number;
  accuracy: number;
  count: number;
  /** confusion[actual][predicted] = how many images of class `actual` were predicted as `predicted`. */
  confusion: number[][];
}

/** Counts (actual, predicted) pairs into a classes × classes matrix. */
export function confusionMatrix(actual: ArrayLike<number>, predicted: ArrayLike<number>, classes: number): number[][] {
  if (actual.length !== predicted.length) throw new Error(`${actual.length} labels but ${predicted.length} predictions`);
  const matrix = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < actual.length; i++) matrix[actual[i]][predicted[i]]++;
  return matrix;
}

/**
 * Class probabilities for a batch `x` in inference mode: the softmax of the model's logits (the
 * DenseNet and ResNet builders end in logits), or the output itself for a model that already ends
 * in a softmax (e.g. one saved before the classifiers switched to logits).
 */
export function predictProbabilities(model: tf.LayersModel, x: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const output = model.predict(x) as tf.Tensor2D;
    return outputsProbabilities(model) ? output : tf.softmax(output);
  });
}

/** Class predicted for each image (batched so that big sets fit in memory). */
export async function predictClasses(model: tf.LayersModel, set: ImageSet, batchSize = 128): Promise<Int32Array> {
  const out = new Int32Array(set.count);
  for (let start = 0; start < set.count; start += batchSize) {
    const ids = range(start, Math.min(set.count, start + batchSize));
    const { x, y } = toTensors(set, ids);
    const classes = tf.tidy(() => (model.predict(x) as tf.Tensor).argMax(-1));
    out.set(await classes.data(), start);
    tf.dispose([x, y, classes]);
  }
  return out;
}

export async function evaluate(model: tf.LayersModel, set: ImageSet, batchSize = 128): Promise<Evaluation> {
  const probabilities = outputsProbabilities(model);
  const predicted = new Int32Array(set.count);
  let lossSum = 0;
  for (let start = 0; start < set.count; start += batchSize) {
    const ids = range(start, Math.min(set.count, start + batchSize));
    const { x, y } = toTensors(set, ids);
    const [loss, classes] = tf.tidy(() => {
      const output = model.predict(x) as tf.Tensor;
      return [crossEntropy(output, y, probabilities), output.argMax(-1)];
    });
    const [lossValue, classValues] = await Promise.all([loss.data(), classes.data()]);
    lossSum += lossValue[0] * ids.length;
    predicted.set(classValues, start);
    tf.dispose([x, y, loss, classes]);
  }
  const confusion = confusionMatrix(set.labels, predicted, set.classes);
  const correct = confusion.reduce((n, row, i) => n + row[i], 0);
  return { loss: lossSum / set.count, accuracy: correct / set.count, count: set.count, confusion };
}

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}
