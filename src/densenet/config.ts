/**
 * DenseNet configuration: the one description that the builders, the analytic
 * counts, the presets and the CLI share.
 */

export type Stem = 'cifar' | 'imagenet';

export interface DenseNetConfig {
  /** Layers per dense block, e.g. [6, 12, 24, 16] for densenet121. */
  blocks: number[];
  /** Growth rate k: feature maps each composite layer adds. */
  growthRate: number;
  /** DenseNet-B: BN-ReLU-Conv1×1(4k) before each 3×3 conv. */
  bottleneck: boolean;
  /** θ in (0, 1]: a transition after a block with m maps outputs ⌊θm⌋. */
  compression: number;
  /** Channels of the stem conv (16 or 2k on CIFAR, 2k or 96 on ImageNet). */
  initFeatures: number;
  stem: Stem;
  /** Input height, width, channels. */
  inputShape: [number, number, number];
  classes: number;
  /** Dropout after each conv (0 = none). */
  dropRate: number;
  /** Recompute concatenation, BN and ReLU in the backward pass (Pleiss et al. 2017). */
  memoryEfficient: boolean;
}

/** Variant name in the paper's vocabulary: DenseNet, DenseNet-B, DenseNet-C, DenseNet-BC. */
export function variantName(config: Pick<DenseNetConfig, 'bottleneck' | 'compression'>): string {
  const suffix = `${config.bottleneck ? 'B' : ''}${config.compression < 1 ? 'C' : ''}`;
  return suffix ? `DenseNet-${suffix}` : 'DenseNet';
}

/** Width of the bottleneck's 1×1 conv: 4k (paper, section 3). */
export function bottleneckChannels(growthRate: number): number {
  return 4 * growthRate;
}

/**
 * ⌊θm⌋: the channels a transition keeps from a block's m maps. The tiny
 * tolerance makes e.g. θ = 0.29, m = 100 give 29, not 28 from 28.999999999999996.
 */
export function transitionChannels(channels: number, compression: number): number {
  return Math.floor(channels * compression + 1e-9);
}

/**
 * Depth L as the paper counts it: layers with weights (convs and the classifier).
 * 121 for [6, 12, 24, 16] with bottlenecks; 40 for three blocks of 12 without.
 * (By this rule densenet264 has 265: its name is the paper's, not the count.)
 */
export function paperDepth(config: Pick<DenseNetConfig, 'blocks' | 'bottleneck'>): number {
  const perLayer = config.bottleneck ? 2 : 1;
  const denseConvs = config.blocks.reduce((sum, n) => sum + n * perLayer, 0);
  const transitions = config.blocks.length - 1;
  return 1 + denseConvs + transitions + 1;
}

const isPositiveInt = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0;

/** Throws a clear error for a configuration that cannot describe a DenseNet. */
export function validateConfig(config: DenseNetConfig): void {
  const problems: string[] = [];
  if (!Array.isArray(config.blocks) || config.blocks.length === 0 || !config.blocks.every(isPositiveInt)) {
    problems.push(`blocks must be a non-empty list of positive integers (got ${JSON.stringify(config.blocks)})`);
  }
  if (!isPositiveInt(config.growthRate)) problems.push(`growthRate must be a positive integer (got ${config.growthRate})`);
  if (!(typeof config.compression === 'number' && config.compression > 0 && config.compression <= 1)) {
    problems.push(`compression θ must be in (0, 1] (got ${config.compression})`);
  }
  if (!isPositiveInt(config.initFeatures)) problems.push(`initFeatures must be a positive integer (got ${config.initFeatures})`);
  if (config.stem !== 'cifar' && config.stem !== 'imagenet') problems.push(`stem must be "cifar" or "imagenet" (got ${JSON.stringify(config.stem)})`);
  if (!Array.isArray(config.inputShape) || config.inputShape.length !== 3 || !config.inputShape.every(isPositiveInt)) {
    problems.push(`inputShape must be [height, width, channels] of positive integers (got ${JSON.stringify(config.inputShape)})`);
  }
  if (!isPositiveInt(config.classes)) problems.push(`classes must be a positive integer (got ${config.classes})`);
  if (!(typeof config.dropRate === 'number' && config.dropRate >= 0 && config.dropRate < 1)) {
    problems.push(`dropRate must be in [0, 1) (got ${config.dropRate})`);
  }
  if (typeof config.bottleneck !== 'boolean') problems.push(`bottleneck must be true or false (got ${config.bottleneck})`);
  if (typeof config.memoryEfficient !== 'boolean') problems.push(`memoryEfficient must be true or false (got ${config.memoryEfficient})`);
  if (problems.length > 0) throw new Error(`invalid DenseNet configuration: ${problems.join('; ')}`);
  // Any positive transition width: ⌊θm⌋ = 0 would leave the next block nothing to read.
  let channels = config.initFeatures;
  config.blocks.forEach((layers, i) => {
    channels += layers * config.growthRate;
    if (i < config.blocks.length - 1) {
      const kept = transitionChannels(channels, config.compression);
      if (kept < 1) {
        throw new Error(`invalid DenseNet configuration: transition ${i + 1} keeps ⌊${config.compression}·${channels}⌋ = 0 channels`);
      }
      channels = kept;
    }
  });
}
