/**
 * Plotly figures of DenseNet's architecture, shared by the notebooks and the web UI: pure
 * functions of their data, returning `{ data, layout }`.
 */
import type { PlotlyFigure } from '../cells/display';
import { compareConvParams } from '../densenet/analytic';

export interface ChannelGrowthInput {
  /** c₀: channels of the block input x₀. */
  inputChannels: number;
  /** k: maps each composite layer adds. */
  growthRate: number;
  /** ℓ = 1 … layers. */
  layers: number;
  /** Channels actually measured after each layer (index 0: the input), drawn as a line. */
  measured?: number[];
}

/** Channels of [x₀, x₁, …, x_ℓ] after each layer: x₀ and each layer's k maps stacked (concatenation). */
export function channelGrowth(input: ChannelGrowthInput): PlotlyFigure {
  const { inputChannels: c0, growthRate: k, layers } = input;
  for (const [name, n] of [['inputChannels', c0], ['growthRate', k], ['layers', layers]] as const) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`channelGrowth: ${name} must be a positive integer (got ${n})`);
  }
  const x = Array.from({ length: layers + 1 }, (_, l) => (l === 0 ? 'x₀' : `after layer ${l}`));
  const data: object[] = [
    { type: 'bar', name: `x₀ (${c0} channels)`, x, y: x.map(() => c0), marker: { color: '#7f7f7f' } },
  ];
  for (let j = 1; j <= layers; j++) {
    data.push({ type: 'bar', name: `x${subscript(j)}: k = ${k} new maps`, x, y: x.map((_, l) => (l >= j ? k : 0)) });
  }
  if (input.measured) {
    if (input.measured.length !== layers + 1) {
      throw new Error(`channelGrowth: measured needs ${layers + 1} values (the input and each layer), got ${input.measured.length}`);
    }
    data.push({ type: 'scatter', mode: 'lines+markers+text', name: 'measured channels', x, y: input.measured, text: input.measured.map(String), textposition: 'top center', line: { color: '#000' } });
  }
  return {
    data,
    layout: {
      title: { text: `Channels of [x₀, …, x_ℓ]: c₀ + ℓ·k = ${c0} + ℓ·${k}` },
      barmode: 'stack',
      xaxis: { title: { text: 'dense block position' } },
      yaxis: { title: { text: 'channels (feature maps)' }, rangemode: 'tozero' },
      legend: { orientation: 'h', y: -0.25 },
    },
  };
}

function subscript(n: number): string {
  return String(n).replace(/\d/g, (d) => '₀₁₂₃₄₅₆₇₈₉'[Number(d)]);
}

export interface ParamsOverDepthInput {
  /** k of the DenseNet. */
  growthRate: number;
  /** C of each ResNet to compare (e.g. [64, 256]). */
  resnetChannels: number[];
  /** Depth: layers 1 … layers. */
  layers: number;
  /** `cumulative` (default): total 3×3-conv weights of the first ℓ layers; `per-layer`: weights of layer ℓ. */
  mode?: 'cumulative' | 'per-layer';
}

/**
 * The deck's comparison plotted over depth: a DenseNet layer ℓ has a 3×3×(ℓk) kernel applied k
 * times, O(ℓ·k·k), the bottleneck version ℓk·4k + 9·4k·k, a ResNet layer 3×3×C applied C times,
 * O(C·C). Counted by `compareConvParams`, the same numbers as the models.
 */
export function paramsOverDepth(input: ParamsOverDepthInput): PlotlyFigure {
  const { growthRate: k, layers, mode = 'cumulative' } = input;
  if (!Number.isInteger(layers) || layers < 1) throw new Error(`paramsOverDepth: layers must be a positive integer (got ${layers})`);
  if (input.resnetChannels.length === 0) throw new Error('paramsOverDepth: give at least one ResNet width C');
  const depth = Array.from({ length: layers }, (_, i) => i + 1);
  const accumulate = (values: number[]) => (mode === 'per-layer' ? values : values.map(((sum) => (v: number) => (sum += v))(0)));
  const rows = depth.map((l) => compareConvParams(l, k, input.resnetChannels[0]));
  const data: object[] = [
    { type: 'scatter', mode: 'lines', name: `DenseNet, k = ${k}: 3·3·(ℓk)·k`, x: depth, y: accumulate(rows.map((r) => r.denseConv3x3Params)), line: { color: '#1f77b4' } },
    { type: 'scatter', mode: 'lines', name: `DenseNet-B, k = ${k}: (ℓk)·4k + 3·3·4k·k`, x: depth, y: accumulate(rows.map((r) => r.bottleneckParams)), line: { color: '#1f77b4', dash: 'dash' } },
    ...input.resnetChannels.map((c) => ({
      type: 'scatter',
      mode: 'lines',
      name: `ResNet, C = ${c}: 3·3·C·C`,
      x: depth,
      y: accumulate(depth.map((l) => compareConvParams(l, k, c).resnetConv3x3Params)),
    })),
  ];
  return {
    data,
    layout: {
      title: { text: mode === 'per-layer' ? 'Weights of layer ℓ: O(ℓ·k·k) against O(C·C)' : 'Weights of the first ℓ layers: O(ℓ·k·k) per layer against O(C·C)' },
      xaxis: { title: { text: 'layer ℓ (depth)' } },
      yaxis: { title: { text: mode === 'per-layer' ? 'parameters of layer ℓ' : 'parameters of layers 1…ℓ' }, type: 'log' },
      legend: { orientation: 'h', y: -0.2 },
    },
  };
}

