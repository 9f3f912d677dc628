/**
 * DenseNet building blocks on the tfjs-layers functional API, in the shape of
 * Keras applications/densenet.py: each function takes a symbolic tensor and
 * returns the next one.
 *
 * Conventions (Huang et al. 2017; Keras; torchvision): convs have no bias
 * (a BN follows or precedes them), the classifier has one; BN epsilon 1.001e-5
 * as in Keras; BN momentum 0.9, i.e. PyTorch's 0.1, so the moving statistics
 * settle within a short run; He-normal conv weights as in the paper.
 */
import { tf } from '../tf';
import { bottleneckChannels, transitionChannels } from './config';
import {
  blockOutputName,
  CLASSIFIER_NAME,
  denseLayerName,
  headName,
  Namer,
  stemName,
  transitionName,
} from './names';

type T = tf.SymbolicTensor;

export const BN_EPSILON = 1.001e-5;
export const BN_MOMENTUM = 0.9;

/**
 * A batch norm's moving statistic after one training batch, exactly as tf.layers.batchNormalization
 * updates it: v ← v − (v − batch value)·(1 − momentum). For batch norms computed outside that layer
 * (the memory-efficient block, the data-parallel replicas' synchronised batch norm).
 */
export function updateMovingAverage(variable: tf.LayerVariable, value: tf.Tensor, momentum: number): void {
  tf.tidy(() => {
    const orig = variable.read();
    variable.write(tf.sub(orig, tf.mul(tf.sub(orig, value), 1 - momentum)));
  });
}

/** What every layer function needs besides its input: dropout and weight initialization. */
export class BuildContext {
  private seedCounter: number | undefined;

  constructor(
    readonly dropRate: number,
    seed?: number,
  ) {
    this.seedCounter = seed;
  }

  /**
   * A distinct seed per weight tensor, so a seeded build is reproducible; undefined = random.
   * Never 0: tfjs initializers treat a falsy seed as "no seed".
   */
  nextSeed(): number | undefined {
    if (this.seedCounter === undefined) return undefined;
    return ++this.seedCounter;
  }
}

function apply(layer: tf.layers.Layer, x: T | T[]): T {
  return layer.apply(x) as T;
}

export function batchNorm(x: T, name: string): T {
  return apply(tf.layers.batchNormalization({ axis: -1, epsilon: BN_EPSILON, momentum: BN_MOMENTUM, name }), x);
}

export function relu(x: T, name: string): T {
  return apply(tf.layers.activation({ activation: 'relu', name }), x);
}

/**
 * A bias-free conv; 'same' padding keeps the spatial size at stride 1. `onImage`: the conv reads
 * the network's input (a stem), see `skipImageGradient`.
 */
export function conv(
  x: T,
  filters: number,
  kernelSize: number,
  name: string,
  ctx: BuildContext,
  { strides = 1, padding = 'same', onImage = false }: { strides?: number; padding?: 'same' | 'valid'; onImage?: boolean } = {},
): T {
  const layer = tf.layers.conv2d({
    filters,
    kernelSize,
    strides,
    padding,
    useBias: false,
    kernelInitializer: tf.initializers.heNormal({ seed: ctx.nextSeed() }),
    name,
  });
  if (onImage) skipImageGradient(layer, strides, padding);
  return apply(layer, x);
}

/**
 * tfjs-layers runs every conv as the fused conv op, whose gradient computes the input's gradient
 * together with the kernel's. For a stem that is the image's gradient, which nobody uses (13% of an
 * MNIST training step). The plain conv op computes each gradient
 * only when asked, so the stem's layer runs that instead: same weights, same output, same saved model
 * (its class and config do not change; a reloaded model just runs the fused op again).
 */
function skipImageGradient(layer: tf.layers.Layer, strides: number, padding: 'same' | 'valid'): void {
  layer.call = (inputs: tf.Tensor | tf.Tensor[]) =>
    tf.tidy(() => {
      const image = Array.isArray(inputs) ? inputs[0] : inputs;
      return tf.conv2d(image as tf.Tensor4D, layer.weights[0].read() as tf.Tensor4D, strides, padding);
    });
}

/** Dropout after a conv, only when the configuration asks for it. */
export function maybeDropout(x: T, name: string, ctx: BuildContext): T {
  if (ctx.dropRate <= 0) return x;
  return apply(tf.layers.dropout({ rate: ctx.dropRate, seed: ctx.nextSeed(), name }), x);
}

/** Concatenation along channels; a single map is passed through unchanged. */
export function concat(features: T[], name: string): T {
  return features.length === 1 ? features[0] : apply(tf.layers.concatenate({ axis: -1, name }), features);
}

/** H_ℓ = BN-ReLU-Conv3×3 with k outputs. */
export function compositeLayer(x: T, growthRate: number, name: Namer, ctx: BuildContext): T {
  x = batchNorm(x, name('bn'));
  x = relu(x, name('relu'));
  x = conv(x, growthRate, 3, name('conv3x3'), ctx);
  return maybeDropout(x, name('dropout'), ctx);
}

/** DenseNet-B: BN-ReLU-Conv1×1(4k)-BN-ReLU-Conv3×3(k). */
export function bottleneckLayer(x: T, growthRate: number, name: Namer, ctx: BuildContext): T {
  x = batchNorm(x, name('bn1'));
  x = relu(x, name('relu1'));
  x = conv(x, bottleneckChannels(growthRate), 1, name('conv1x1'), ctx);
  x = maybeDropout(x, name('dropout1'), ctx);
  x = batchNorm(x, name('bn2'));
  x = relu(x, name('relu2'));
  x = conv(x, growthRate, 3, name('conv3x3'), ctx);
  return maybeDropout(x, name('dropout2'), ctx);
}

