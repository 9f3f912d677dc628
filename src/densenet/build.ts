/**
 * `buildDenseNet(config)`: the DenseNet of a configuration as a tf.LayersModel,
 * in the order of Keras applications/densenet.py: stem, dense blocks with
 * transitions between them, then the classifier head.
 */
import { tf } from '../tf';
import { analyzeDenseNet } from './analytic';
import { DenseNetConfig, variantName } from './config';
import {
  BuildContext,
  cifarStem,
  classifierHead,
  denseBlock,
  DenseBlockFn,
  denseLayer,
  imagenetStem,
  transition,
} from './layers';
import { INPUT_NAME } from './names';
import { efficientDenseBlock } from './efficient-layer';

export interface BuildOptions {
  /** Seed for every weight initializer (and dropout): the same seed gives the same model. */
  seed?: number;
  /** Model name; default e.g. "DenseNet-BC". */
  name?: string;
}

/**
 * The dense-block implementation a configuration asks for: the naive block, or
 * with `memoryEfficient` one EfficientDenseBlock op per block (efficient-layer.ts)
 * with the same weights.
 */
export function denseBlockFor(config: DenseNetConfig): DenseBlockFn {
  if (config.memoryEfficient) return efficientDenseBlock;
  return (x, layers, block, options, ctx) => denseBlock(x, layers, block, options, ctx, denseLayer);
}

export function buildDenseNet(config: DenseNetConfig, options: BuildOptions = {}): tf.LayersModel {
  analyzeDenseNet(config); // validates the configuration and that the input is large enough, with clear errors
  const blockFn = denseBlockFor(config);
  const ctx = new BuildContext(config.dropRate, options.seed);

  const input = tf.input({ shape: config.inputShape, name: INPUT_NAME });
  let x = config.stem === 'imagenet' ? imagenetStem(input, config.initFeatures, ctx) : cifarStem(input, config.initFeatures, ctx);
  config.blocks.forEach((layers, i) => {
    const block = i + 1;
    x = blockFn(x, layers, block, { growthRate: config.growthRate, bottleneck: config.bottleneck }, ctx);
    if (block < config.blocks.length) x = transition(x, config.compression, block, ctx);
  });
  const output = classifierHead(x, config.classes, ctx);
  return tf.model({ inputs: input, outputs: output, name: options.name ?? variantName(config) });
}
