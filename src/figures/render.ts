/**
 * Figures to PNG, offline: Debian's chromium (headless, through playwright-core; no browser is
 * downloaded) draws each SVG, HTML table or plotly chart — plotly.js from the project's
 * node_modules — and takes a screenshot of it. Every request the page makes outside the file it was
 * given is blocked.
 */
import fs from 'fs';
import path from 'path';
import type { DeckFigure, FigureContent } from './deck-figures';
import { plotlyStaticDir, PLOTLY_STATIC_FILE, withTitleObjects } from '../cells/plotly-html';

export const CHROMIUM = process.env.CARDLAB_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

function pageHtml(content: FigureContent): string {
  const style = `body { margin: 0; background: #fff; } #figure { display: inline-block; padding: 16px; background: #fff; }`;
  if (content.kind === 'svg') return `<!doctype html><html><head><meta charset="utf-8"><style>${style}</style></head><body><div id="figure">${content.svg}</div></body></html>`;
  if (content.kind === 'html') return `<!doctype html><html><head><meta charset="utf-8"><style>${style}${content.css ?? ''}</style></head><body><div id="figure">${content.html}</div></body></html>`;
  return `<!doctype html><html><head><meta charset="utf-8"><style>${style}</style></head><body><div id="figure"><div id="chart" style="width:${content.width}px;height:${content.height}px"></div></div></body></html>`;
}

export interface RenderedFigure {
  file: string;
  bytes: number;
  width: number;
  height: number;
}

/** Renders each figure to `<outDir>/<figure.file>`; returns what was written. */
export async function renderFigures(figures: DeckFigure[], outDir: string, options: { scale?: number } = {}): Promise<RenderedFigure[]> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install the Debian package "chromium" (or set CARDLAB_CHROMIUM)`);
  let playwright: typeof import('playwright-core');
  try {
    playwright = await import('playwright-core');
  } catch {
    throw new Error('rendering figures needs the npm package playwright-core (a dev dependency: run `npm install` in the project)');
  }
  fs.mkdirSync(outDir, { recursive: true });
  const browser = await playwright.chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const written: RenderedFigure[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, deviceScaleFactor: options.scale ?? 2 });
    await page.route('**/*', (route) => (route.request().url().startsWith('data:') ? route.continue() : route.abort()));
    for (const figure of figures) {
      const content = await figure.make();
      await page.setContent(pageHtml(content));
      if (content.kind === 'plotly') {
        await page.addScriptTag({ path: path.join(plotlyStaticDir(), PLOTLY_STATIC_FILE) });
        const spec = { ...content.figure, layout: { ...withTitleObjects(content.figure.layout as Record<string, unknown>), width: content.width, height: content.height } };
        await page.evaluate(
          (fig) => (window as unknown as { Plotly: { newPlot(el: string, d: object[], l: object, c: object): Promise<unknown> } }).Plotly.newPlot('chart', fig.data, fig.layout, { staticPlot: true }),
          spec as { data: object[]; layout: object },
        );
      }
      const element = await page.$('#figure');
      if (!element) throw new Error(`${figure.file}: nothing drawn`);
      const box = (await element.boundingBox())!;
      const file = path.join(outDir, figure.file);
      const temp = `${file}.${process.pid}.tmp`;
      await element.screenshot({ path: temp, type: 'png' });
      fs.renameSync(temp, file);
      written.push({ file, bytes: fs.statSync(file).size, width: Math.round(box.width), height: Math.round(box.height) });
    }
  } finally {
    await browser.close();
  }
  return written;
}
