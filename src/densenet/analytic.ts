/**
 * Shapes and parameter counts of a DenseNet, computed from its configuration
 * without building a model (instant even for densenet264). Lists the same
 * layers, under the same names, as `buildDenseNet`; the tests check that every
 * number equals the built model's.
 */
import {
  bottleneckChannels,
  DenseNetConfig,
  paperDepth,
  transitionChannels,
  validateConfig,
  variantName,
} from './config';
import {
  blockOutputName,
  CLASSIFIER_NAME,
  denseLayerName,
  headName,
  INPUT_NAME,
  Namer,
  stemName,
  transitionName,
} from './names';

/** [height, width, channels] of one example (the batch axis is left out). */
export type Shape = [number, number, number];

export type LayerKind =
  | 'input'
  | 'conv'
  | 'batchnorm'
  | 'relu'
  | 'dropout'
  | 'concat'
  | 'zeropad'
  | 'maxpool'
  | 'avgpool'
  | 'globalavgpool'
  | 'dense';

export interface LayerInfo {
  name: string;
  kind: LayerKind;
  /** input, stem, block1…, transition1…, head */
  stage: string;
  /** Output shape without the batch axis: [h, w, c], or [units] after global pooling. */
  outputShape: number[];
  trainableParams: number;
  nonTrainableParams: number;
}

export interface StageInfo {
  name: string;
  kind: 'stem' | 'block' | 'transition' | 'head';
  /** Dense layers in a block. */
  layers?: number;
  inputShape: number[];
  outputShape: number[];
  /** Channels leaving the stage (classes for the head). */
  channels: number;
  trainableParams: number;
  nonTrainableParams: number;
}

export interface DenseNetSummary {
  /** e.g. "DenseNet-BC": the paper's variant name. */
  variant: string;
  /** L as the paper counts it (convs + classifier). */
  depth: number;
  config: DenseNetConfig;
  inputShape: Shape;
  outputShape: number[];
  /** Channels at the end of each dense block (before its transition). */
  blockChannels: number[];
  stages: StageInfo[];
  layers: LayerInfo[];
  trainableParams: number;
  nonTrainableParams: number;
  totalParams: number;
}

// Parameter formulas, one place each.
export const convParams = (kernel: number, inChannels: number, outChannels: number): number =>
  kernel * kernel * inChannels * outChannels; // no bias
export const batchNormParams = (channels: number) => ({ trainable: 2 * channels, nonTrainable: 2 * channels }); // γ, β | moving mean, variance
export const denseParams = (inUnits: number, units: number): number => inUnits * units + units; // with bias

/** Output size of a 'valid' window of `size` and `stride` over `n` positions. */
const validOutput = (n: number, size: number, stride: number): number => Math.floor((n - size) / stride) + 1;

/** Walks the architecture like the builder does, recording each layer's shape and parameters. */
class Tracer {
  readonly layers: LayerInfo[] = [];
  stage = 'input';

  constructor(private readonly dropRate: number) {}

  add(name: string, kind: LayerKind, outputShape: number[], trainable = 0, nonTrainable = 0): number[] {
    for (const d of outputShape) {
      if (d < 1) {
        throw new Error(
          `the input is too small for this DenseNet: ${name} would output ${outputShape.join('×')}; ` +
            'use a larger input or fewer blocks',
        );
      }
    }
    this.layers.push({ name, kind, stage: this.stage, outputShape, trainableParams: trainable, nonTrainableParams: nonTrainable });
    return outputShape;
  }

  batchNorm(x: Shape, name: string): Shape {
    const p = batchNormParams(x[2]);
    return this.add(name, 'batchnorm', [...x], p.trainable, p.nonTrainable) as Shape;
  }

  relu(x: Shape, name: string): Shape {
    return this.add(name, 'relu', [...x]) as Shape;
  }

