/**
 * The memory-efficient dense block as a tfjs-layers Layer (serializable, so
 * save/load work), and `efficientDenseBlock`, the drop-in for `denseBlock`.
 *
 * The layer owns exactly the weights of the naive block's BN and conv layers,
 * under the same names (`block1_layer3_bn1/gamma`, `block1_layer3_conv1x1/kernel`,
 * …) and in the same order, so weights saved from one variant load into the
 * other and the parameter counts are identical. It is named like the naive
 * block's output concatenation (`block1_concat`), the tensor it produces.
 */
import { tf } from '../tf';
import { bottleneckChannels } from './config';
import { efficientDenseBlockOp, UnitWeights } from './efficient';
import { BN_EPSILON, BN_MOMENTUM, DenseBlockFn, updateMovingAverage } from './layers';
import { blockOutputName, denseLayerName } from './names';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Kwargs = { training?: boolean };

export interface EfficientDenseBlockArgs extends LayerArgs {
  /** 1-based block index: names the weights like the naive builder does. */
  block: number;
  layers: number;
  growthRate: number;
  bottleneck: boolean;
  /** Channels of the block input x₀ (the weights are created with the layer). */
  inputChannels: number;
  epsilon?: number;
  momentum?: number;
  dropRate?: number;
  /** kernelSeeds[layer][unit]: heNormal seed of each conv kernel (null = random). */
  kernelSeeds?: (number | null)[][];
  /** dropoutSeeds[layer][unit]: seed of each dropout (null = random). */
  dropoutSeeds?: (number | null)[][];
}

interface UnitVariables {
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
  kernel: tf.LayerVariable;
}

/** Names of the (BN, conv) pairs of a dense layer, from the builder's own namer. */
function unitNames(block: number, layer: number, bottleneck: boolean): { bn: string; conv: string }[] {
  const name = denseLayerName(block, layer);
  return bottleneck
    ? [
        { bn: name('bn1'), conv: name('conv1x1') },
        { bn: name('bn2'), conv: name('conv3x3') },
      ]
    : [{ bn: name('bn'), conv: name('conv3x3') }];
}

export class EfficientDenseBlock extends tf.layers.Layer {
  static className = 'EfficientDenseBlock';
  /**
   * Training: keep each bottleneck's 1×1-conv output for the backward pass rather than recompute it
   * (4k maps per layer: about 10% less work for memory linear in depth). A choice of how to train,
   * not part of the model: not saved. Data-parallel replicas turn it on (src/parallel).
   */
  keepBottleneck = false;
  private readonly spec: Required<Omit<EfficientDenseBlockArgs, keyof LayerArgs>>;
  private readonly unitVariables: UnitVariables[][] = [];

  constructor(args: EfficientDenseBlockArgs) {
    super(args);
    const { block, layers, growthRate, bottleneck, inputChannels } = args;
    for (const [key, value] of Object.entries({ block, layers, growthRate, inputChannels })) {
      if (!Number.isInteger(value) || value < 1) throw new Error(`EfficientDenseBlock: ${key} must be a positive integer (got ${value})`);
    }
    this.spec = {
      block,
      layers,
      growthRate,
      bottleneck,
      inputChannels,
      epsilon: args.epsilon ?? BN_EPSILON,
      momentum: args.momentum ?? BN_MOMENTUM,
      dropRate: args.dropRate ?? 0,
      kernelSeeds: args.kernelSeeds ?? [],
      dropoutSeeds: args.dropoutSeeds ?? [],
    };
    // Weights are created here, outside Layer.apply's name scope, so that they carry the
    // naive layers' names ("block1_layer1_bn1/gamma") rather than "block1_concat/…".
    let channels = inputChannels;
    for (let l = 0; l < layers; l++) {
      const names = unitNames(block, l + 1, bottleneck);
      const widths = bottleneck ? [bottleneckChannels(growthRate), growthRate] : [growthRate];
      let unitInput = channels;
      this.unitVariables.push(
        names.map(({ bn, conv }, u) => {
          const seed = this.spec.kernelSeeds[l]?.[u] ?? undefined;
          const kernelSize = bottleneck && u === 0 ? 1 : 3;
          const unit = this.createUnit(bn, conv, unitInput, widths[u], kernelSize, seed);
          unitInput = widths[u];
          return unit;
        }),
      );
      channels += growthRate;
    }
  }

