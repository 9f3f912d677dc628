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
