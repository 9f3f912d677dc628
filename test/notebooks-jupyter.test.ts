/**
 * The course notebooks through real Jupyter, as a student runs them: Debian's nbconvert drives the
 * tslab kernel (src/cells/jupyter.ts), at the quick size. A failing cell shows only as stderr in
 * tslab; executeWithJupyter inspects the executed copy for that (proved on a deliberately broken
 * notebook in cells-jupyter.test.ts).
 *
 * Then each executed notebook is opened as a student sees it: in Debian's Notebook 6, started by
 * `cardlab notebooks --frontend notebook --no-browser`, in headless Debian chromium (playwright-core),
 * offline — every request to anything but the local Jupyter server is blocked and fails the test.
 * Every plotly output must become a drawn chart (plotly's `.main-svg` with traces), from plotly.js
 * that the server serves out of the project. A screenshot of each is left in
 * /tmp/cardlab-notebook6-<name>.png for a human look.
 *
 * Needs the Debian packages jupyter-notebook jupyter-nbconvert python3-nbclient chromium: without
 * them the tests fail with a message naming them.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ensureTslabKernel, executeWithJupyter, describeFailures, jupyterPython } from '../src/cells/jupyter';
import { PLOTLY_MIME } from '../src/cells/display';
import { writeNotebook } from '../src/cells/notebook';
import { assertBuilt } from './helpers/built';
import { notebookFiles, QUICK_ENV } from './helpers/notebooks';
import { startNotebooks, trustNotebook, type NotebookServer } from './helpers/jupyter-server';

const CHROMIUM = '/usr/bin/chromium';
jest.setTimeout(300_000);

let shownDir: string;
let server: NotebookServer;
let browser: Browser;

beforeAll(async () => {
  assertBuilt(['cells', 'viz', 'densenet', 'train', 'data']);
  ensureTslabKernel();
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install the Debian package "chromium" (listed in scripts/system-packages.txt)`);
  shownDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cardlab-executed-'));
  server = await startNotebooks({ dir: shownDir, extra: ['--frontend', 'notebook'] });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (shownDir) fs.rmSync(shownDir, { recursive: true, force: true });
});

type Output = { output_type: string; data?: Record<string, unknown> };

/** nbformat keeps multi-line strings as lists of lines. */
const joined = (value: unknown) => (Array.isArray(value) ? value.join('') : String(value));

/** The plotly outputs: what JupyterLab's and VS Code's plotly renderers take, `{ data, layout }`. */
function checkPlotlyBundle(name: string, data: Record<string, unknown>): void {
  const figure = data[PLOTLY_MIME] as { data: unknown; layout: unknown };
  expect(Array.isArray(figure.data)).toBe(true);
  expect((figure.data as object[]).length).toBeGreaterThan(0);
  for (const trace of figure.data as Record<string, unknown>[]) expect(typeof trace.type).toBe('string');
  expect(typeof figure.layout).toBe('object');
  // Plain JSON (no NaN, Infinity or undefined that JSON would turn into null or drop).
  expect(JSON.parse(JSON.stringify(figure))).toEqual(figure);
  // Notebook 6: the table fallback with the loader that swaps it for the chart.
  const html = joined(data['text/html']);
  expect(html).toContain('cardlab-plot-fallback');
  expect(html).toContain("'static/plotly.min'");
  expect(html).not.toMatch(/https?:\/\//);
  expect(joined(data['text/plain'])).toMatch(/^<plotly figure: /);
  void name;
}

/** Opens the notebook in Notebook 6 and waits for `charts` drawn plotly charts; returns what the page asked for outside the server. */
async function showInNotebook6(page: Page, name: string, charts: number): Promise<{ blocked: string[]; drawn: { traces: number; svg: number }[] }> {
  const blocked: string[] = [];
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (['localhost', '127.0.0.1'].includes(url.hostname) && url.port === String(server.port)) return route.continue();
    if (url.protocol === 'data:' || url.protocol === 'blob:') return route.continue();
    blocked.push(url.href);
    return route.abort();
  });
  await page.goto(`${server.base}notebooks/${encodeURIComponent(name)}?token=${server.token}`);
  await page.waitForFunction((n) => document.querySelectorAll('.cardlab-plot .js-plotly-plot .main-svg').length >= n, charts, { timeout: 90_000 });
  const drawn = await page.$$eval('.cardlab-plot .js-plotly-plot', (plots) =>
    plots.map((p) => ({ svg: p.querySelectorAll('.main-svg').length, traces: p.querySelectorAll('.trace, .hm, .heatmaplayer image').length })),
  );
  return { blocked, drawn };
}

test.each(notebookFiles().map((f) => [path.basename(f), f]))('%s runs top to bottom in Jupyter and its charts draw in Notebook 6, offline', async (name, file) => {
  const run = await executeWithJupyter(file, { env: QUICK_ENV, cellTimeoutSeconds: 240 });
  if (!run.ok) throw new Error(describeFailures(name, run.failures));
  console.log(`${name}: ${run.ms} ms through Jupyter`);
  const outputs = run.executed!.cells.flatMap((cell) => (cell.cell_type === 'code' ? (cell.outputs as Output[]) : []));
  expect(outputs.length).toBeGreaterThan(0);
  const plots = outputs.filter((o) => o.output_type === 'display_data' && o.data?.[PLOTLY_MIME]);
  for (const output of plots) checkPlotlyBundle(name, output.data!);

  // As the student sees it: the executed notebook in Notebook 6 (trusted, as Notebook trusts a
  // notebook its user ran and saved).
  const shown = path.join(shownDir, name);
  writeNotebook(shown, run.executed!);
  trustNotebook(jupyterPython(), shown);
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  try {
    const { blocked, drawn } = await showInNotebook6(page, name, plots.length);
    expect(blocked).toEqual([]);
    expect(drawn).toHaveLength(plots.length);
    for (const chart of drawn) {
      expect(chart.svg).toBeGreaterThan(0);
      expect(chart.traces).toBeGreaterThan(0);
    }
    // A chart, not the table: the fallbacks of drawn charts are hidden.
    const visibleFallbacks = await page.$$eval('.cardlab-plot .cardlab-plot-fallback', (els) => els.filter((e) => (e as HTMLElement).offsetParent !== null).length);
    expect(visibleFallbacks).toBe(0);
    // Notebook 6 scrolls inside the page: make the window as tall as the notebook for the picture.
    const height = await page.$eval('#notebook-container', (e) => e.scrollHeight);
    await page.setViewportSize({ width: 1100, height: Math.min(height + 200, 12_000) });
    await page.screenshot({ path: path.join(os.tmpdir(), `cardlab-notebook6-${name.replace(/\.ipynb$/, '')}.png`) });
  } finally {
    await page.close();
  }
});
