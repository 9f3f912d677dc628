/** cardlab's public API: `require('cardlab')` (or the project folder). */
export { tf, initBackend, useBackend, availableBackends, BACKENDS } from './tf';
export type { BackendName } from './tf';
export {
  buildDenseNet, cifarConfig, imagenetConfig, presetConfig, PRESETS, PRESET_NAMES,
  densenet121, densenet161, densenet169, densenet201, densenet264,
  analyzeDenseNet, compareConvParams, validateConfig, variantName, paperDepth, transitionChannels,
  compositeLayer, bottleneckLayer, denseLayer, denseBlock, transition, cifarStem, imagenetStem, classifierHead,
  BuildContext, BN_EPSILON, buildCifarResNet, cifarResNetParams,
} from './densenet';
export type {
  DenseNetConfig, Stem, PresetName, CifarOptions, BuildOptions, DenseNetSummary, LayerInfo, StageInfo,
  ConvParamComparison, DenseLayerFn, DenseBlockFn, DenseLayerSpec, CifarResNetOptions,
} from './densenet';