  conv(x: Shape, filters: number, kernel: number, name: string, stride = 1, padding: 'same' | 'valid' = 'same'): Shape {
    const [h, w] = padding === 'same' ? [Math.ceil(x[0] / stride), Math.ceil(x[1] / stride)] : [validOutput(x[0], kernel, stride), validOutput(x[1], kernel, stride)];
    return this.add(name, 'conv', [h, w, filters], convParams(kernel, x[2], filters)) as Shape;
  }

  dropout(x: Shape, name: string): Shape {
    return this.dropRate > 0 ? (this.add(name, 'dropout', [...x]) as Shape) : x;
  }

  concat(features: Shape[], name: string): Shape {
    if (features.length === 1) return features[0];
    const [h, w] = features[0];
    return this.add(name, 'concat', [h, w, features.reduce((sum, f) => sum + f[2], 0)]) as Shape;
  }

  zeroPad(x: Shape, pad: number, name: string): Shape {
    return this.add(name, 'zeropad', [x[0] + 2 * pad, x[1] + 2 * pad, x[2]]) as Shape;
  }

  pool(x: Shape, kind: 'maxpool' | 'avgpool', size: number, stride: number, name: string): Shape {
    return this.add(name, kind, [validOutput(x[0], size, stride), validOutput(x[1], size, stride), x[2]]) as Shape;
  }
}

// The same steps as layers.ts, on shapes.

function compositeLayer(t: Tracer, x: Shape, k: number, name: Namer): Shape {
  x = t.batchNorm(x, name('bn'));
  x = t.relu(x, name('relu'));
  x = t.conv(x, k, 3, name('conv3x3'));
  return t.dropout(x, name('dropout'));
}

function bottleneckLayer(t: Tracer, x: Shape, k: number, name: Namer): Shape {
  x = t.batchNorm(x, name('bn1'));
  x = t.relu(x, name('relu1'));
  x = t.conv(x, bottleneckChannels(k), 1, name('conv1x1'));
  x = t.dropout(x, name('dropout1'));
  x = t.batchNorm(x, name('bn2'));
  x = t.relu(x, name('relu2'));
  x = t.conv(x, k, 3, name('conv3x3'));
  return t.dropout(x, name('dropout2'));
}

function denseBlock(t: Tracer, x: Shape, layers: number, block: number, config: DenseNetConfig): Shape {
  const features = [x];
  for (let layer = 1; layer <= layers; layer++) {
    const name = denseLayerName(block, layer);
    const input = t.concat(features, name('concat'));
    features.push(
      config.bottleneck
        ? bottleneckLayer(t, input, config.growthRate, name)
        : compositeLayer(t, input, config.growthRate, name),
    );
  }
  return t.concat(features, blockOutputName(block));
}

function transition(t: Tracer, x: Shape, compression: number, index: number): Shape {
  const name = transitionName(index);
  x = t.batchNorm(x, name('bn'));
  x = t.relu(x, name('relu'));
  x = t.conv(x, transitionChannels(x[2], compression), 1, name('conv'));
  x = t.dropout(x, name('dropout'));
  return t.pool(x, 'avgpool', 2, 2, name('pool'));
}

function stem(t: Tracer, x: Shape, config: DenseNetConfig): Shape {
  if (config.stem === 'cifar') return t.conv(x, config.initFeatures, 3, stemName('conv'));
  x = t.zeroPad(x, 3, stemName('conv_pad'));
  x = t.conv(x, config.initFeatures, 7, stemName('conv'), 2, 'valid');
  x = t.batchNorm(x, stemName('bn'));
  x = t.relu(x, stemName('relu'));
  x = t.zeroPad(x, 1, stemName('pool_pad'));
  return t.pool(x, 'maxpool', 3, 2, stemName('pool'));
}

function head(t: Tracer, x: Shape, classes: number): number[] {
  x = t.batchNorm(x, headName('bn'));
  x = t.relu(x, headName('relu'));
  t.add(headName('pool'), 'globalavgpool', [x[2]]);
  return t.add(CLASSIFIER_NAME, 'dense', [classes], denseParams(x[2], classes));
}

