/**
 * axe-core, run inside the page in Debian's chromium: no serious or critical finding on the deck
 * list, the review page (question and answer side, demos included), stats, browse and deck options,
 * in light and dark mode, at 1280×800 and 390×844. A screenshot of each is left in the temp folder.
 */
import os from 'os';
import path from 'path';
import type { Browser, Page } from 'playwright-core';
import { resolveConfig } from '../server/config';
import { startServer, type RunningServer } from '../server/index';
import { assertBuilt } from './helpers/built';
import { launchChromium, openPage, seriousAxeFindings, VIEWPORTS } from './helpers/browser';
import { reviewWorkspace } from './helpers/review-fixtures';
import type { Workspace } from './helpers/server-fixtures';

jest.setTimeout(240_000);

let browser: Browser;
let ws: Workspace;
let running: RunningServer;

beforeAll(async () => {
  assertBuilt(['cells']);
  browser = await launchChromium();
  ws = reviewWorkspace();
  running = await startServer(resolveConfig({ cards: ws.cards, notebooks: ws.notebooks, data: ws.data, port: 0 }, {}));
  // One review done (not of the first card, which has the demos), so that the stats have reviews (a legend).
  const found = await (await fetch(`${running.url}api/cards?q=concatenated`)).json();
  await fetch(`${running.url}api/review`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ cardId: found.cards[0].id, grade: 'Again' }) });
});
afterAll(async () => {
  await browser?.close();
  await running?.close();
  ws?.cleanup();
});

const PAGES: { name: string; open: (page: Page, url: string) => Promise<void> }[] = [
  { name: 'deck list', open: async (page, url) => { await page.goto(url); await page.waitForSelector('table.decks'); } },
  { name: 'review front', open: async (page, url) => { await page.goto(`${url}#/review/DenseNet`); await page.waitForSelector('article.card'); } },
  {
    name: 'review back',
    open: async (page, url) => {
      await page.goto(`${url}#/review/DenseNet`);
      await page.waitForSelector('article.card');
      await page.keyboard.press('Space');
      await page.waitForSelector('article.card[data-side="back"]');
      await page.click('.demo summary'); // the code editor open too
    },
  },
  { name: 'stats', open: async (page, url) => { await page.goto(`${url}#/stats`); await page.waitForSelector('#chart-reviews .main-svg .legend'); await page.waitForSelector('#chart-eases .main-svg'); } },
  { name: 'browse', open: async (page, url) => { await page.goto(`${url}#/browse`); await page.waitForSelector('table.browse'); } },
  { name: 'deck options', open: async (page, url) => { await page.goto(`${url}#/options/DenseNet`); await page.waitForSelector('form.limits'); } },
];

describe.each(VIEWPORTS)('at $width×$height', (viewport) => {
  describe.each(['light', 'dark'] as const)('%s mode', (scheme) => {
    test.each(PAGES.map((p) => [p.name, p]))('%s: no serious or critical axe finding', async (_name, { name, open }) => {
      const { context, page, problems } = await openPage(browser, viewport, scheme);
      try {
        await open(page, running.url);
        expect(await page.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches)).toBe(scheme === 'dark');
        await page.screenshot({ path: path.join(os.tmpdir(), `cardlab-a11y-${name.replace(/ /g, '-')}-${viewport.name}-${scheme}.png`) });
        expect(await seriousAxeFindings(page)).toEqual([]);
        expect(problems).toEqual([]);
      } finally {
        await context.close();
      }
    });
  });
});
