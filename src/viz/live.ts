/**
 * A live loss/accuracy chart for `trainModel`: pass `chart.progress` and `chart.onEpochEnd` to the
 * training options and the chart redraws itself in place as batches finish (at most every
 * `redrawMs`) and after each epoch's validation.
 */
import { ProgressReporter } from '../train/progress';
import type { EpochMetrics } from '../train/loop';
import { showLiveFigure } from './fallback';
import { trainingCurves, type TrainingPoint } from './training';

export interface LiveTrainingChart {
  progress: ProgressReporter;
  onEpochEnd: (metrics: EpochMetrics) => void;
  /** Every point drawn so far (running means within an epoch; validation at its end). */
  points: TrainingPoint[];
}

/** Records the running loss and accuracy of each batch instead of printing them. */
class ChartProgress extends ProgressReporter {
  private epochIndex = 0;
  private stepsInEpoch = 1;

  constructor(private readonly onPoint: (point: TrainingPoint, last: boolean) => void) {
    super({ mode: 'off' });
  }

  override startEpoch(epoch: number, epochs: number, steps: number): void {
    super.startEpoch(epoch, epochs, steps);
    this.epochIndex = epoch;
    this.stepsInEpoch = steps;
  }

  override update(step: number, loss: number, accuracy: number): void {
    this.onPoint({ epoch: this.epochIndex + step / this.stepsInEpoch, loss, accuracy }, step === this.stepsInEpoch);
  }
}

export function liveTrainingChart(title = 'Training', redrawMs = 1000): LiveTrainingChart {
  const points: TrainingPoint[] = [];
  const chart = showLiveFigure(trainingCurves(points, title));
  let lastDraw = 0;
  const draw = () => {
    lastDraw = Date.now();
    chart.update(trainingCurves(points, title));
  };
  const progress = new ChartProgress((point, last) => {
    points.push(point);
    if (last || Date.now() - lastDraw >= redrawMs) draw();
  });
  const onEpochEnd = (metrics: EpochMetrics) => {
    if (metrics.valLoss !== undefined) points.push({ epoch: metrics.epoch, valLoss: metrics.valLoss, valAccuracy: metrics.valAccuracy });
    draw();
  };
  return { progress, onEpochEnd, points };
}
