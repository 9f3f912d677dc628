/**
 * The ResNet baseline the deck compares DenseNets with: CIFAR ResNet-20/32/44/56/110
 * (He et al. 2016, section 4.2): a 3×3 conv with 16 channels, three stages of n
 * basic blocks (widths 16, 32, 64; depth 6n+2), global average pool, dense logits (softmax in the loss).
 * Shortcuts are identities; where a stage halves the size and doubles the width,
 * the shortcut subsamples and pads the new channels with zeros (option A), so
 * shortcuts add no parameters.
 */
import { tf } from '../tf';
import { BuildContext, batchNorm, conv, relu } from './layers';
import { CLASSIFIER_NAME, headName, INPUT_NAME, stemName } from './names';
import { batchNormParams, convParams, denseParams } from './analytic';

type T = tf.SymbolicTensor;

export const RESNET_WIDTHS = [16, 32, 64] as const;

export interface CifarResNetOptions {
  /** 6n+2: 20, 32, 44, 56, 110, … */
  depth: number;
  classes?: number;
  inputShape?: [number, number, number];
  /** Seed for the weight initializers: the same seed gives the same model. */
  seed?: number;
}

/** Blocks per stage for a CIFAR ResNet of the given depth; other depths are an error. */
export function resnetBlocksPerStage(depth: number): number {
  const n = (depth - 2) / 6;
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`depth ${depth} does not fit a CIFAR ResNet: it must be 6n+2 (20, 32, 44, 56, 110, …)`);
  }
  return n;
}

/**
 * Option-A shortcut: x[:, ::s, ::s, :] with `extraChannels` zero channels added
 * (half before, half after, as in the common PyTorch CIFAR ResNet). No weights.
 */
export class ZeroPadShortcut extends tf.layers.Layer {
  static readonly className = 'ZeroPadShortcut';
  readonly strides: number;
  readonly extraChannels: number;

  constructor(args: { strides: number; extraChannels: number; name?: string }) {
    super({ name: args.name });
    this.strides = args.strides;
    this.extraChannels = args.extraChannels;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [batch, h, w, c] = inputShape as tf.Shape;
    const down = (n: number | null) => (n === null ? null : Math.ceil(n / this.strides));
    return [batch, down(h), down(w), (c as number) + this.extraChannels];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      let x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      // A 1×1 average pool with stride s picks every s-th pixel and has a gradient on every backend.
      if (this.strides > 1) x = tf.avgPool(x, 1, this.strides, 'valid');
      const before = Math.floor(this.extraChannels / 2);
      return tf.pad(x, [[0, 0], [0, 0], [0, 0], [before, this.extraChannels - before]]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), strides: this.strides, extraChannels: this.extraChannels };
  }
}
tf.serialization.registerClass(ZeroPadShortcut);

/** Basic block: Conv3×3-BN-ReLU-Conv3×3-BN, plus the shortcut, then ReLU. */
export function basicBlock(x: T, filters: number, strides: number, stage: number, block: number, ctx: BuildContext): T {
  const name = (part: string) => `stage${stage}_block${block}_${part}`;
  const inChannels = x.shape[3] as number;
  let y = conv(x, filters, 3, name('conv1'), ctx, { strides });
  y = batchNorm(y, name('bn1'));
  y = relu(y, name('relu1'));
  y = conv(y, filters, 3, name('conv2'), ctx);
  y = batchNorm(y, name('bn2'));
  const shortcut =
    strides === 1 && inChannels === filters
      ? x
      : (new ZeroPadShortcut({ strides, extraChannels: filters - inChannels, name: name('shortcut') }).apply(x) as T);
  const sum = tf.layers.add({ name: name('add') }).apply([y, shortcut]) as T;
  return relu(sum, name('relu2'));
}

export function buildCifarResNet(options: CifarResNetOptions): tf.LayersModel {
  const { depth, classes = 10, inputShape = [32, 32, 3] } = options;
  const n = resnetBlocksPerStage(depth);
  const ctx = new BuildContext(0, options.seed);

  const input = tf.input({ shape: inputShape, name: INPUT_NAME });
  let x = conv(input, RESNET_WIDTHS[0], 3, stemName('conv'), ctx, { onImage: true });
  x = batchNorm(x, stemName('bn'));
  x = relu(x, stemName('relu'));
  RESNET_WIDTHS.forEach((width, i) => {
    for (let block = 1; block <= n; block++) {
      const strides = i > 0 && block === 1 ? 2 : 1;
      x = basicBlock(x, width, strides, i + 1, block, ctx);
    }
  });
  x = tf.layers.globalAveragePooling2d({ name: headName('pool') }).apply(x) as T;
  const output = tf.layers
    .dense({ units: classes, activation: 'linear', kernelInitializer: tf.initializers.glorotUniform({ seed: ctx.nextSeed() }), name: CLASSIFIER_NAME })
    .apply(x) as T;
  return tf.model({ inputs: input, outputs: output, name: `ResNet-${depth}` });
}

/** Parameter counts of a CIFAR ResNet without building it (as `analyzeDenseNet` does for DenseNets). */
export function cifarResNetParams(options: CifarResNetOptions): { trainableParams: number; nonTrainableParams: number } {
  const { depth, classes = 10, inputShape = [32, 32, 3] } = options;
  const n = resnetBlocksPerStage(depth);
  let trainable = convParams(3, inputShape[2], RESNET_WIDTHS[0]);
  let nonTrainable = 0;
  const addBatchNorm = (channels: number) => {
    trainable += batchNormParams(channels).trainable;
    nonTrainable += batchNormParams(channels).nonTrainable;
  };
  addBatchNorm(RESNET_WIDTHS[0]);
  let channels: number = RESNET_WIDTHS[0];
  for (const width of RESNET_WIDTHS) {
    for (let block = 1; block <= n; block++) {
      trainable += convParams(3, channels, width) + convParams(3, width, width);
      addBatchNorm(width);
      addBatchNorm(width);
      channels = width;
    }
  }
  trainable += denseParams(channels, classes);
  return { trainableParams: trainable, nonTrainableParams: nonTrainable };
}
