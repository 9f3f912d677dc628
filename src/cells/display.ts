/**
 * Rich output for notebooks beyond tslab's `display` (which sends one MIME type at a time):
 * a plotly figure goes out as one bundle with the plotly JSON (drawn by JupyterLab's plotly
 * renderer and by the cardlab web page) and static fallbacks for viewers without plotly
 * (nbconvert HTML, GitHub, plain text).
 *
 * It writes through tslab's own display hook, so it works in the tslab kernel and in the cardlab
 * cell runner alike, and fails as `tslab.display` does outside them.
 */
import type { MimeBundle } from './events';
import { plotlyHtml } from './plotly-html';

export { plotlyStaticDir } from './plotly-html';

export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/** A plotly figure as plotly.js takes it: `{ data, layout, config }`. */
export interface PlotlyFigure {
  data: object[];
  layout?: { title?: string | { text?: string }; [key: string]: unknown };
  config?: object;
}

export interface StaticFallback {
  /** Shown where plotly cannot run (nbconvert HTML): an SVG or HTML rendering of the chart. */
  svg?: string;
  html?: string;
  /** PNG bytes. */
  png?: Uint8Array;
}

type DisplayHook = (message: { data: MimeBundle; metadata: object; transient: object }, update: boolean) => void;

/** Jupyter's display id: a later bundle with `update: true` and the same id replaces the output. */
export interface DisplayTarget {
  displayId?: string;
  update?: boolean;
}

/** Sends a MIME bundle to the notebook (or the cell runner) as one display output. */
export function displayBundle(data: MimeBundle, metadata: object = {}, target: DisplayTarget = {}): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const hook = (require('tslab/dist/jupyter') as { lastWriteDisplayData: DisplayHook | null }).lastWriteDisplayData;
  if (!hook) throw new Error('displayBundle works only inside the tslab kernel or the cardlab cell runner');
  const transient = target.displayId ? { display_id: target.displayId } : {};
  hook({ data, metadata, transient }, Boolean(target.update && target.displayId));
}

function titleOf(figure: PlotlyFigure): string {
  const title = figure.layout?.title;
  return (typeof title === 'string' ? title : title?.text) ?? 'chart';
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/** The MIME bundle of a plotly figure with its fallbacks (also used by the web UI's tests). */
export function plotlyBundle(figure: PlotlyFigure, fallback: StaticFallback = {}): MimeBundle {
  const title = titleOf(figure);
  const bundle: MimeBundle = {
    [PLOTLY_MIME]: JSON.parse(JSON.stringify(figure)) as object,
    'text/plain': `<plotly figure: ${title}>`,
    // Notebook 6 and other front ends without the plotly MIME type: the fallback, replaced by the
    // chart where plotly.js can be loaded from the Jupyter server (plotly-html.ts).
    'text/html': plotlyHtml(
      figure,
      fallback.html ??
        `<div class="cardlab-plot-fallback"><strong>${escapeHtml(title)}</strong>` +
          ` <em>(interactive plotly chart: open the notebooks with \`npx cardlab notebooks\`, in JupyterLab or the cardlab server)</em></div>`,
    ),
  };
  if (fallback.svg) bundle['image/svg+xml'] = fallback.svg;
  if (fallback.png) bundle['image/png'] = Buffer.from(fallback.png).toString('base64');
  return bundle;
}

/** Shows a plotly figure in the notebook: `displayPlotly({ data: [{ y: [1, 3, 2] }] })`. */
export function displayPlotly(figure: PlotlyFigure, fallback: StaticFallback = {}, target: DisplayTarget = {}): void {
  displayBundle(plotlyBundle(figure, fallback), {}, target);
}

let liveCount = 0;

/**
 * A chart that is redrawn in place (a live training curve): `const live = livePlotly(fig)`, then
 * `live.update(newFig)` replaces the same output (Jupyter's update_display_data).
 */
export function livePlotly(figure: PlotlyFigure, fallback: StaticFallback = {}): { displayId: string; update(figure: PlotlyFigure, fallback?: StaticFallback): void } {
  const displayId = `cardlab-live-${process.pid}-${++liveCount}-${Date.now()}`;
  displayPlotly(figure, fallback, { displayId });
  return { displayId, update: (next, nextFallback = {}) => displayPlotly(next, nextFallback, { displayId, update: true }) };
}