/** Where a dense layer sits and what it computes. */
export interface DenseLayerSpec {
  block: number;
  /** 1-based index of the layer in its block. */
  layer: number;
  growthRate: number;
  bottleneck: boolean;
}

/**
 * One layer of a dense block: x_ℓ = H_ℓ([x_0, x_1, …, x_{ℓ-1}]), returning only
 * the k new maps. It receives the preceding maps as a list (not their
 * concatenation), so a memory-efficient variant (issue 3) can replace this whole
 * function and recompute the concatenation in the backward pass.
 */
export type DenseLayerFn = (features: T[], spec: DenseLayerSpec, ctx: BuildContext) => T;

export const denseLayer: DenseLayerFn = (features, spec, ctx) => {
  const name = denseLayerName(spec.block, spec.layer);
  const x = concat(features, name('concat'));
  return spec.bottleneck
    ? bottleneckLayer(x, spec.growthRate, name, ctx)
    : compositeLayer(x, spec.growthRate, name, ctx);
};

export interface DenseBlockOptions {
  growthRate: number;
  bottleneck: boolean;
}

/**
 * A whole dense block, input maps in, all maps out. The builder picks the
 * implementation (see `denseBlockFor` in build.ts): this naive one, or a
 * memory-efficient one that runs the block as a single op (issue 3).
 */
export type DenseBlockFn = (x: T, layers: number, block: number, options: DenseBlockOptions, ctx: BuildContext) => T;

/**
 * A dense block: every layer reads all maps before it; the output is all of them. As in Keras
 * (applications/densenet.py) the block keeps one running concatenation and extends it by each
 * layer's k new maps, so each concat has two inputs: the wide one is copied with one memcpy per
 * pixel, where concatenating all maps anew copies every earlier map as a narrow piece (the naive
 * L=100 forward pass spent 30% of its time there on wasm). The values are the same; the concat that
 * extends the maps before layer ℓ+1 carries that layer's name (`…_layer{ℓ+1}_concat`), the last one
 * the block's.
 */
export function denseBlock(
  x: T,
  layers: number,
  block: number,
  options: DenseBlockOptions,
  ctx: BuildContext,
  layerFn: DenseLayerFn = denseLayer,
): T {
  let maps = x;
  for (let layer = 1; layer <= layers; layer++) {
    const fresh = layerFn([maps], { block, layer, ...options }, ctx);
    maps = concat([maps, fresh], layer < layers ? denseLayerName(block, layer + 1)('concat') : blockOutputName(block));
  }
  return maps;
}

/** Transition: BN-ReLU-Conv1×1(⌊θm⌋)-AvgPool2×2 between two blocks. */
export function transition(x: T, compression: number, index: number, ctx: BuildContext): T {
  const name = transitionName(index);
  const channels = x.shape[x.shape.length - 1] as number;
  x = batchNorm(x, name('bn'));
  x = relu(x, name('relu'));
  x = conv(x, transitionChannels(channels, compression), 1, name('conv'), ctx);
  x = maybeDropout(x, name('dropout'), ctx);
  return apply(tf.layers.averagePooling2d({ poolSize: 2, strides: 2, padding: 'valid', name: name('pool') }), x);
}

/**
 * CIFAR stem: one 3×3 conv; the first dense layer starts with its own BN-ReLU.
 * No dropout after this first conv (paper, section 4.2).
 */
export function cifarStem(x: T, initFeatures: number, ctx: BuildContext): T {
  return conv(x, initFeatures, 3, stemName('conv'), ctx, { onImage: true });
}

/** ImageNet stem, zero-padded like Keras: Conv7×7/2 - BN - ReLU - MaxPool3×3/2. */
export function imagenetStem(x: T, initFeatures: number, ctx: BuildContext): T {
  x = apply(tf.layers.zeroPadding2d({ padding: 3, name: stemName('conv_pad') }), x);
  x = conv(x, initFeatures, 7, stemName('conv'), ctx, { strides: 2, padding: 'valid', onImage: true });
  x = batchNorm(x, stemName('bn'));
  x = relu(x, stemName('relu'));
  // Zeros do not change a max over ReLU outputs (all ≥ 0), so this equals -∞ padding.
  x = apply(tf.layers.zeroPadding2d({ padding: 1, name: stemName('pool_pad') }), x);
  return apply(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid', name: stemName('pool') }), x);
}

/**
 * Head: BN-ReLU-global average pool-dense classifier (with bias) that outputs logits. The softmax
 * lives in the loss (`tf.losses.softmaxCrossEntropy`, computed stably from logits, so its gradient
 * never vanishes) and in `predictProbabilities` where probabilities are shown.
 */
export function classifierHead(x: T, classes: number, ctx: BuildContext): T {
  x = batchNorm(x, headName('bn'));
  x = relu(x, headName('relu'));
  x = apply(tf.layers.globalAveragePooling2d({ name: headName('pool') }), x);
  return apply(
    tf.layers.dense({
      units: classes,
      activation: 'linear',
      kernelInitializer: tf.initializers.glorotUniform({ seed: ctx.nextSeed() }),
      name: CLASSIFIER_NAME,
    }),
    x,
  );
}
