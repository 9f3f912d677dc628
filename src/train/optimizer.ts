/**
 * Optimizers: the paper's SGD with Nesterov momentum 0.9, or Adam for short runs.
 * Weight decay is not the optimizer's job here: the training step adds it to
 * the kernels' gradients (see step.ts), which works the same for both.
 */
import { tf } from '../tf';

export type OptimizerName = 'sgd' | 'adam';
export const OPTIMIZERS: readonly OptimizerName[] = ['sgd', 'adam'];

/** The paper's momentum. */
export const PAPER_MOMENTUM = 0.9;

export function makeOptimizer(name: OptimizerName, learningRate: number, momentum = PAPER_MOMENTUM): tf.Optimizer {
  switch (name) {
    case 'sgd':
      return tf.train.momentum(learningRate, momentum, /* useNesterov */ true);
    case 'adam':
      return tf.train.adam(learningRate);
    default:
      throw new Error(`unknown optimizer ${String(name)}: use one of ${OPTIMIZERS.join(', ')}`);
  }
}

/**
 * Changes the rate without losing the optimizer's state (momenta). SGD and
 * Momentum have setLearningRate; Adam reads its protected `learningRate` field on every
 * step, so assigning it is the same thing.
 */
export function setLearningRate(optimizer: tf.Optimizer, learningRate: number): void {
  // By class name: tfjs optimizers define Symbol.hasInstance, so `instanceof` matches any optimizer.
  const name = optimizer.getClassName();
  if (name === 'SGD' || name === 'Momentum') {
    (optimizer as tf.SGDOptimizer).setLearningRate(learningRate);
  } else if (name === 'Adam') {
    (optimizer as unknown as { learningRate: number }).learningRate = learningRate;
  } else {
    throw new Error(`cannot change the learning rate of a ${name} optimizer`);
  }
}

/**
 * Frees the optimizer's tensors. tfjs 4.22's MomentumOptimizer.dispose forgets
 * the learning-rate scalar it inherits from SGD (one tensor per optimizer), so
 * free that too.
 */
export function disposeOptimizer(optimizer: tf.Optimizer): void {
  optimizer.dispose();
  if (optimizer.getClassName() === 'Momentum') {
    const rate = (optimizer as unknown as { c?: tf.Tensor }).c;
    if (rate && !rate.isDisposed) rate.dispose();
  }
}
