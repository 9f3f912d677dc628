/**
 * The plotly figure specs of src/viz (shared by notebooks and the web UI), their table fallback,
 * the live chart's redraws through the cell runner, and the notebooks' size knob.
 */
import {
  channelGrowth, paramsOverDepth, featureReuseHeatmap, trainingCurves, confusionMatrixHeatmap, dataEfficiency, tableFallback,
  dueForecast, intervalDistribution, easeDistribution, reviewsPerDay, statsFigures,
} from '../src/viz';
import { countAxis } from '../src/viz/stats';
import { compareConvParams } from '../src/densenet/analytic';
import { notebookSize, bySize, NOTEBOOK_SIZE_ENV } from '../src/cells/size';
import { runCell } from '../src/cells/runner';
import { PLOTLY_MIME } from '../src/cells/display';
import { assertBuilt } from './helpers/built';

type Trace = Record<string, unknown> & { x?: unknown[]; y?: unknown[]; z?: unknown[][]; name?: string; type?: string };
const traces = (fig: { data: object[] }) => fig.data as Trace[];
const titleOf = (layout: Record<string, unknown> | undefined, key: string) => ((layout?.[key] as { title?: { text?: string } })?.title?.text);

describe('channelGrowth', () => {
  const fig = channelGrowth({ inputChannels: 3, growthRate: 10, layers: 3, measured: [3, 13, 23, 33] });

  test('stacks x₀ and each layer’s k maps: the bars sum to 3, 13, 23, 33', () => {
    const bars = traces(fig).filter((t) => t.type === 'bar');
    expect(bars).toHaveLength(4); // x₀ + one per layer
    const totals = [0, 1, 2, 3].map((i) => bars.reduce((sum, t) => sum + (t.y![i] as number), 0));
    expect(totals).toEqual([3, 13, 23, 33]);
    expect(bars[2].y).toEqual([0, 0, 10, 10]); // layer 2's maps exist from layer 2 on
    for (const t of bars) expect(t.x).toHaveLength(4);
    expect(fig.layout).toMatchObject({ barmode: 'stack' });
  });

  test('draws the measured channels as a line, with titles on both axes', () => {
    const line = traces(fig).find((t) => t.type === 'scatter')!;
    expect(line.y).toEqual([3, 13, 23, 33]);
    expect(titleOf(fig.layout, 'xaxis')).toMatch(/block/);
    expect(titleOf(fig.layout, 'yaxis')).toMatch(/channels/);
    expect((fig.layout!.title as { text: string }).text).toContain('3 + ℓ·10');
  });

  test('rejects measured values of the wrong length and non-integer sizes', () => {
    expect(() => channelGrowth({ inputChannels: 3, growthRate: 10, layers: 3, measured: [3, 13] })).toThrow(/measured needs 4 values/);
    expect(() => channelGrowth({ inputChannels: 3, growthRate: 0, layers: 3 })).toThrow(/growthRate must be a positive integer/);
  });
});

describe('paramsOverDepth', () => {
  test('cumulative: the sums of compareConvParams over ℓ = 1…L, one ResNet line per C, log axis', () => {
    const fig = paramsOverDepth({ growthRate: 12, resnetChannels: [64, 256], layers: 10 });
    const [dense, bottleneck, res64, res256] = traces(fig);
    expect(traces(fig)).toHaveLength(4);
    for (const t of traces(fig)) expect(t.x).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const sum = (f: (l: number) => number) => Array.from({ length: 10 }, (_, i) => i + 1).reduce((s, l) => s + f(l), 0);
    expect(dense.y![9]).toBe(sum((l) => compareConvParams(l, 12, 64).denseConv3x3Params));
    expect(bottleneck.y![9]).toBe(sum((l) => compareConvParams(l, 12, 64).bottleneckParams));
    expect(res64.y![9]).toBe(10 * 9 * 64 * 64);
    expect(res256.y![0]).toBe(9 * 256 * 256);
    expect(res256.name).toContain('C = 256');
    expect(fig.layout).toMatchObject({ yaxis: { type: 'log' } });
    expect(titleOf(fig.layout, 'xaxis')).toMatch(/layer ℓ/);
  });

  test('per layer: DenseNet grows linearly in ℓ, ResNet stays 9·C·C', () => {
    const fig = paramsOverDepth({ growthRate: 12, resnetChannels: [256], layers: 4, mode: 'per-layer' });
    expect(traces(fig)[0].y).toEqual([1, 2, 3, 4].map((l) => 9 * l * 12 * 12));
    expect(traces(fig)[2].y).toEqual([1, 2, 3, 4].map(() => 9 * 256 * 256));
  });

  test('needs a ResNet width and a positive depth', () => {
    expect(() => paramsOverDepth({ growthRate: 12, resnetChannels: [], layers: 4 })).toThrow(/ResNet width/);
    expect(() => paramsOverDepth({ growthRate: 12, resnetChannels: [64], layers: 0 })).toThrow(/layers/);
  });
});

