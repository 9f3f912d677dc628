/**
 * Memory-efficient dense block (Pleiss et al. 2017, "Memory-Efficient
 * Implementation of DenseNets"; torchvision's `memory_efficient`).
 *
 * A naive dense block keeps, for every layer ℓ, the concatenation of all ℓ
 * previous maps and its BN and ReLU outputs for the backward pass: memory grows
 * quadratically with depth. Here the whole block is ONE `tf.customGrad` op:
 *
 * - forward: runs the layers one after another, keeping only the block input
 *   x₀ and each layer's k new maps (everything else is freed as soon as the
 *   next layer has it); batch-norm moving statistics are updated here, once.
 * - backward: walks the layers from last to first and, for each, recomputes
 *   concat → BN → ReLU → Conv1×1 (and BN → ReLU of the bottleneck) from the
 *   saved maps, then applies a hand-written backward with public kernels.
 *
 * Why the whole block and not one op per layer: the tfjs 4.22 engine keeps
 * every gradient an op returns until the end of `tf.grads` (tape.ts adds it to
 * the running sum but never frees it), so an op per layer would still hold
 * Σℓ (gradient of its ℓ inputs), quadratic in depth. Inside one block op we
 * free each partial gradient as soon as it is summed.
 *
 * Nothing here calls `tf.grads` inside the gradient function (that crashes the
 * tfjs 4.22 tape); the backward is written out:
 *   BN (batch statistics):  x̂ = (z−μ)/√(σ²+ε), y = γx̂ + β
 *     dγ = Σ dy·x̂,  dβ = Σ dy,  dz = γ/√(σ²+ε) · (dy − mean(dy) − x̂·mean(dy·x̂))
 *   BN (moving statistics): dz = γ/√(σ²+ε) · dy
 *   ReLU: dy = dr · [y > 0]
 *   Conv: the Conv2DBackpropInput / Conv2DBackpropFilter kernels.
 */
import { tf } from '../tf';

/** The weights of one BN-ReLU-Conv unit, as tensors. */
export interface UnitWeights {
  gamma: tf.Tensor1D;
  beta: tf.Tensor1D;
  kernel: tf.Tensor4D;
  /** Read only in inference mode (training uses batch statistics). */
  movingMean: tf.Tensor1D;
  movingVariance: tf.Tensor1D;
}

/** One dense layer: [BN-ReLU-Conv3×3] or, with a bottleneck, [BN-ReLU-Conv1×1, BN-ReLU-Conv3×3]. */
export type DenseLayerUnits = UnitWeights[];

export interface EfficientBlockOptions {
  /** Batch statistics (and moving-average updates) when true; moving statistics when false. */
  training: boolean;
  epsilon: number;
  /** Dropout after each conv in training (0 = none); masks are kept for the backward pass. */
  dropRate?: number;
  /** dropoutSeeds[layer][unit]: the seed the naive Dropout layer would use (undefined = random). */
  dropoutSeeds?: (number | undefined)[][];
  /** Called once per unit in a training forward pass with its batch mean and variance. */
  onBatchStatistics?: (layer: number, unit: number, mean: tf.Tensor1D, variance: tf.Tensor1D) => void;
}

const SPATIAL_AXES = [0, 1, 2];

interface BnReluParts {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
  /** BN output: the ReLU input, whose sign is the ReLU mask. */
  y: tf.Tensor4D;
  /** ReLU output: the conv input. */
  r: tf.Tensor4D;
}

/** BN then ReLU, with the same ops as tf.layers.batchNormalization and activation('relu'). */
function bnRelu(z: tf.Tensor4D, unit: UnitWeights, training: boolean, epsilon: number): BnReluParts {
  let mean = unit.movingMean;
  let variance = unit.movingVariance;
  if (training) {
    const moments = tf.moments(z, SPATIAL_AXES);
    mean = moments.mean as tf.Tensor1D;
    variance = moments.variance as tf.Tensor1D;
  }
  const y = tf.batchNorm4d(z, mean, variance, unit.beta, unit.gamma, epsilon);
  return { mean, variance, y, r: tf.relu(y) };
}

