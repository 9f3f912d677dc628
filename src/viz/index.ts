/** Plotly figure specs shared by the notebooks and the web UI, and how notebooks show them. */
export { channelGrowth, paramsOverDepth, featureReuseHeatmap, errorVsParams } from './architecture';
export { denseBlockDiagram, transitionDiagram, memoryEfficientDiagram, keptChannels } from './diagrams';
export type { MemoryLayout } from './diagrams';
export type { ChannelGrowthInput, ParamsOverDepthInput, FeatureReuseInput, ErrorVsParamsPoint } from './architecture';
export { trainingCurves, confusionMatrixHeatmap, dataEfficiency } from './training';
export type { TrainingPoint, DataEfficiencyPoint } from './training';
export { memoryFigure, figureHtml } from './memory';
export { dueForecast, intervalDistribution, easeDistribution, reviewsPerDay, statsFigures } from './stats';
export type { DueDay, ValueCount, ReviewDay, ReviewGrade } from './stats';
export { tableFallback, showFigure, showLiveFigure } from './fallback';
export { liveTrainingChart } from './live';
export type { LiveTrainingChart } from './live';