describe('featureReuseHeatmap', () => {
  test('rows normalized to their maximum, unread sources stay empty, targets reversed top-down', () => {
    const fig = featureReuseHeatmap({ matrix: [[2, null, null], [1, 4, null], [3, 3, 6]], targets: ['layer 1', 'layer 2', 'transition 1'] });
    const [heat] = traces(fig);
    expect(heat.type).toBe('heatmap');
    expect(heat.z).toEqual([[1, null, null], [0.25, 1, null], [0.5, 0.5, 1]]);
    expect(heat.x).toEqual(['x₀ (block input)', 'layer 1', 'layer 2']);
    expect(heat.y).toEqual(['layer 1', 'layer 2', 'transition 1']);
    expect(fig.layout).toMatchObject({ yaxis: { autorange: 'reversed' } });
    expect(titleOf(fig.layout, 'xaxis')).toMatch(/source/);
  });

  test('labels must match the rows', () => {
    expect(() => featureReuseHeatmap({ matrix: [[1]], targets: ['a', 'b'] })).toThrow(/2 labels for 1 rows/);
    expect(() => featureReuseHeatmap({ matrix: [] })).toThrow(/empty/);
  });
});

describe('trainingCurves', () => {
  const points = [
    { epoch: 0.5, loss: 2, accuracy: 0.3 },
    { epoch: 1, loss: 1, accuracy: 0.6 },
    { epoch: 1, valLoss: 1.2, valAccuracy: 0.55 },
    { epoch: 2, loss: 0.5, accuracy: 0.8 },
  ];

  test('four traces: loss on the left axis, accuracy on the right, each with only its own points', () => {
    const fig = trainingCurves(points, 'DenseNet-BC on MNIST');
    const byName = Object.fromEntries(traces(fig).map((t) => [t.name, t]));
    expect(Object.keys(byName)).toEqual(['training loss', 'validation loss', 'training accuracy', 'validation accuracy']);
    expect(byName['training loss']).toMatchObject({ x: [0.5, 1, 2], y: [2, 1, 0.5], yaxis: 'y' });
    expect(byName['validation accuracy']).toMatchObject({ x: [1], y: [0.55], yaxis: 'y2' });
    expect(fig.layout).toMatchObject({ title: { text: 'DenseNet-BC on MNIST' }, yaxis2: { overlaying: 'y', side: 'right' } });
    expect(titleOf(fig.layout, 'xaxis')).toBe('epoch');
  });

  test('redrawing with more points (the live chart) gives longer traces; no points gives empty ones', () => {
    expect(traces(trainingCurves(points.slice(0, 1)))[0].x).toHaveLength(1);
    expect(traces(trainingCurves(points))[0].x).toHaveLength(3);
    expect(traces(trainingCurves([])).every((t) => t.x!.length === 0)).toBe(true);
  });
});

describe('confusionMatrixHeatmap', () => {
  test('counts written in the cells, accuracy in the title, actual classes down, predicted across', () => {
    const fig = confusionMatrixHeatmap([[5, 1], [2, 2]], ['cat', 'dog']);
    const [heat] = traces(fig);
    expect(heat).toMatchObject({ type: 'heatmap', x: ['cat', 'dog'], y: ['cat', 'dog'], z: [[5, 1], [2, 2]], text: [['5', '1'], ['2', '2']] });
    expect((fig.layout!.title as { text: string }).text).toContain('7 of 10 correct (70.0%)');
    expect(titleOf(fig.layout, 'xaxis')).toBe('predicted class');
    expect(titleOf(fig.layout, 'yaxis')).toBe('actual class');
  });

  test('a non-square matrix or wrong labels are errors', () => {
    expect(() => confusionMatrixHeatmap([[1, 2]])).toThrow(/square/);
    expect(() => confusionMatrixHeatmap([[1]], ['a', 'b'])).toThrow(/2 labels for 1 classes/);
  });
});

