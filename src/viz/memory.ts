/**
 * Plotly figure of the memory benchmark: peak tensor memory and step time
 * against depth, naive and memory-efficient DenseNet-BC.
 */
import type { PlotlyFigure } from '../cells/display';

export type { PlotlyFigure };

/** One row of `cardlab bench memory`: null figures with an `…Error` when that variant could not run. */
export interface MemoryRow {
  depth: number;
  batch: number;
  backend: string | null;
  naivePeakBytes: number | null;
  efficientPeakBytes: number | null;
  naiveMs: number | null;
  efficientMs: number | null;
  naiveWasmHeapBytes: number | null;
  efficientWasmHeapBytes: number | null;
  naiveMaxRssBytes: number | null;
  efficientMaxRssBytes: number | null;
  naiveError?: string;
  efficientError?: string;
}

const MB = 2 ** 20;

export function memoryFigure(rows: MemoryRow[], fit?: { slope: number; intercept: number }): PlotlyFigure {
  const depths = rows.map((r) => r.depth);
  const mb = (v: number | null) => (v === null ? null : v / MB);
  const seconds = (v: number | null) => (v === null ? null : v / 1000);
  const batch = rows[0]?.batch;
  const backend = rows.find((r) => r.backend)?.backend ?? '';
  const data: Record<string, unknown>[] = [
    { type: 'scatter', x: depths, y: rows.map((r) => mb(r.naivePeakBytes)), name: 'naive: peak memory', mode: 'lines+markers', line: { color: '#d62728' } },
    { type: 'scatter', x: depths, y: rows.map((r) => mb(r.efficientPeakBytes)), name: 'efficient: peak memory', mode: 'lines+markers', line: { color: '#1f77b4' } },
    { type: 'scatter', x: depths, y: rows.map((r) => seconds(r.naiveMs)), name: 'naive: step time', mode: 'lines+markers', yaxis: 'y2', line: { color: '#d62728', dash: 'dot' } },
    { type: 'scatter', x: depths, y: rows.map((r) => seconds(r.efficientMs)), name: 'efficient: step time', mode: 'lines+markers', yaxis: 'y2', line: { color: '#1f77b4', dash: 'dot' } },
  ];
  if (fit) {
    data.push({
      type: 'scatter',
      x: depths,
      y: depths.map((d) => (fit.slope * d + fit.intercept) / MB),
      name: 'efficient: linear fit',
      mode: 'lines',
      line: { color: '#1f77b4', width: 1, dash: 'dash' },
    });
  }
  const aborted = rows.filter((r) => r.naiveError).map((r) => `L=${r.depth}`);
  return {
    data,
    layout: {
      title: {
        text:
          `One training step of DenseNet-BC (k=12), batch ${batch}, 32×32×3, ${backend}` +
          (aborted.length ? `<br><sub>naive aborted (out of memory) at ${aborted.join(', ')}</sub>` : ''),
      },
      xaxis: { title: { text: 'depth L' } },
      yaxis: { title: { text: 'peak tensor memory (MB)' }, rangemode: 'tozero' },
      yaxis2: { title: { text: 'step time (s)' }, overlaying: 'y', side: 'right', rangemode: 'tozero' },
      legend: { orientation: 'h', y: -0.2 },
    },
  };
}

/** A standalone HTML page drawing `figure` with the given plotly.js source inlined (no network). */
export function figureHtml(figure: PlotlyFigure, plotlySource: string, title: string): string {
  const json = JSON.stringify(figure).replace(/</g, '\\u003c');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${title.replace(/</g, '&lt;')}</title>
<script>${plotlySource}</script></head>
<body><div id="chart" style="width:100%;max-width:1000px;height:600px"></div>
<script>const figure = ${json}; Plotly.newPlot('chart', figure.data, figure.layout);</script>
</body></html>
`;
}
