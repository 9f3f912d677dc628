/**
 * Plotly figures of training and evaluation, shared by the notebooks and the web UI: pure
 * functions of their data, returning `{ data, layout }`. `trainingCurves` is redrawn with a
 * growing list of points for a live chart (see `liveTrainingChart`).
 */
import type { PlotlyFigure } from '../cells/display';

/** One point of a training run: `epoch` may be fractional (a point within an epoch). */
export interface TrainingPoint {
  epoch: number;
  loss?: number;
  accuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
}

const series = (points: TrainingPoint[], key: keyof TrainingPoint) => {
  const kept = points.filter((p) => typeof p[key] === 'number' && Number.isFinite(p[key]));
  return { x: kept.map((p) => p.epoch), y: kept.map((p) => p[key] as number) };
};

/** Loss (left axis) and accuracy (right axis) against epochs, training and validation. */
export function trainingCurves(points: TrainingPoint[], title = 'Training'): PlotlyFigure {
  const trace = (key: keyof TrainingPoint, name: string, color: string, dash: string, axis: 'y' | 'y2') => ({
    type: 'scatter',
    mode: key.startsWith('val') ? 'lines+markers' : 'lines',
    name,
    ...series(points, key),
    yaxis: axis,
    line: { color, dash },
  });
  return {
    data: [
      trace('loss', 'training loss', '#d62728', 'solid', 'y'),
      trace('valLoss', 'validation loss', '#d62728', 'dot', 'y'),
      trace('accuracy', 'training accuracy', '#1f77b4', 'solid', 'y2'),
      trace('valAccuracy', 'validation accuracy', '#1f77b4', 'dot', 'y2'),
    ],
    layout: {
      title: { text: title },
      xaxis: { title: { text: 'epoch' }, rangemode: 'tozero' },
      yaxis: { title: { text: 'cross-entropy loss' }, rangemode: 'tozero' },
      yaxis2: { title: { text: 'accuracy' }, overlaying: 'y', side: 'right', range: [0, 1], tickformat: '.0%' },
      legend: { orientation: 'h', y: -0.2 },
    },
  };
}

/** confusion[actual][predicted] as a heatmap with the counts written in the cells. */
export function confusionMatrixHeatmap(confusion: number[][], labels?: string[], title = 'Confusion matrix'): PlotlyFigure {
  const n = confusion.length;
  if (n === 0 || confusion.some((row) => row.length !== n)) throw new Error('confusionMatrixHeatmap: the matrix must be square and non-empty');
  const names = labels ?? confusion.map((_, i) => String(i));
  if (names.length !== n) throw new Error(`confusionMatrixHeatmap: ${names.length} labels for ${n} classes`);
  const total = confusion.reduce((sum, row) => sum + row.reduce((a, b) => a + b, 0), 0);
  const correct = confusion.reduce((sum, row, i) => sum + row[i], 0);
  return {
    data: [
      {
        type: 'heatmap',
        x: names,
        y: names,
        z: confusion.map((row) => [...row]),
        text: confusion.map((row) => row.map(String)),
        texttemplate: '%{text}',
        colorscale: 'Blues',
        hovertemplate: 'actual %{y}, predicted %{x}: %{z}<extra></extra>',
      },
    ],
    layout: {
      title: { text: `${title}: ${correct} of ${total} correct (${total ? ((100 * correct) / total).toFixed(1) : '0'}%)` },
      xaxis: { title: { text: 'predicted class' }, type: 'category' },
      yaxis: { title: { text: 'actual class' }, type: 'category', autorange: 'reversed' },
    },
  };
}

/** One measurement of the data-efficiency experiment. */
export interface DataEfficiencyPoint {
  /** e.g. "DenseNet-BC (L=22, k=8)". */
  model: string;
  trainSize: number;
  testAccuracy: number;
  /** Trainable parameters, shown in the legend. */
  params?: number;
}

/** Test accuracy against the number of training images, one line per model (log x axis). */
export function dataEfficiency(points: DataEfficiencyPoint[], title = 'Accuracy with less training data'): PlotlyFigure {
  const models = [...new Set(points.map((p) => p.model))];
  return {
    data: models.map((model) => {
      const own = points.filter((p) => p.model === model).sort((a, b) => a.trainSize - b.trainSize);
      const params = own.find((p) => p.params !== undefined)?.params;
      return {
        type: 'scatter',
        mode: 'lines+markers',
        name: params === undefined ? model : `${model}, ${params.toLocaleString('en-US')} params`,
        x: own.map((p) => p.trainSize),
        y: own.map((p) => p.testAccuracy),
      };
    }),
    layout: {
      title: { text: title },
      xaxis: { title: { text: 'training images' }, type: 'log' },
      yaxis: { title: { text: 'test accuracy' }, range: [0, 1], tickformat: '.0%' },
      legend: { orientation: 'h', y: -0.2 },
    },
  };
}
