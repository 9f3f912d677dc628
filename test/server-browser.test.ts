/**
 * End to end in a real browser (Debian's chromium through playwright-core; no browser download):
 * open the deck list, review a card (reveal with space, grade with a key), see the markdown file
 * updated, and run the card's live demo until its plotly chart is drawn. A screenshot is left in
 * /tmp/cardlab-review.png (and -stats, -decks) for a human look.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { resolveConfig } from '../server/config';
import { startServer, type RunningServer } from '../server/index';
import { assertBuilt } from './helpers/built';
import { changedLines, notebook, SEED_DECK, workspace, type Workspace } from './helpers/server-fixtures';

const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOT = path.join(os.tmpdir(), 'cardlab-review.png');

jest.setTimeout(180_000);

let ws: Workspace;
let running: RunningServer;
let context: BrowserContext;
let page: Page;
let userDataDir: string;
const consoleErrors: string[] = [];

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install the Debian package "chromium" (apt-get install chromium; listed in scripts/system-packages.txt)`);
  }
  assertBuilt(['cells']);
  const demo = notebook([
    [
      "import { displayPlotly } from 'cardlab'\n" +
        'const growth = 10\n' +
        'const channels = [0, 1, 2, 3].map((l) => 3 + l * growth)\n' +
        "console.log('channels', channels.join(' -> '))\n" +
        "displayPlotly({ data: [{ y: channels, type: 'scatter' }], layout: { title: 'channels per layer' } })",
      ['DenseNet#Forward Propagation'],
    ],
  ]);
  ws = workspace({ 'DenseNet.md': fs.readFileSync(SEED_DECK, 'utf8') }, { 'densenet.ipynb': demo });
  running = await startServer(resolveConfig({ cards: ws.cards, notebooks: ws.notebooks, data: ws.data, port: 0, cellTimeout: 60_000 }, {}));
  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cardlab-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1100, height: 1400 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(err.message));
  page.on('response', (res) => {
    if (res.status() >= 400) consoleErrors.push(`${res.status()} ${res.url()}`);
  });
});

afterAll(async () => {
  await context?.close();
  await running?.close();
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
  ws?.cleanup();
});

test('review a card end to end and run its live demo', async () => {
  const before = ws.read('DenseNet.md');
  await page.goto(running.url);
  await page.getByRole('link', { name: 'DenseNet' }).first().click();
  await page.waitForSelector('article.card');
  const cardId = await page.getAttribute('article.card', 'data-card');
  expect(await page.isVisible('article.card .back')).toBe(false);
  expect(await page.locator('article.card .front .katex').count()).toBeGreaterThan(0); // math by KaTeX
  expect(await page.locator('article.card .front .cloze-ask').count()).toBeGreaterThan(0); // the deletion is masked

  await page.keyboard.press(' ');
  await page.waitForSelector('article.card .back', { state: 'visible' });
  expect(await page.textContent('article.card .back .cloze-answer')).toBeTruthy();
  const goodLabel = await page.textContent('.grades button[data-grade="Good"] .ivl');
  expect(goodLabel).toMatch(/^\d+(\.\d)?(d|mo|y)$/);

  // The live demo under the card: run it, its stdout and its plotly chart appear.
  await page.waitForSelector('.demo');
  await page.click('.demo button.run');
  await page.waitForSelector('.demo .plot .main-svg', { timeout: 120_000 });
  expect(await page.textContent('.demo pre.stdout')).toContain('channels 3 -> 13 -> 23 -> 33');
  await page.waitForSelector('.demo .status[data-reason="done"]');
  await page.screenshot({ path: SCREENSHOT, fullPage: true });

  // Grade with the keyboard: the page moves on and the file has the new schedule.
  await page.keyboard.press('3');
  await page.waitForSelector('.last-grade');
  expect(await page.getAttribute('article.card', 'data-card')).not.toBe(cardId);
  const changes = changedLines(before, ws.read('DenseNet.md'));
  expect(changes).toHaveLength(1);
  expect(changes[0][2]).toMatch(/^<!--SR:!\d{4}-\d{2}-\d{2},\d+,\d+-->$/);
  expect(changes[0][1]).not.toBe(changes[0][2]);

  // Undo from the page: the file is back byte for byte and the card is shown again.
  await page.click('button.undo');
  await page.waitForFunction((id) => document.querySelector('article.card')?.getAttribute('data-card') === id, cardId);
  expect(ws.read('DenseNet.md')).toBe(before);
  await page.keyboard.press(' ');
  await page.keyboard.press('3');
  await page.waitForSelector('.last-grade:has-text("Good: next review")'); // not the "Undid Good." already shown
  expect(changedLines(before, ws.read('DenseNet.md'))).toHaveLength(1);

  // The stats page draws its charts.
  await page.goto(`${running.url}#/stats/DenseNet`);
  await page.waitForSelector('#chart-forecast .main-svg');
  await page.waitForSelector('#chart-reviews .main-svg');
  await page.waitForSelector('#chart-intervals .main-svg');
  await page.waitForSelector('#chart-eases .main-svg');
  // Each chart is the figure /api/stats built with src/viz, not one the page made up.
  const drawnAndServed = await page.evaluate(async () => {
    const served = await (await fetch('/api/stats?deck=DenseNet')).json();
    const summary = (fig: { data: { type?: string; name?: string; x?: unknown[]; y?: unknown[] }[]; layout: { title?: { text?: string } } }) => ({
      title: fig.layout.title?.text,
      traces: fig.data.map((t) => ({ type: t.type, name: t.name ?? null, x: Array.from(t.x ?? []), y: Array.from(t.y ?? []) })),
    });
    return ['forecast', 'reviews', 'intervals', 'eases'].map((name) => {
      const drawn = document.getElementById(`chart-${name}`) as unknown as Parameters<typeof summary>[0];
      return { name, drawn: summary(drawn), served: summary(served.figures[name]) };
    });
  });
  for (const { drawn, served } of drawnAndServed) {
    expect(served.traces.length).toBeGreaterThan(0);
    expect(drawn).toEqual(served);
  }
  expect(drawnAndServed.find((c) => c.name === 'reviews')!.served.traces[2].y).toEqual([1]); // the Good grade above (the undone one is not counted)
  await page.screenshot({ path: path.join(os.tmpdir(), 'cardlab-stats.png'), fullPage: true });
  await page.goto(`${running.url}#/`);
  await page.waitForSelector('table.decks tr[data-deck="DenseNet"]');
  expect(await page.textContent('tr[data-deck="DenseNet"] td.due')).toMatch(/^\d+$/);
  await page.screenshot({ path: path.join(os.tmpdir(), 'cardlab-decks.png') });
  expect(consoleErrors).toEqual([]);
});
