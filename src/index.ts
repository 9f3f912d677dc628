/** cardlab's public API: `require('cardlab')` (or the project folder). */
export { tf, initBackend, useBackend, availableBackends, BACKENDS } from './tf';
export type { BackendName } from './tf';
export { displayPlotly, displayBundle, plotlyBundle, livePlotly, PLOTLY_MIME } from './cells/display';
export type { PlotlyFigure, StaticFallback, DisplayTarget } from './cells/display';
export { runCells, runCell, runNotebook } from './cells/runner';
export type { RunOptions, RunResult, CellRun } from './cells/runner';
export type { CellEvent, MimeBundle, ExitReason } from './cells/events';
export { readNotebook, writeNotebook, parseNotebook, codeCells, parseCardLink, formatCardLink } from './cells/notebook';
export type { Notebook, CodeCell, CardLink } from './cells/notebook';
export { parseCards } from './cards/parse';
export { parseNote } from './cards/note';
export type { ParseNoteOptions } from './cards/note';
export { renderMarkdown, renderSide } from './cards/render';
export type { RenderOptions } from './cards/render';
export { DEFAULT_PARSER_OPTIONS, CardOptionsError } from './cards/options';
export type { Card, CardType, CardSchedule, ParsedCard, ParserOptions, Note, Sibling, ScheduleComment } from './cards/model';
export {
  buildDenseNet, cifarConfig, imagenetConfig, presetConfig, PRESETS, PRESET_NAMES,
  densenet121, densenet161, densenet169, densenet201, densenet264,
  analyzeDenseNet, compareConvParams, validateConfig, variantName, paperDepth, transitionChannels,
  compositeLayer, bottleneckLayer, denseLayer, denseBlock, transition, cifarStem, imagenetStem, classifierHead,
  BuildContext, BN_EPSILON, buildCifarResNet, cifarResNetParams,
  EfficientDenseBlock, efficientDenseBlock, efficientDenseBlockOp,
} from './densenet';
export type {
  DenseNetConfig, Stem, PresetName, CifarOptions, BuildOptions, DenseNetSummary, LayerInfo, StageInfo,
  ConvParamComparison, DenseLayerFn, DenseBlockFn, DenseLayerSpec, CifarResNetOptions,
  EfficientDenseBlockArgs, EfficientBlockOptions, UnitWeights,
} from './densenet';
export {
  loadMnist, loadCifar10, readCifarBatch, decodeCifarRecords, encodeCifarRecords, syntheticStripes, loadDataset,
  toTensors, subset, concatSets, classCounts, seededRandom, shuffledIndices, CIFAR_CLASS_NAMES, DATASETS,
} from './data';
export type { ImageSet, MnistSplit, MnistSplitOptions, SyntheticOptions, DatasetName, LoadedDataset } from './data';
export {
  trainModel, trainStep, evaluate, predictClasses, predictProbabilities, confusionMatrix, learningRateAt, makeOptimizer, setLearningRate,
  decayedWeights, fileSystemIO, saveModel, loadModel, loadWeightsInto, readMetricsLog, ProgressReporter,
  defaultRecipe, PAPER_RECIPE, PAPER_WEIGHT_DECAY, PAPER_MOMENTUM,
} from './train';
export type { TrainOptions, TrainResult, EpochMetrics, Evaluation, OptimizerName, ScheduleName, Recipe } from './train';
export { DataParallelTrainer, replicasAvailable, DEFAULT_REPLICAS } from './parallel';
export type { DataParallelOptions } from './parallel';
export { osrSchedule, DEFAULT_OSR_SETTINGS, toReviewResponse } from './cards/scheduling/osr';
export type { OsrSettings, ReviewResponse } from './cards/scheduling/osr';
export { DueDateHistogram } from './cards/scheduling/histogram';
export {
  fsrsNewCardSchedule,
  fsrsUpdatedCardSchedule,
  fsrsResetSchedule,
  formatFsrsSegment,
  parseFsrsSegment,
} from './cards/scheduling/fsrs';
export type { FsrsCardSchedule, FsrsSettings } from './cards/scheduling/fsrs';
export { reviewSchedule, resolveSchedulerSettings, formatSegment, siblingSchedule } from './cards/scheduling/scheduler';
export type { SchedulerSettings, SiblingSchedule, ReviewContext } from './cards/scheduling/scheduler';
export { gradeCard, locateCard, loadVault, dueCounts, dueDateHistogram, CardNotFoundError } from './cards/review';
export type { GradeOptions, GradeResult, ReviewSettings, DeckDueCounts, CardLocator } from './cards/review';
export { writeScheduleIntoText, WriteBackError } from './cards/write';
export { undoGrade, restoreCommentInText } from './cards/undo';
export type { GradeUndo } from './cards/undo';
export { writeFileAtomic, withFileQueue } from './cards/deck-file';
export { notebookSize, bySize, NOTEBOOK_SIZE_ENV, NOTEBOOK_SIZES } from './cells/size';
export type { NotebookSize } from './cells/size';
export {
  channelGrowth, paramsOverDepth, featureReuseHeatmap, trainingCurves, confusionMatrixHeatmap, dataEfficiency,
  memoryFigure, figureHtml, tableFallback, showFigure, showLiveFigure, liveTrainingChart,
  dueForecast, intervalDistribution, easeDistribution, reviewsPerDay, statsFigures,
} from './viz';
export type { ChannelGrowthInput, ParamsOverDepthInput, FeatureReuseInput, TrainingPoint, DataEfficiencyPoint, LiveTrainingChart } from './viz';
export { errorVsParams, denseBlockDiagram, transitionDiagram, memoryEfficientDiagram } from './viz';
export { architectureTable } from './viz/architecture-table';
export { DECK_FIGURES, deckImageLinks } from './figures/deck-figures';
export type { DeckFigure, FigureContent } from './figures/deck-figures';
export { showDeckFigure } from './figures/show';
export { featureReuse } from './densenet/feature-reuse';
export type { FeatureReuse } from './densenet/feature-reuse';
export { measureTrainingStep } from './train/measure';
export type { StepSpec, StepMeasurement } from './train/measure';
export type { MemoryRow } from './viz/memory';
export { autograde, assignNotebook, assignFiles } from './coursework';
export type { GradeReport, CellGrade, AutogradeOptions } from './coursework';
