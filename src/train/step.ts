/**
 * One training step over the model's trainable weights: forward in training
 * mode (batch norm uses batch statistics and updates its moving averages,
 * dropout is on), loss, gradients, weight decay, optimizer update.
 *
 * A custom step rather than model.fit: it lets us add weight decay to exactly
 * the conv/dense kernels, report accuracy without a second forward pass, and
 * gives the memory-efficient DenseNet a place to plug its own gradient path.
 */
import { tf } from '../tf';

/** The paper's weight decay. */
export const PAPER_WEIGHT_DECAY = 1e-4;

/** Whether the model ends in a softmax (probabilities) or not (logits): the loss must match. */
export function outputsProbabilities(model: tf.LayersModel): boolean {
  const last = model.layers[model.layers.length - 1];
  const activation = (last.getConfig() as { activation?: unknown }).activation;
  return activation === 'softmax';
}

/** Mean categorical cross-entropy of `output` (probabilities or logits) against one-hot `y`. */
export function crossEntropy(output: tf.Tensor, y: tf.Tensor, probabilities: boolean): tf.Scalar {
  return tf.tidy(() =>
    probabilities
      ? (tf.metrics.categoricalCrossentropy(y, output).mean() as tf.Scalar)
      : (tf.losses.softmaxCrossEntropy(y, output) as tf.Scalar),
  );
}

/** How many rows of `output` pick the class that one-hot `y` marks. */
export function countCorrect(output: tf.Tensor, y: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.equal(output.argMax(-1), y.argMax(-1)).sum() as tf.Scalar);
}

/**
 * The weights that weight decay applies to: conv and dense kernels (not biases,
 * not batch-norm scale and shift), as the recipe says.
 */
export function decayedWeights(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights
    .filter((w) => /kernel$/.test(w.originalName))
    .map((w) => w.read() as tf.Variable);
}

export interface StepOptions {
  optimizer: tf.Optimizer;
  /** L2 coefficient λ: the gradient of each decayed kernel W gets + λ·W (the loss + λ/2·‖W‖²). */
  weightDecay: number;
  /** Defaults: all trainable weights, and the kernels among them. */
  trainable?: tf.Variable[];
  decayed?: tf.Variable[];
  probabilities?: boolean;
  /**
   * A replica of a data-parallel step (src/parallel): its rows' share of the whole batch. The loss it
   * minimises is the batch mean's share, so the replicas' gradients add up to the whole batch's.
   */
  lossWeight?: number;
  /** A replica's cross-replica sum of the gradients, before weight decay and the update. */
  reduceGradients?: (grads: tf.NamedTensorMap) => tf.NamedTensorMap;
}

export interface StepResult {
  /** Mean cross-entropy of the batch (without the decay term); a replica's share of it (× lossWeight). */
  loss: number;
  /** Correct predictions in the batch (training-mode forward pass). */
  correct: number;
}

export async function trainStep(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor, options: StepOptions): Promise<StepResult> {
  const trainable = options.trainable ?? model.trainableWeights.map((w) => w.read() as tf.Variable);
  const decayed = new Set((options.decayed ?? decayedWeights(model)).map((v) => v.name));
  const probabilities = options.probabilities ?? outputsProbabilities(model);
  let correctCount: tf.Scalar | undefined;
  let loss: tf.Scalar;
  let correct: tf.Scalar;
  try {
    [loss, correct] = tf.tidy(() => {
      const { value, grads: localGrads } = tf.variableGrads(() => {
        const output = model.apply(x, { training: true }) as tf.Tensor;
        correctCount = tf.keep(countCorrect(output, y));
        const loss = crossEntropy(output, y, probabilities);
        return options.lossWeight === undefined ? loss : (tf.mul(loss, options.lossWeight) as tf.Scalar);
      }, trainable);
      const grads = options.reduceGradients ? options.reduceGradients(localGrads) : localGrads;
      if (options.weightDecay > 0) {
        for (const v of trainable) {
          if (decayed.has(v.name) && grads[v.name]) grads[v.name] = grads[v.name].add(v.mul(options.weightDecay));
        }
      }
      options.optimizer.applyGradients(grads);
      return [value, correctCount!];
    });
  } catch (err) {
    correctCount?.dispose(); // kept out of the tidy: a failed step (e.g. out of memory) leaves nothing
    throw err;
  }
  const [lossValue, correctValue] = await Promise.all([loss.data(), correct.data()]);
  loss.dispose();
  correct.dispose();
  return { loss: lossValue[0], correct: correctValue[0] };
}
