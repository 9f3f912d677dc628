/**
 * A live loss/accuracy chart for `trainModel`: pass `chart.progress` and `chart.onEpochEnd` to the
 * training options and the chart redraws itself in place as batches finish (at most every
 * `redrawMs`) and after each epoch's validation, with a status line above it (epoch, step, loss,
 * accuracy, held-out accuracy, time) that is readable in any front end, charts or not.
 *
 * Every redraw sends the whole figure (Jupyter replaces the output), so the chart keeps at most
 * `POINTS_PER_EPOCH` running-mean points per epoch: a long run stays a few kilobytes per redraw.
 */
import { displayBundle } from '../cells/display';
import { formatDuration, ProgressReporter } from '../train/progress';
import type { EpochMetrics } from '../train/loop';
import { showLiveFigure } from './fallback';
import { trainingCurves, type TrainingPoint } from './training';

export const POINTS_PER_EPOCH = 20;

export interface LiveTrainingChart {
  progress: ProgressReporter;
  onEpochEnd: (metrics: EpochMetrics) => void;
  /** Every point drawn so far (running means within an epoch; validation at its end). */
  points: TrainingPoint[];
}

/** Records the running loss and accuracy of each batch instead of printing them. */
class ChartProgress extends ProgressReporter {
  epochIndex = 0;
  epochCount = 0;
  stepsInEpoch = 1;
  step = 0;

  constructor(private readonly onPoint: (point: TrainingPoint, last: boolean, keep: boolean) => void) {
    super({ mode: 'off' });
  }

  override startEpoch(epoch: number, epochs: number, steps: number): void {
    super.startEpoch(epoch, epochs, steps);
    this.epochIndex = epoch;
    this.epochCount = epochs;
    this.stepsInEpoch = steps;
  }

  override update(step: number, loss: number, accuracy: number): void {
    this.step = step;
    const every = Math.max(1, Math.ceil(this.stepsInEpoch / POINTS_PER_EPOCH));
    const last = step === this.stepsInEpoch;
    this.onPoint({ epoch: this.epochIndex + step / this.stepsInEpoch, loss, accuracy }, last, last || step % every === 0);
  }
}

const percent = (v: number | undefined) => (v === undefined ? '—' : `${(100 * v).toFixed(1)}%`);

/** The status line: where the run is and how it does, as text and as HTML. */
function statusBundle(progress: ChartProgress, latest: TrainingPoint | undefined, lastVal: TrainingPoint | undefined, seconds: number): Record<string, string> {
  const parts = [
    `epoch ${Math.min(progress.epochIndex + 1, Math.max(progress.epochCount, 1))}/${progress.epochCount || '?'}`,
    `step ${progress.step}/${progress.stepsInEpoch}`,
    `loss ${latest?.loss?.toFixed(3) ?? '—'}`,
    `accuracy ${percent(latest?.accuracy)}`,
    `held-out accuracy ${percent(lastVal?.valAccuracy)}${lastVal ? ` (after epoch ${Math.round(lastVal.epoch)})` : ''}`,
    `${formatDuration(seconds)} elapsed`,
  ];
  const text = parts.join(' · ');
  return { 'text/plain': text, 'text/html': `<div class="cardlab-training-status"><code>${text}</code></div>` };
}

export function liveTrainingChart(title = 'Training', redrawMs = 2000): LiveTrainingChart {
  const points: TrainingPoint[] = [];
  const started = Date.now();
  let latest: TrainingPoint | undefined;
  let lastVal: TrainingPoint | undefined;
  const statusId = `cardlab-status-${process.pid}-${started}-${Math.random().toString(36).slice(2)}`;
  const progress = new ChartProgress((point, last, keep) => {
    latest = point;
    if (keep) points.push(point);
    if (last || Date.now() - lastDraw >= redrawMs) draw();
  });
  displayBundle(statusBundle(progress, latest, lastVal, 0), {}, { displayId: statusId });
  const chart = showLiveFigure(trainingCurves(points, title));
  let lastDraw = 0;
  const draw = () => {
    lastDraw = Date.now();
    displayBundle(statusBundle(progress, latest, lastVal, (Date.now() - started) / 1000), {}, { displayId: statusId, update: true });
    chart.update(trainingCurves(points, title));
  };
  const onEpochEnd = (metrics: EpochMetrics) => {
    if (metrics.valLoss !== undefined) {
      lastVal = { epoch: metrics.epoch, valLoss: metrics.valLoss, valAccuracy: metrics.valAccuracy };
      points.push(lastVal);
    }
    draw();
  };
  return { progress, onEpochEnd, points };
}