  private createUnit(bn: string, conv: string, inChannels: number, outChannels: number, kernelSize: number, seed?: number): UnitVariables {
    return {
      gamma: this.addWeight(`${bn}/gamma`, [inChannels], 'float32', tf.initializers.ones(), undefined, true),
      beta: this.addWeight(`${bn}/beta`, [inChannels], 'float32', tf.initializers.zeros(), undefined, true),
      movingMean: this.addWeight(`${bn}/moving_mean`, [inChannels], 'float32', tf.initializers.zeros(), undefined, false),
      movingVariance: this.addWeight(`${bn}/moving_variance`, [inChannels], 'float32', tf.initializers.ones(), undefined, false),
      kernel: this.addWeight(
        `${conv}/kernel`,
        [kernelSize, kernelSize, inChannels, outChannels],
        'float32',
        tf.initializers.heNormal({ seed }),
        undefined,
        true,
      ),
    };
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    if (shape.length !== 4 || shape[3] !== this.spec.inputChannels) {
      throw new Error(
        `${this.name}: expects NHWC input with ${this.spec.inputChannels} channels, got shape ${JSON.stringify(shape)}`,
      );
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [...shape.slice(0, 3), this.spec.inputChannels + this.spec.layers * this.spec.growthRate];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    const training = kwargs?.training ?? false;
    const { epsilon, momentum, dropRate, dropoutSeeds } = this.spec;
    const layers = this.unitVariables.map((units) =>
      units.map(
        (u): UnitWeights => ({
          gamma: u.gamma.read() as tf.Tensor1D,
          beta: u.beta.read() as tf.Tensor1D,
          kernel: u.kernel.read() as tf.Tensor4D,
          movingMean: u.movingMean.read() as tf.Tensor1D,
          movingVariance: u.movingVariance.read() as tf.Tensor1D,
        }),
      ),
    );
    return efficientDenseBlockOp(x, layers, {
      training,
      epsilon,
      dropRate,
      keepBottleneck: this.keepBottleneck,
      dropoutSeeds: dropoutSeeds.map((seeds) => seeds.map((s) => s ?? undefined)),
      // Exactly tf.layers.batchNormalization's update, once per training forward pass.
      onBatchStatistics: (l, u, mean, variance) => {
        const unit = this.unitVariables[l][u];
        updateMovingAverage(unit.movingMean, mean, momentum);
        updateMovingAverage(unit.movingVariance, variance, momentum);
      },
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...this.spec };
  }
}
tf.serialization.registerClass(EfficientDenseBlock);

/**
 * Drop-in for `denseBlock` (same arguments, same weights, same seeds drawn from
 * `ctx` in the same order): one EfficientDenseBlock layer named like the naive
 * block's output.
 */
export const efficientDenseBlock: DenseBlockFn = (x, layers, block, options, ctx) => {
  const kernelSeeds: (number | null)[][] = [];
  const dropoutSeeds: (number | null)[][] = [];
  const unitsPerLayer = options.bottleneck ? 2 : 1;
  for (let l = 0; l < layers; l++) {
    const kernels: (number | null)[] = [];
    const dropouts: (number | null)[] = [];
    for (let u = 0; u < unitsPerLayer; u++) {
      // Same draw order as bottleneckLayer/compositeLayer: conv, then its dropout (if any).
      kernels.push(ctx.nextSeed() ?? null);
      dropouts.push(ctx.dropRate > 0 ? (ctx.nextSeed() ?? null) : null);
    }
    kernelSeeds.push(kernels);
    dropoutSeeds.push(dropouts);
  }
  const layer = new EfficientDenseBlock({
    name: blockOutputName(block),
    block,
    layers,
    growthRate: options.growthRate,
    bottleneck: options.bottleneck,
    inputChannels: x.shape[x.shape.length - 1] as number,
    epsilon: BN_EPSILON,
    momentum: BN_MOMENTUM,
    dropRate: ctx.dropRate,
    kernelSeeds,
    dropoutSeeds,
  });
  return layer.apply(x) as tf.SymbolicTensor;
};
