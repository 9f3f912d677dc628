/** Training: loop, step (weight decay), schedules, optimizers, evaluation, progress, metrics log, save/load. */
export { trainModel, type TrainOptions, type TrainResult, type EpochMetrics } from './loop';
export { trainStep, decayedWeights, crossEntropy, outputsProbabilities, PAPER_WEIGHT_DECAY, type StepOptions, type StepResult } from './step';
export { learningRateAt, SCHEDULES, PAPER_MILESTONES, PAPER_DECAY, type ScheduleName } from './schedule';
export { makeOptimizer, setLearningRate, disposeOptimizer, OPTIMIZERS, PAPER_MOMENTUM, type OptimizerName } from './optimizer';
export { evaluate, predictClasses, predictProbabilities, confusionMatrix, type Evaluation } from './evaluate';
export { ProgressReporter, chooseProgressMode, formatDuration, PROGRESS_MODES, PROGRESS_ENV, type ProgressMode } from './progress';
export { appendMetricsLine, readMetricsLog } from './metrics-log';
export { fileSystemIO, saveModel, loadModel, loadWeightsInto, MODEL_FILE, WEIGHTS_FILE } from './fs-io';
export { defaultRecipe, PAPER_RECIPE, type Recipe } from './recipes';
export { measureTrainingStep, type StepSpec, type StepMeasurement } from './measure';