describe('dataEfficiency', () => {
  test('one line per model, sorted by training size, on a log axis, parameters in the legend', () => {
    const fig = dataEfficiency([
      { model: 'DenseNet-BC', trainSize: 2000, testAccuracy: 0.95, params: 66418 },
      { model: 'ResNet-8', trainSize: 500, testAccuracy: 0.8 },
      { model: 'DenseNet-BC', trainSize: 500, testAccuracy: 0.85, params: 66418 },
      { model: 'ResNet-8', trainSize: 2000, testAccuracy: 0.9 },
    ]);
    expect(traces(fig)).toHaveLength(2);
    expect(traces(fig)[0]).toMatchObject({ name: 'DenseNet-BC, 66,418 params', x: [500, 2000], y: [0.85, 0.95] });
    expect(traces(fig)[1]).toMatchObject({ name: 'ResNet-8', x: [500, 2000], y: [0.8, 0.9] });
    expect(fig.layout).toMatchObject({ xaxis: { type: 'log' } });
    expect(titleOf(fig.layout, 'yaxis')).toBe('test accuracy');
  });
});

describe('review stats figures (the web UI\'s stats page)', () => {
  const forecast = [
    { date: '2026-11-27', count: 3 },
    { date: '2026-11-28', count: 0 },
    { date: '2026-11-29', count: 5 },
  ];
  const intervals = [{ value: 1, count: 2 }, { value: 4, count: 1 }, { value: 100, count: 7 }];
  const eases = [{ value: 130, count: 1 }, { value: 250, count: 6 }];
  const days = [
    { date: '2026-11-25', grades: { Again: 1, Hard: 0, Good: 4, Easy: 2 } },
    { date: '2026-11-27', grades: { Again: 0, Hard: 3, Good: 1, Easy: 0 } },
  ];

  test('dueForecast: one bar per day, dates across, counts up, the number of days in the title', () => {
    const fig = dueForecast(forecast);
    expect(traces(fig)).toHaveLength(1);
    expect(traces(fig)[0]).toMatchObject({ type: 'bar', x: ['2026-11-27', '2026-11-28', '2026-11-29'], y: [3, 0, 5] });
    expect(fig.layout?.title).toMatchObject({ text: 'Due in the next 3 days' });
    expect(titleOf(fig.layout, 'xaxis')).toBe('date');
    expect(titleOf(fig.layout, 'yaxis')).toBe('cards');
    expect(traces(dueForecast([]))[0]).toMatchObject({ x: [], y: [] });
  });

  test('intervalDistribution: a bar per interval range (not 1-day bars over years), empty ranges between kept', () => {
    const fig = intervalDistribution(intervals);
    expect(traces(fig)).toHaveLength(1);
    expect(traces(fig)[0]).toMatchObject({
      type: 'bar',
      x: ['1 d', '2–3 d', '4–7 d', '1–2 wk', '2–4 wk', '1–3 mo', '3–6 mo'],
      y: [2, 0, 1, 0, 0, 0, 7],
    });
    expect(fig.layout).toMatchObject({ xaxis: { type: 'category' } });
    expect(titleOf(fig.layout, 'xaxis')).toBe('interval');
    expect(titleOf(fig.layout, 'yaxis')).toBe('cards');
    expect(traces(intervalDistribution([{ value: 5000, count: 1 }]))[0]).toMatchObject({ x: ['5 y +'], y: [1] });
  });

  test('easeDistribution: eases stored ×100 are shown as the factor (250 → 2.5), in steps of 0.1', () => {
    const fig = easeDistribution([...eases, { value: 254, count: 1 }]);
    expect(traces(fig)).toHaveLength(1);
    const t = traces(fig)[0];
    expect(t.x).toHaveLength(13);
    expect([t.x![0], t.x![12]]).toEqual(['1.3', '2.5']);
    expect([t.y![0], t.y![12]]).toEqual([1, 7]);
    expect((t.y as number[]).slice(1, 12).every((c) => c === 0)).toBe(true);
    expect(titleOf(fig.layout, 'xaxis')).toBe('ease');
    expect(titleOf(fig.layout, 'yaxis')).toBe('cards');
  });

  test('count axes tick at whole cards; no plotly toolbar; the legend has its own row under the title', () => {
    for (const [max, dtick] of [[0, 1], [1, 1], [3, 1], [7, 2], [23, 5], [480, 100]]) {
      expect(countAxis('cards', max)).toMatchObject({ tickmode: 'linear', tick0: 0, dtick });
    }
    const fig = reviewsPerDay(days);
    expect(fig.config).toMatchObject({ displayModeBar: false });
    expect(fig.layout).toMatchObject({ legend: { orientation: 'h', yanchor: 'bottom' }, yaxis: { dtick: 2 } });
    expect(dueForecast(forecast).config).toMatchObject({ displayModeBar: false });
  });

  test('reviewsPerDay: one stacked bar trace per grade, Again to Easy, days as categories', () => {
    const fig = reviewsPerDay(days);
    expect(traces(fig).map((t) => [t.type, t.name])).toEqual([['bar', 'Again'], ['bar', 'Hard'], ['bar', 'Good'], ['bar', 'Easy']]);
    for (const t of traces(fig)) expect(t.x).toEqual(['2026-11-25', '2026-11-27']);
    expect(traces(fig).map((t) => t.y)).toEqual([[1, 0], [0, 3], [4, 1], [2, 0]]);
    expect(fig.layout).toMatchObject({ barmode: 'stack', xaxis: { type: 'category' } });
    expect(titleOf(fig.layout, 'xaxis')).toBe('date');
    expect(titleOf(fig.layout, 'yaxis')).toBe('reviews');
    // Bar heights add up to each day's total.
    expect([0, 1].map((d) => traces(fig).reduce((n, t) => n + (t.y![d] as number), 0))).toEqual([7, 4]);
  });

  test('statsFigures: the four figures of the stats page from one stats object', () => {
    const figures = statsFigures({ forecast, intervals, eases, reviewsPerDay: days });
    expect(Object.keys(figures).sort()).toEqual(['eases', 'forecast', 'intervals', 'reviews']);
    expect(figures.forecast).toEqual(dueForecast(forecast));
    expect(figures.intervals).toEqual(intervalDistribution(intervals));
    expect(figures.eases).toEqual(easeDistribution(eases));
    expect(figures.reviews).toEqual(reviewsPerDay(days));
    // Plain JSON: what the server sends is what the page draws.
    expect(JSON.parse(JSON.stringify(figures))).toEqual(figures);
  });
});

