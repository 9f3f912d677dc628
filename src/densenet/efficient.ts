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
 *   With `keepBottleneck` the forward also keeps each Conv1×1 output (4k maps a
 *   layer, still linear in depth) and the backward skips that recomputation.
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
import { batchMoments, sumAcrossReplicas } from '../parallel/batch-statistics';

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
  /**
   * Keep each bottleneck layer's 1×1-conv output (4k maps per layer, memory linear in depth) for the
   * backward pass instead of recomputing it there: less work, more memory (default false).
   */
  keepBottleneck?: boolean;
  /** Called once per unit in a training forward pass with its batch mean and variance. */
  onBatchStatistics?: (layer: number, unit: number, mean: tf.Tensor1D, variance: tf.Tensor1D) => void;
}

const SPATIAL_AXES = [0, 1, 2];

/** Per-channel statistics a BN uses: the batch's in training, the moving ones in inference. */
interface Stats {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

interface BnReluParts extends Stats {
  /** ReLU output: the conv input (its sign is also the ReLU mask: r > 0 ⇔ BN output > 0). */
  r: tf.Tensor4D;
}

/**
 * Batch mean and (biased) variance per channel, as tf.layers.batchNormalization computes them
 * (over every replica's rows in a data-parallel step).
 */
function batchStats(x: tf.Tensor4D): Stats {
  return batchMoments(x, SPATIAL_AXES);
}

/** BN then ReLU with given statistics, the same ops as tf.layers.batchNormalization and activation('relu'). */
function bnRelu(z: tf.Tensor4D, unit: UnitWeights, stats: Stats, epsilon: number): BnReluParts {
  const y = tf.batchNorm4d(z, stats.mean, stats.variance, unit.beta, unit.gamma, epsilon);
  return { ...stats, r: tf.relu(y) };
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

/** Σ over N, H, W per channel (one pass on wasm: src/backend/wasm-channel-kernels.ts). */
function channelSum(t: tf.Tensor4D): tf.Tensor1D {
  return tf.sum(t, SPATIAL_AXES) as tf.Tensor1D;
}

/**
 * Gradients through ReLU and BN, given the BN input z, its statistics, the ReLU output r and
 * dr = ∂L/∂r. With x̂ = (z−μ)/s, s = √(σ²+ε), dy = dr·[r > 0]:
 *   dβ = Σ dy,  dγ = Σ dy·(z−μ) / s,
 *   dz = γ/s · (dy − dβ/M − x̂·dγ/M)   (batch statistics, M values per channel)
 *      = a·dy + c·(z−μ) + b  with per-channel a = γ/s, c = −a·dγ/(M·s), b = −a·dβ/M,
 *   dz = γ/s · dy                      (moving statistics).
 * Written per channel so that the full-size work is five passes (mask, z−μ, the product for dγ,
 * and dz's two), with no x̂ and no centred copy of dy.
 */
function bnReluBackward(
  z: tf.Tensor4D,
  parts: BnReluParts,
  unit: UnitWeights,
  training: boolean,
  epsilon: number,
  dr: tf.Tensor4D,
): { dz: tf.Tensor4D; dGamma: tf.Tensor1D; dBeta: tf.Tensor1D } {
  return tf.tidy(() => {
    const dy = tf.mul(dr, tf.step(parts.r)) as tf.Tensor4D;
    const invStd = tf.rsqrt(tf.add(parts.variance, epsilon)) as tf.Tensor1D;
    const centered = tf.sub(z, parts.mean) as tf.Tensor4D;
    const dBeta = channelSum(dy);
    const dGamma = tf.mul(channelSum(tf.mul(dy, centered) as tf.Tensor4D), invStd) as tf.Tensor1D;
    const a = tf.mul(unit.gamma, invStd) as tf.Tensor1D;
    if (!training) return { dz: tf.mul(dy, a) as tf.Tensor4D, dGamma, dBeta };
    // The batch's statistics cover every replica's rows, so dz needs the sums over all of them;
    // dγ and dβ stay this replica's (the step adds up the replicas' gradients).
    const { sums, rows: count } = sumAcrossReplicas([dBeta, dGamma], z.size / z.shape[3]);
    const [allBeta, allGamma] = sums;
    const c = tf.div(tf.mul(tf.neg(a), tf.mul(allGamma, invStd)), count) as tf.Tensor1D;
    const b = tf.div(tf.mul(tf.neg(a), allBeta), count) as tf.Tensor1D;
    // a·dy + b in one pass (FusedBatchNorm with mean 0, variance 1, ε 0), then + c·(z−μ).
    const dz = tf.add(tf.batchNorm4d(dy, tf.zerosLike(a), tf.onesLike(a), b, a, 0), tf.mul(centered, c)) as tf.Tensor4D;
    return { dz, dGamma, dBeta };
  });
}

/** The multiplier tf.layers.dropout applies in training (0 or 1/(1−rate)); same seed → same mask. */
function dropoutMultiplier(shape: number[], rate: number, seed: number | undefined): tf.Tensor4D {
  return tf.tidy(() => tf.dropout(tf.ones(shape), rate, undefined, seed) as tf.Tensor4D);
}

/** x[..., begin : begin + width]. */
function channels(x: tf.Tensor4D, begin: number, width: number): tf.Tensor4D {
  return tf.slice(x, [0, 0, 0, begin], [-1, -1, -1, width]);
}

/**
 * A dense block over x₀: layer ℓ reads concat(x₀ … x_{ℓ-1}) and adds k maps;
 * returns concat(x₀ … x_L). Same values and gradients (of x₀ and of every γ, β
 * and kernel) as the naive composition, with memory linear in depth.
 *
 * Layer ℓ's input is the first C_ℓ = C₀ + ℓk channels of the block output, so the
 * forward grows one concatenation (two inputs per layer) that ends as the output,
 * and the backward reads each layer's input as a channel slice of it. Batch
 * statistics are per channel, so a map's are computed once, when it is made, and
 * layer ℓ's first BN reads the first C_ℓ of them; the bottleneck BN's statistics
 * are saved from the forward (4k numbers per layer). The gradient of the block
 * input is one running tensor G over channels 0 … C_{ℓ+1}: at layer ℓ, its last
 * k channels are the gradient of the layer's output, and the first C_ℓ plus the
 * layer's input gradient are the next G. No per-layer split, no per-map sums.
 */
export function efficientDenseBlockOp(x0: tf.Tensor4D, layers: DenseLayerUnits[], options: EfficientBlockOptions): tf.Tensor4D {
  const { training, epsilon } = options;
  const dropRate = training ? (options.dropRate ?? 0) : 0;
  const keepBottleneck = training && (options.keepBottleneck ?? false);
  const trainable = layers.flatMap((units) => units.flatMap((u) => [u.gamma, u.beta, u.kernel]));
  if (layers.length === 0 || layers.some((units) => units.length === 0)) {
    throw new Error('a dense block needs at least one layer, each with at least one BN-ReLU-Conv unit');
  }
  const inputChannels = x0.shape[3];
  const growth = layers[0][layers[0].length - 1].kernel.shape[3];
  /** C_ℓ: channels layer ℓ reads. */
  const widthBefore = (l: number) => inputChannels + l * growth;
  const moving = (unit: UnitWeights): Stats => ({ mean: unit.movingMean, variance: unit.movingVariance });

  const op = tf.customGrad((...args: unknown[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const input = args[0] as tf.Tensor4D;
    let prefix = input;
    let prefixStats = training ? batchStats(input) : undefined;
    const innerStats: tf.Tensor1D[] = [];
    const masks: tf.Tensor4D[] = [];
    const kept: tf.Tensor4D[] = [];
    let nextStats: Stats | undefined;
    try {
      layers.forEach((units, l) => {
        const firstInner = innerStats.length;
        const nextPrefix = tf.tidy(() => {
          let h = prefix;
          units.forEach((unit, u) => {
            const stats = !training ? moving(unit) : u === 0 ? prefixStats! : batchStats(h);
            if (training) options.onBatchStatistics?.(l, u, stats.mean, stats.variance);
            if (training && u > 0) innerStats.push(stats.mean, stats.variance);
            h = conv(bnRelu(h, unit, stats, epsilon).r, unit.kernel);
            if (dropRate > 0) {
              const mask = tf.keep(dropoutMultiplier(h.shape, dropRate, options.dropoutSeeds?.[l]?.[u]));
              masks.push(mask);
              h = tf.mul(h, mask);
            }
            if (keepBottleneck && u < units.length - 1) kept.push(tf.keep(h));
          });
          if (training) {
            // The new maps' statistics, once: every later layer's first BN reads them.
            const s = batchStats(h);
            nextStats = {
              mean: tf.keep(tf.concat1d([prefixStats!.mean, s.mean])),
              variance: tf.keep(tf.concat1d([prefixStats!.variance, s.variance])),
            };
          }
          innerStats.slice(firstInner).forEach((t) => tf.keep(t));
          return tf.concat4d([prefix, h], 3);
        });
        if (prefix !== input) prefix.dispose();
        if (prefixStats) tf.dispose([prefixStats.mean, prefixStats.variance]);
        prefix = nextPrefix;
        prefixStats = nextStats;
        nextStats = undefined; // now prefixStats: freed once if a later layer fails
      });
    } catch (err) {
      // Kept tensors outlive the tidies: a block that fails (e.g. out of memory) frees them itself.
      tf.dispose([...masks, ...innerStats, ...kept]);
      if (nextStats) tf.dispose([nextStats.mean, nextStats.variance]);
      if (prefixStats) tf.dispose([prefixStats.mean, prefixStats.variance]);
      if (prefix !== input) prefix.dispose();
      throw err;
    }
    const value = prefix;
    // Kept: the output (every map), the block's batch statistics, the inner BNs', the dropout masks
    // and (keepBottleneck) the bottleneck outputs.
    const statsSaved = prefixStats ? [prefixStats.mean, prefixStats.variance] : [];
    save([value, ...statsSaved, ...innerStats, ...masks, ...kept]);
    // save() keeps its own references: ours go (the masks were kept by every training step before).
    if (prefixStats) tf.dispose(statsSaved);
    tf.dispose([...innerStats, ...masks, ...kept]);
    return { value, gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => blockBackward(dy, saved) };
  });

  function blockBackward(dOut: tf.Tensor4D, saved: tf.Tensor[]): tf.Tensor[] {
    let k = 0;
    const value = saved[k++] as tf.Tensor4D;
    const blockStats: Stats | undefined = training ? { mean: saved[k++] as tf.Tensor1D, variance: saved[k++] as tf.Tensor1D } : undefined;
    const innerStats: Stats[][] = layers.map((units) =>
      units.slice(1).map(() => (training ? { mean: saved[k++] as tf.Tensor1D, variance: saved[k++] as tf.Tensor1D } : (undefined as unknown as Stats))),
    );
    const maskCount = dropRate > 0 ? layers.reduce((n, units) => n + units.length, 0) : 0;
    const masks = saved.slice(k, k + maskCount) as tf.Tensor4D[];
    const kept = saved.slice(k + maskCount) as tf.Tensor4D[];
    const maskOf = (l: number, u: number): tf.Tensor4D | undefined => {
      if (dropRate <= 0) return undefined;
      let index = 0;
      for (let i = 0; i < l; i++) index += layers[i].length;
      return masks[index + u];
    };
    /** The saved input of unit u + 1 of layer l (keepBottleneck), else undefined. */
    const keptInput = (l: number, u: number): tf.Tensor4D | undefined => {
      if (!keepBottleneck) return undefined;
      let index = 0;
      for (let i = 0; i < l; i++) index += layers[i].length - 1;
      return kept[index + u];
    };
    // G: ∂L/∂(channels 0 … C_{ℓ+1} of the block output), summed over the layers after ℓ.
    let G = dOut;
    const weightGrads: tf.Tensor[][] = new Array(layers.length);

    for (let l = layers.length - 1; l >= 0; l--) {
      const units = layers[l];
      const width = widthBefore(l);
      const { nextG, grads } = tf.tidy(() => {
        // Recompute the layer's forward from the saved output (no moving-average update here).
        const inputs: tf.Tensor4D[] = [channels(value, 0, width)];
        const parts: BnReluParts[] = [];
        units.forEach((unit, u) => {
          const stats = !training
            ? moving(unit)
            : u === 0
              ? { mean: tf.slice(blockStats!.mean, 0, width), variance: tf.slice(blockStats!.variance, 0, width) }
              : innerStats[l][u - 1];
          const p = bnRelu(inputs[u], unit, stats, epsilon);
          parts.push(p);
          if (u < units.length - 1) {
            const saved = keptInput(l, u);
            if (saved) {
              inputs.push(saved);
            } else {
              const h = conv(p.r, unit.kernel);
              const mask = maskOf(l, u);
              inputs.push(mask ? tf.mul(h, mask) : h);
            }
          }
        });
        let d = channels(G, width, growth);
        const unitGrads: tf.Tensor[][] = [];
        for (let u = units.length - 1; u >= 0; u--) {
          const mask = maskOf(l, u);
          if (mask) d = tf.mul(d, mask);
          const { dr, dKernel } = convBackward(parts[u].r, units[u].kernel, d);
          const { dz, dGamma, dBeta } = bnReluBackward(inputs[u], parts[u], units[u], training, epsilon, dr);
          unitGrads[u] = [dGamma, dBeta, dKernel];
          d = dz;
        }
        return { nextG: tf.add(channels(G, 0, width), d) as tf.Tensor4D, grads: unitGrads.flat() };
      });
      weightGrads[l] = grads;
      if (G !== dOut) G.dispose();
      G = nextG;
    }
    return [G, ...weightGrads.flat()];
  }

  return (op as unknown as (...t: tf.Tensor[]) => tf.Tensor4D)(x0, ...trainable);
}