export interface FeatureReuseInput {
  /**
   * matrix[t][s]: mean |weight| of target layer t+1 on the maps of source s (0 = the block
   * input x₀, s = the maps of layer s); null where t+1 cannot read s. A last row may be the
   * transition after the block (it reads every source).
   */
  matrix: (number | null)[][];
  /** Labels of the rows (default "layer 1" …). */
  targets?: string[];
  title?: string;
}

/** The paper's Figure 5: how strongly each layer's weights draw on each earlier layer's maps (row-normalized). */
export function featureReuseHeatmap(input: FeatureReuseInput): PlotlyFigure {
  const { matrix } = input;
  if (matrix.length === 0) throw new Error('featureReuseHeatmap: the matrix is empty');
  const sources = Math.max(...matrix.map((row) => row.length));
  const targets = input.targets ?? matrix.map((_, t) => `layer ${t + 1}`);
  if (targets.length !== matrix.length) throw new Error(`featureReuseHeatmap: ${targets.length} labels for ${matrix.length} rows`);
  const z = matrix.map((row) => {
    const max = Math.max(...row.filter((v): v is number => v !== null));
    return Array.from({ length: sources }, (_, s) => (row[s] === null || row[s] === undefined ? null : max > 0 ? (row[s] as number) / max : 0));
  });
  return {
    data: [
      {
        type: 'heatmap',
        x: Array.from({ length: sources }, (_, s) => (s === 0 ? 'x₀ (block input)' : `layer ${s}`)),
        y: targets,
        z,
        zmin: 0,
        zmax: 1,
        colorscale: 'Viridis',
        colorbar: { title: { text: 'mean |w| ÷ row max' } },
        hovertemplate: '%{y} reads %{x}: %{z:.2f}<extra></extra>',
      },
    ],
    layout: {
      title: { text: input.title ?? 'Feature reuse: weight each layer puts on each earlier layer’s maps' },
      xaxis: { title: { text: 'source: maps of' } },
      yaxis: { title: { text: 'target layer' }, autorange: 'reversed' },
    },
  };
}

/** One model of a parameter-efficiency comparison: its parameter count and its test error. */
export interface ErrorVsParamsPoint {
  family: string;
  name: string;
  params: number;
  /** Test error in percent. */
  error: number;
}

/**
 * Test error against parameters, one line per family (the paper's Figure 4, middle: DenseNet-BC
 * against ResNets on C10+). `note` says where the numbers come from.
 */
export function errorVsParams(points: ErrorVsParamsPoint[], title: string, note: string): PlotlyFigure {
  const families = [...new Set(points.map((p) => p.family))];
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
  return {
    data: families.map((family, i) => {
      const ps = points.filter((p) => p.family === family).sort((a, b) => a.params - b.params);
      return {
        type: 'scatter',
        mode: 'lines+markers+text',
        name: family,
        x: ps.map((p) => p.params / 1e6),
        y: ps.map((p) => p.error),
        text: ps.map((p) => `${p.name}<br>${(p.params / 1e6).toFixed(1)}M, ${p.error.toFixed(2)}%`),
        textposition: i === 0 ? 'bottom center' : 'top right',
        marker: { size: 11, color: colors[i % colors.length], symbol: i === 0 ? 'circle' : 'square' },
        line: { color: colors[i % colors.length], width: 2.5 },
      };
    }),
    layout: {
      title: { text: title },
      // Room around the points for their labels.
      xaxis: { title: { text: 'parameters (millions)' }, range: [-1, Math.max(...points.map((p) => p.params / 1e6)) * 1.15] },
      yaxis: { title: { text: 'test error (%)' }, range: [Math.min(...points.map((p) => p.error)) - 0.5, Math.max(...points.map((p) => p.error)) + 0.5] },
      legend: { x: 0.62, y: 0.98 },
      annotations: [{ text: note, showarrow: false, xref: 'paper', yref: 'paper', x: 0, y: -0.26, xanchor: 'left', yanchor: 'top', align: 'left', font: { size: 11, color: '#666' } }],
      margin: { b: 140 },
    },
  };
}