describe('tableFallback (what nbconvert HTML shows)', () => {
  test('a line chart becomes a table of x against each trace', () => {
    const html = tableFallback(trainingCurves([{ epoch: 1, loss: 0.5, accuracy: 0.75 }], 'Run <1><br><sub>k = 12</sub>'));
    expect(html).toContain('<strong>Run &lt;1&gt;  k = 12 </strong>');
    expect(html).toContain('<th>training loss</th>');
    expect(html).toMatch(/<tr><th>1<\/th><td>0\.5000<\/td><td><\/td><td>0\.7500<\/td><td><\/td><\/tr>/);
  });

  test('a heatmap becomes its matrix', () => {
    const html = tableFallback(confusionMatrixHeatmap([[5, 1], [2, 2]]));
    expect(html).toContain('<tr><th>0</th><td>5</td><td>1</td></tr><tr><th>1</th><td>2</td><td>2</td></tr>');
  });
});

describe('notebook size knob', () => {
  test('quick or full from CARDLAB_NOTEBOOK_SIZE, full by default, anything else an error', () => {
    expect(notebookSize({})).toBe('full');
    expect(notebookSize({ [NOTEBOOK_SIZE_ENV]: 'quick' })).toBe('quick');
    expect(notebookSize({ [NOTEBOOK_SIZE_ENV]: ' FULL ' })).toBe('full');
    expect(() => notebookSize({ [NOTEBOOK_SIZE_ENV]: 'tiny' })).toThrow(/CARDLAB_NOTEBOOK_SIZE must be quick or full \(got "tiny"\)/);
    expect(bySize({ quick: 1, full: 20 }, { [NOTEBOOK_SIZE_ENV]: 'quick' })).toBe(1);
    expect(bySize({ quick: 1, full: 20 }, {})).toBe(20);
  });
});

describe('in a cell', () => {
  beforeAll(() => assertBuilt(['cells', 'viz']));

  test('a live figure is one display that later bundles update in place (same display id)', async () => {
    const result = await runCell(
      [
        "import { showLiveFigure, trainingCurves } from 'cardlab'",
        'const live = showLiveFigure(trainingCurves([], "live"))',
        'live.update(trainingCurves([{ epoch: 1, loss: 0.5 }], "live"))',
        'live.update(trainingCurves([{ epoch: 1, loss: 0.5 }, { epoch: 2, loss: 0.25 }], "live"))',
      ].join('\n'),
    ).result;
    expect(result.reason).toBe('done');
    const displays = result.events.filter((e) => e.type === 'display');
    expect(displays.map((e) => e.type === 'display' && e.update)).toEqual([false, true, true]);
    const ids = new Set(displays.map((e) => e.type === 'display' && e.displayId));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^cardlab-live-/);
    const last = displays[2];
    const figure = last.type === 'display' ? (last.data[PLOTLY_MIME] as { data: { y: number[] }[] }) : undefined;
    expect(figure!.data[0].y).toEqual([0.5, 0.25]);
    expect(last.type === 'display' && last.data['text/html']).toContain('<table>');
  });
});
