/**
 * Configurations from the paper: CIFAR DenseNets by depth L, and the ImageNet
 * presets densenet121/161/169/201/264 (Huang et al. 2017, table 1).
 */
import { DenseNetConfig, validateConfig } from './config';

export interface CifarOptions {
  /** L: convs + classifier; three blocks of (L−4)/3 layers, (L−4)/6 with bottlenecks. */
  depth: number;
  growthRate?: number;
  bottleneck?: boolean;
  compression?: number;
  classes?: number;
  /** Default 16, or 2k for DenseNet-BC. */
  initFeatures?: number;
  inputShape?: [number, number, number];
  dropRate?: number;
  memoryEfficient?: boolean;
}

/** Layers per block for a CIFAR DenseNet of depth L; a depth that does not fit is an error. */
export function cifarBlockLayers(depth: number, bottleneck: boolean): number {
  const convsPerLayer = bottleneck ? 2 : 1;
  const perBlock = (depth - 4) / (3 * convsPerLayer);
  if (!Number.isInteger(depth) || !Number.isInteger(perBlock) || perBlock < 1) {
    const step = 3 * convsPerLayer;
    const below = 4 + step * Math.floor((depth - 4) / step);
    const near = (below >= 4 + step ? [below, below + step] : [4 + step]).join(' or ');
    throw new Error(
      `depth ${depth} does not fit a CIFAR DenseNet${bottleneck ? '-B' : ''}: L−4 must be a positive multiple of ${step} ` +
        `(three blocks of (L−4)/${step} layers${bottleneck ? ', two convs each' : ''}); the nearest depths are ${near}`,
    );
  }
  return perBlock;
}

export function cifarConfig(options: CifarOptions): DenseNetConfig {
  const { depth, growthRate = 12, bottleneck = false, compression = 1, classes = 10 } = options;
  const perBlock = cifarBlockLayers(depth, bottleneck);
  const isBC = bottleneck && compression < 1;
  const config: DenseNetConfig = {
    blocks: [perBlock, perBlock, perBlock],
    growthRate,
    bottleneck,
    compression,
    initFeatures: options.initFeatures ?? (isBC ? 2 * growthRate : 16),
    stem: 'cifar',
    inputShape: options.inputShape ?? [32, 32, 3],
    classes,
    dropRate: options.dropRate ?? 0,
    memoryEfficient: options.memoryEfficient ?? false,
  };
  validateConfig(config);
  return config;
}

/** An ImageNet-style DenseNet-BC: 7×7/2 stem with 2k channels, k = 32, θ = 0.5. */
export function imagenetConfig(overrides: Partial<DenseNetConfig> & Pick<DenseNetConfig, 'blocks'>): DenseNetConfig {
  const growthRate = overrides.growthRate ?? 32;
  const config: DenseNetConfig = {
    growthRate,
    bottleneck: true,
    compression: 0.5,
    initFeatures: 2 * growthRate,
    stem: 'imagenet',
    inputShape: [224, 224, 3],
    classes: 1000,
    dropRate: 0,
    memoryEfficient: false,
    ...overrides,
  };
  validateConfig(config);
  return config;
}

export const PRESETS = {
  densenet121: { blocks: [6, 12, 24, 16] },
  densenet161: { blocks: [6, 12, 36, 24], growthRate: 48, initFeatures: 96 },
  densenet169: { blocks: [6, 12, 32, 32] },
  densenet201: { blocks: [6, 12, 48, 32] },
  densenet264: { blocks: [6, 12, 64, 48] },
} satisfies Record<string, Partial<DenseNetConfig> & Pick<DenseNetConfig, 'blocks'>>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

export function isPresetName(name: string): name is PresetName {
  return Object.prototype.hasOwnProperty.call(PRESETS, name);
}

/** A preset's configuration, optionally changed (e.g. `{ classes: 10, inputShape: [64, 64, 3] }`). */
export function presetConfig(name: string, overrides: Partial<DenseNetConfig> = {}): DenseNetConfig {
  if (!isPresetName(name)) {
    throw new Error(`unknown DenseNet preset "${name}"; the presets are ${PRESET_NAMES.join(', ')}`);
  }
  const preset: Partial<DenseNetConfig> & Pick<DenseNetConfig, 'blocks'> = PRESETS[name];
  return imagenetConfig({ ...preset, blocks: [...preset.blocks], ...overrides });
}

export const densenet121 = (overrides?: Partial<DenseNetConfig>) => presetConfig('densenet121', overrides);
export const densenet161 = (overrides?: Partial<DenseNetConfig>) => presetConfig('densenet161', overrides);
export const densenet169 = (overrides?: Partial<DenseNetConfig>) => presetConfig('densenet169', overrides);
export const densenet201 = (overrides?: Partial<DenseNetConfig>) => presetConfig('densenet201', overrides);
export const densenet264 = (overrides?: Partial<DenseNetConfig>) => presetConfig('densenet264', overrides);
