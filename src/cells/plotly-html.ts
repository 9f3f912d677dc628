/**
 * The text/html form of a plotly figure, for front ends that do not render the plotly MIME type
 * (Notebook 6 without plotly's extension): the static fallback (a table of the figure's numbers)
 * plus a small script that loads plotly.js from the Jupyter server itself — `<base>/static/plotly.min.js`,
 * which `cardlab notebooks` serves from the project's node_modules (`plotlyStaticDir`), never a CDN
 * — and draws the chart in place of the fallback. Where the script cannot run (an untrusted
 * notebook, nbconvert HTML, GitHub) or plotly.js is not served (a Jupyter started by hand), the
 * fallback stays. Notebook 6 loads require.js, so plotly.js is loaded through it there (a plain
 * script tag would make plotly's UMD header call an anonymous define and fail); elsewhere through a
 * script tag.
 */
import { randomBytes } from 'crypto';
import path from 'path';

/** The file the loader asks for, under the server's /static/. */
export const PLOTLY_STATIC_FILE = 'plotly.min.js';

/** The folder holding plotly.min.js (the npm package plotly.js-dist-min): Jupyter's extra static path. */
export function plotlyStaticDir(): string {
  return path.dirname(require.resolve(`plotly.js-dist-min/${PLOTLY_STATIC_FILE}`));
}

/** JSON safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const STATIC_BASE = PLOTLY_STATIC_FILE.replace(/\.js$/, '');

// ES5 on purpose: it runs as it is in whatever browser shows the notebook.
const LOADER = `
function cardlabBaseUrl() {
  var b = document.body && document.body.getAttribute('data-base-url');
  if (b) return b;
  var c = document.getElementById('jupyter-config-data');
  if (c) { try { return JSON.parse(c.textContent).baseUrl || '/'; } catch (e) {} }
  return '/';
}
function cardlabLoadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (window.cardlabPlotly) return window.cardlabPlotly;
  var url = cardlabBaseUrl().replace(/\\/?$/, '/') + 'static/${STATIC_BASE}';
  var loading = new Promise(function (resolve, reject) {
    if (typeof window.requirejs === 'function' && window.define && window.define.amd) {
      window.requirejs.config({ paths: { 'cardlab-plotly': url } });
      // plotly.js 3+ is a plain script that sets window.Plotly; older builds are AMD modules.
      window.requirejs(['cardlab-plotly'], function (m) { resolve(m || window.Plotly); }, reject);
    } else {
      var s = document.createElement('script');
      s.src = url + '.js';
      s.onload = function () { resolve(window.Plotly); };
      s.onerror = reject;
      document.head.appendChild(s);
    }
  });
  window.cardlabPlotly = loading;
  loading.catch(function () { if (window.cardlabPlotly === loading) window.cardlabPlotly = null; });
  return loading;
}`;

type Layout = Record<string, unknown>;

/**
 * plotly.js 3 and later (the project ships 4) read titles only as `{ text }`; figures written for
 * older versions (and most notebooks) give a string. Returns the layout with object titles.
 */
export function withTitleObjects(layout: Layout = {}): Layout {
  const fix = (o: unknown) => (o && typeof o === 'object' && typeof (o as Layout).title === 'string' ? { ...(o as Layout), title: { text: (o as Layout).title } } : o);
  const out = fix(layout) as Layout;
  for (const key of Object.keys(out).filter((k) => /^[xyz]axis\d*$/.test(k))) out[key] = fix(out[key]);
  return out;
}

/** The fallback HTML wrapped with the loader that replaces it by the chart where it can. */
export function plotlyHtml(figure: { data: object[]; layout?: object; config?: object }, fallbackHtml: string): string {
  const id = `cardlab-plot-${randomBytes(8).toString('hex')}`;
  const script = `(function () {${LOADER}
var id = ${scriptJson(id)}, figure = ${scriptJson({ ...figure, layout: withTitleObjects(figure.layout as Layout) })};
function draw(attempt) {
  var el = document.getElementById(id);
  // Notebook 6 runs the script before the output is in the page: wait for it.
  if (!el) { if (attempt < 100) setTimeout(function () { draw(attempt + 1); }, 50); return; }
  cardlabLoadPlotly().then(function (Plotly) {
    var chart = document.createElement('div');
    chart.className = 'cardlab-plot-chart';
    el.appendChild(chart);
    var config = Object.assign({ responsive: true, displaylogo: false }, figure.config || {});
    return Plotly.newPlot(chart, figure.data, figure.layout || {}, config).then(function () {
      var fallback = el.querySelector('.cardlab-plot-fallback');
      if (fallback) fallback.style.display = 'none';
    }, function (err) { el.removeChild(chart); throw err; });
  }).catch(function (err) { if (window.console) console.warn('cardlab: chart not drawn, showing its table', err); });
}
draw(0);
})();`;
  return `<div id="${id}" class="cardlab-plot">${fallbackHtml}</div>\n<script type="text/javascript">${script}</script>`;
}