/** Every layer's output shape and parameters, per stage and in total, without building anything. */
export function analyzeDenseNet(config: DenseNetConfig): DenseNetSummary {
  validateConfig(config);
  const t = new Tracer(config.dropRate);
  const stages: StageInfo[] = [];
  const blockChannels: number[] = [];

  let x = t.add(INPUT_NAME, 'input', [...config.inputShape]) as Shape;
  const stage = (name: string, kind: StageInfo['kind'], run: (input: Shape) => number[], layers?: number) => {
    t.stage = name;
    const first = t.layers.length;
    const inputShape = [...x];
    const out = run(x);
    const own = t.layers.slice(first);
    stages.push({
      name,
      kind,
      ...(layers === undefined ? {} : { layers }),
      inputShape,
      outputShape: out,
      channels: out[out.length - 1],
      trainableParams: own.reduce((s, l) => s + l.trainableParams, 0),
      nonTrainableParams: own.reduce((s, l) => s + l.nonTrainableParams, 0),
    });
    return out;
  };

  x = stage('stem', 'stem', (input) => stem(t, input, config)) as Shape;
  config.blocks.forEach((layers, i) => {
    const block = i + 1;
    x = stage(`block${block}`, 'block', (input) => denseBlock(t, input, layers, block, config), layers) as Shape;
    blockChannels.push(x[2]);
    if (block < config.blocks.length) {
      x = stage(`transition${block}`, 'transition', (input) => transition(t, input, config.compression, block)) as Shape;
    }
  });
  const outputShape = stage('head', 'head', (input) => head(t, input, config.classes));

  const trainableParams = t.layers.reduce((s, l) => s + l.trainableParams, 0);
  const nonTrainableParams = t.layers.reduce((s, l) => s + l.nonTrainableParams, 0);
  return {
    variant: variantName(config),
    depth: paperDepth(config),
    config,
    inputShape: [...config.inputShape],
    outputShape,
    blockChannels,
    stages,
    layers: t.layers,
    trainableParams,
    nonTrainableParams,
    totalParams: trainableParams + nonTrainableParams,
  };
}

/** The deck's comparison for one layer: why DenseNets need fewer parameters. */
export interface ConvParamComparison {
  /** ℓ: the layer's index in its block. */
  layer: number;
  growthRate: number;
  /** ℓ·k: channels the DenseNet layer reads (the deck's approximation). */
  denseInputChannels: number;
  /** 3×3×(ℓ·k) kernel applied k times: O(ℓ·k·k). */
  denseConv3x3Params: number;
  /** DenseNet-B: Conv1×1 ℓk→4k plus Conv3×3 4k→k, which no longer grows with ℓ·k·k. */
  bottleneckParams: number;
  /** C: channels in and out of the ResNet conv. */
  resnetChannels: number;
  /** 3×3×C kernel applied C times: O(C·C). */
  resnetConv3x3Params: number;
  /** How many times more parameters the ResNet conv has than the DenseNet 3×3 conv. */
  ratio: number;
}

export function compareConvParams(layer: number, growthRate: number, resnetChannels: number): ConvParamComparison {
  for (const [what, n] of [['layer', layer], ['growthRate', growthRate], ['resnetChannels', resnetChannels]] as const) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a positive integer (got ${n})`);
  }
  const denseInputChannels = layer * growthRate;
  const denseConv3x3Params = convParams(3, denseInputChannels, growthRate);
  const resnetConv3x3Params = convParams(3, resnetChannels, resnetChannels);
  return {
    layer,
    growthRate,
    denseInputChannels,
    denseConv3x3Params,
    bottleneckParams: convParams(1, denseInputChannels, bottleneckChannels(growthRate)) + convParams(3, bottleneckChannels(growthRate), growthRate),
    resnetChannels,
    resnetConv3x3Params,
    ratio: resnetConv3x3Params / denseConv3x3Params,
  };
}