/** The convs of a dense layer: stride 1, 'same' padding, no bias (as tf.layers.conv2d computes them). */
function conv(r: tf.Tensor4D, kernel: tf.Tensor4D): tf.Tensor4D {
  return tf.conv2d(r, kernel, 1, 'same');
}

/**
 * Gradients of conv(r, kernel) given the output gradient dOut: the same two
 * kernels tf.conv2d's own gradient runs (Conv2DBackpropFilter has no public op).
 */
function convBackward(r: tf.Tensor4D, kernel: tf.Tensor4D, dOut: tf.Tensor4D): { dr: tf.Tensor4D; dKernel: tf.Tensor4D } {
  const dr = tf.conv2dTranspose(dOut, kernel, r.shape, 1, 'same');
  const dKernel = tf.engine().runKernel('Conv2DBackpropFilter', { x: r, dy: dOut }, {
    strides: [1, 1],
    pad: 'same',
    dataFormat: 'NHWC',
    dimRoundingMode: undefined,
    filterShape: kernel.shape,
  } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  return { dr, dKernel };
}

/** Gradients through ReLU and BN, given the BN input z, its recomputed parts and dr = ∂L/∂ReLU-output. */
function bnReluBackward(
  z: tf.Tensor4D,
  parts: BnReluParts,
  unit: UnitWeights,
  training: boolean,
  epsilon: number,
  dr: tf.Tensor4D,
): { dz: tf.Tensor4D; dGamma: tf.Tensor1D; dBeta: tf.Tensor1D } {
  return tf.tidy(() => {
    const dy = tf.mul(dr, tf.step(parts.y)) as tf.Tensor4D;
    const invStd = tf.rsqrt(tf.add(parts.variance, epsilon));
    const xHat = tf.mul(tf.sub(z, parts.mean), invStd);
    const dGamma = tf.sum(tf.mul(dy, xHat), SPATIAL_AXES) as tf.Tensor1D;
    const dBeta = tf.sum(dy, SPATIAL_AXES) as tf.Tensor1D;
    const scale = tf.mul(unit.gamma, invStd);
    let dz: tf.Tensor4D;
    if (training) {
      // The batch mean and variance depend on z too: remove the mean of dy and its projection on x̂.
      const count = z.size / z.shape[3];
      const centered = tf.sub(tf.sub(dy, tf.div(dBeta, count)), tf.mul(xHat, tf.div(dGamma, count)));
      dz = tf.mul(centered, scale) as tf.Tensor4D;
    } else {
      dz = tf.mul(dy, scale) as tf.Tensor4D;
    }
    return { dz, dGamma, dBeta };
  });
}

/** The multiplier tf.layers.dropout applies in training (0 or 1/(1−rate)); same seed → same mask. */
function dropoutMultiplier(shape: number[], rate: number, seed: number | undefined): tf.Tensor4D {
  return tf.tidy(() => tf.dropout(tf.ones(shape), rate, undefined, seed) as tf.Tensor4D);
}

function concatFeatures(features: tf.Tensor4D[]): tf.Tensor4D {
  return features.length === 1 ? features[0] : tf.concat4d(features, 3);
}

/**
 * A dense block over x₀: layer ℓ reads concat(x₀ … x_{ℓ-1}) and adds k maps;
 * returns concat(x₀ … x_L). Same values and gradients (of x₀ and of every γ, β
 * and kernel) as the naive composition, with memory linear in depth.
 */
export function efficientDenseBlockOp(x0: tf.Tensor4D, layers: DenseLayerUnits[], options: EfficientBlockOptions): tf.Tensor4D {
  const { training, epsilon } = options;
  const dropRate = training ? (options.dropRate ?? 0) : 0;
  const trainable = layers.flatMap((units) => units.flatMap((u) => [u.gamma, u.beta, u.kernel]));
  if (layers.length === 0 || layers.some((units) => units.length === 0)) {
    throw new Error('a dense block needs at least one layer, each with at least one BN-ReLU-Conv unit');
  }

  const op = tf.customGrad((...args: unknown[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const input = args[0] as tf.Tensor4D;
    const features: tf.Tensor4D[] = [input];
    const masks: tf.Tensor4D[] = [];
    layers.forEach((units, l) => {
      const [newMaps, layerMasks] = tf.tidy(() => {
        let h = concatFeatures(features);
        const kept: tf.Tensor4D[] = [];
        units.forEach((unit, u) => {
          const parts = bnRelu(h, unit, training, epsilon);
          if (training) options.onBatchStatistics?.(l, u, parts.mean, parts.variance);
          h = conv(parts.r, unit.kernel);
          if (dropRate > 0) {
            const mask = dropoutMultiplier(h.shape, dropRate, options.dropoutSeeds?.[l]?.[u]);
            kept.push(mask);
            h = tf.mul(h, mask);
          }
        });
        return [h, kept] as [tf.Tensor4D, tf.Tensor4D[]];
      });
      features.push(newMaps);
      masks.push(...layerMasks);
    });
    const value = tf.concat4d(features, 3);
    // Only x₀, the new maps (and dropout masks) are kept; concat/BN/ReLU are recomputed.
    save([...features, ...masks]);
    return { value, gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => blockBackward(dy, saved as tf.Tensor4D[]) };
  });

  function blockBackward(dOut: tf.Tensor4D, saved: tf.Tensor4D[]): tf.Tensor[] {
    const features = saved.slice(0, layers.length + 1);
    const masks = saved.slice(layers.length + 1);
    const maskOf = (l: number, u: number): tf.Tensor4D | undefined => {
      if (dropRate <= 0) return undefined;
      let index = 0;
      for (let i = 0; i < l; i++) index += layers[i].length;
      return masks[index + u];
    };
    const channels = features.map((f) => f.shape[3]);
    // acc[j]: ∂L/∂x_j summed over the layers processed so far (starts with the block output's share).
    const acc = tf.split(dOut, channels, 3) as tf.Tensor4D[];
    const weightGrads: tf.Tensor[][] = new Array(layers.length);

    for (let l = layers.length - 1; l >= 0; l--) {
      const units = layers[l];
      const dNew = acc[l + 1];
      const { dInputs, grads } = tf.tidy(() => {
        // Recompute the layer's forward from the saved maps (no moving-average update here).
        const inputs: tf.Tensor4D[] = [concatFeatures(features.slice(0, l + 1))];
        const parts: BnReluParts[] = [];
        units.forEach((unit, u) => {
          const p = bnRelu(inputs[u], unit, training, epsilon);
          parts.push(p);
          if (u < units.length - 1) {
            const h = conv(p.r, unit.kernel);
            const mask = maskOf(l, u);
            inputs.push(mask ? tf.mul(h, mask) : h);
          }
        });
        let d = dNew;
        const unitGrads: tf.Tensor[][] = [];
        for (let u = units.length - 1; u >= 0; u--) {
          const mask = maskOf(l, u);
          if (mask) d = tf.mul(d, mask);
          const { dr, dKernel } = convBackward(parts[u].r, units[u].kernel, d);
          const { dz, dGamma, dBeta } = bnReluBackward(inputs[u], parts[u], units[u], training, epsilon, dr);
          dr.dispose();
          unitGrads[u] = [dGamma, dBeta, dKernel];
          d = dz;
        }
        const dInputs = l === 0 ? [d] : tf.split(d, channels.slice(0, l + 1), 3);
        return { dInputs, grads: unitGrads.flat() };
      });
      weightGrads[l] = grads;
      acc[l + 1].dispose();
      for (let j = 0; j <= l; j++) {
        const sum = tf.add(acc[j], dInputs[j]) as tf.Tensor4D;
        acc[j].dispose();
        dInputs[j].dispose();
        acc[j] = sum;
      }
    }
    return [acc[0], ...weightGrads.flat()];
  }

  return (op as unknown as (...t: tf.Tensor[]) => tf.Tensor4D)(x0, ...trainable);
}
