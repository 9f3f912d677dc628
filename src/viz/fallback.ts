/**
 * Showing a figure in a notebook: the plotly JSON for JupyterLab and the cardlab page, and as the
 * static fallback (nbconvert HTML, GitHub) an HTML table of the figure's own numbers, so a reader
 * without plotly still sees the data.
 */
import { displayPlotly, livePlotly, type PlotlyFigure } from '../cells/display';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toPrecision(4);
  return escapeHtml(String(value));
}

/** The HTML tags plotly allows in titles (`<br>`, `<sub>` …): dropped from the plain-text title. */
const PLOTLY_TAGS = /<\/?(br|sub|sup|b|i|em|span|a)\b[^>]*>/gi;

function titleText(figure: PlotlyFigure): string {
  const title = figure.layout?.title;
  return (typeof title === 'string' ? title : title?.text) ?? 'chart';
}

interface Trace {
  type?: string;
  name?: string;
  x?: unknown[];
  y?: unknown[];
  z?: unknown[][];
}

/** The figure's data as HTML tables: x against each trace's y; a heatmap as its matrix. */
export function tableFallback(figure: PlotlyFigure): string {
  const traces = figure.data as Trace[];
  const parts = [`<div class="cardlab-plot-fallback"><p><strong>${escapeHtml(titleText(figure).replace(PLOTLY_TAGS, ' '))}</strong></p>`];
  for (const heat of traces.filter((t) => t.type === 'heatmap' && t.z)) {
    const head = `<tr><th></th>${(heat.x ?? heat.z![0].map((_, i) => i)).map((x) => `<th>${cell(x)}</th>`).join('')}</tr>`;
    const rows = heat.z!.map((row, i) => `<tr><th>${cell(heat.y?.[i] ?? i)}</th>${row.map((v) => `<td>${cell(v)}</td>`).join('')}</tr>`);
    parts.push(`<table>${head}${rows.join('')}</table>`);
  }
  const lines = traces.filter((t) => t.type !== 'heatmap' && t.y);
  if (lines.length > 0) {
    const xs = [...new Set(lines.flatMap((t) => t.x ?? t.y!.map((_, i) => i)))];
    const value = (t: Trace, x: unknown) => {
      const i = (t.x ?? t.y!.map((_, j) => j)).indexOf(x);
      return i < 0 ? undefined : t.y![i];
    };
    const head = `<tr><th>x</th>${lines.map((t) => `<th>${cell(t.name ?? '')}</th>`).join('')}</tr>`;
    const rows = xs.map((x) => `<tr><th>${cell(x)}</th>${lines.map((t) => `<td>${cell(value(t, x))}</td>`).join('')}</tr>`);
    parts.push(`<table>${head}${rows.join('')}</table>`);
  }
  parts.push('</div>');
  return parts.join('');
}

/** Displays a figure with its table fallback. */
export function showFigure(figure: PlotlyFigure): void {
  displayPlotly(figure, { html: tableFallback(figure) });
}

/** Displays a figure that `update` redraws in place (the same output). */
export function showLiveFigure(figure: PlotlyFigure): { update(figure: PlotlyFigure): void } {
  const live = livePlotly(figure, { html: tableFallback(figure) });
  return { update: (next) => live.update(next, { html: tableFallback(next) }) };
}
