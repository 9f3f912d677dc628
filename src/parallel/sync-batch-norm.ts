/**
 * tf.layers.batchNormalization layers made to use the whole batch of every replica in training.
 *
 * A replica of a data-parallel step calls `synchronizeBatchNorm(model)` once: each batch-norm layer's
 * training branch then normalises with `batchMoments` (mean and variance over every replica's rows),
 * updates its moving statistics with them exactly as tfjs-layers does, and backpropagates through
 * a hand-written gradient whose channel sums are added up across replicas (the gradient of the
 * batch statistics couples all rows). Inference is the layer's own code, unchanged. The
 * memory-efficient dense block computes its batch norms itself and asks the same module.
 */
import { tf } from '../tf';
import { batchMoments, sumAcrossReplicas } from './batch-statistics';
import { updateMovingAverage } from '../densenet/layers';

/** The fields of tfjs-layers' BatchNormalization used here (its class is not exported as a type). */
interface BatchNormLayer extends tf.layers.Layer {
  axis: number;
  epsilon: number;
  momentum: number;
  center: boolean;
  scale: boolean;
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

/** y = γ(x−μ)/√(σ²+ε) + β over channels last, its statistics over every replica's rows. */
function syncedBatchNorm(layer: BatchNormLayer, x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D): tf.Tensor {
  const channelAxis = x.rank - 1;
  const axes = [...Array(channelAxis).keys()];
  const op = tf.customGrad((...args: unknown[]) => {
    const [input, g, b] = args as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
    const save = args[3] as tf.GradSaveFunc;
    const { mean, variance } = batchMoments(input, axes);
    updateMovingAverage(layer.movingMean, mean, layer.momentum);
    updateMovingAverage(layer.movingVariance, variance, layer.momentum);
    const value = tf.batchNorm(input, mean, variance, b, g, layer.epsilon);
    save([input, mean, variance, g]);
    return {
      value,
      // dx = a·dy + c·(x−μ) + b' with a = γ/s, b' = −a·Σdy/M, c = −a·Σdy(x−μ)/(s²M) over all M rows;
      // dγ = Σ dy·(x−μ)/s and dβ = Σ dy over this replica's rows.
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, mu, v, gs] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
        const invStd = tf.rsqrt(tf.add(v, layer.epsilon)) as tf.Tensor1D;
        const centered = tf.sub(xs, mu);
        const dBeta = tf.sum(dy, axes) as tf.Tensor1D;
        const dyCentered = tf.sum(tf.mul(dy, centered), axes) as tf.Tensor1D;
        const { sums, rows } = sumAcrossReplicas([dBeta, dyCentered], xs.size / xs.shape[channelAxis]);
        const a = tf.mul(gs, invStd);
        const c = tf.div(tf.mul(tf.neg(a), tf.mul(sums[1], tf.square(invStd))), rows);
        const shift = tf.div(tf.mul(tf.neg(a), sums[0]), rows);
        const dx = tf.add(tf.add(tf.mul(dy, a), shift), tf.mul(centered, c));
        return [dx, tf.mul(dyCentered, invStd), dBeta];
      },
    };
  });
  return (op as unknown as (...t: tf.Tensor[]) => tf.Tensor)(x, gamma, beta);
}

/** Makes every batch-norm layer of `model` (channels last, with γ and β) use cross-replica statistics. */
export function synchronizeBatchNorm(model: tf.LayersModel): number {
  let patched = 0;
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const bn = layer as BatchNormLayer;
    const original = bn.call.bind(bn);
    bn.call = (inputs, kwargs) => {
      if (!kwargs?.['training']) return original(inputs, kwargs);
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor;
      if (!bn.center || !bn.scale || (bn.axis !== -1 && bn.axis !== x.rank - 1)) {
        throw new Error(`${bn.name}: a data-parallel step supports batch norm over the last axis with center and scale only`);
      }
      return tf.tidy(() => syncedBatchNorm(bn, x, bn.gamma.read() as tf.Tensor1D, bn.beta.read() as tf.Tensor1D));
    };
    patched++;
  }
  return patched;
}
