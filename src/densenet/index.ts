/** DenseNet models: configuration, builders, presets, analytic counts, ResNet baseline. */
export * from './config';
export * from './names';
export * from './layers';
export * from './build';
export * from './presets';
export * from './analytic';
export * from './resnet';
export * from './feature-reuse';
export * from './efficient';
export * from './efficient-layer';
