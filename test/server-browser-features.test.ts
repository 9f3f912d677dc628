/**
 * What a learner expects from the review page beyond the defects (issue 12), in Debian's chromium:
 * a keyboard-only review from the deck list to "done", nested decks, session progress, daily
 * limits set in the page and kept, bury and suspend (the deck file untouched), tags and source on
 * the card, the browse/search page, stats with retention and states, and Stop for a running demo.
 */
import fs from 'fs';
import path from 'path';
import type { Browser, Page } from 'playwright-core';
import { resolveConfig } from '../server/config';
import { startServer, type RunningServer } from '../server/index';
import { assertBuilt } from './helpers/built';
import { launchChromium, openPage, VIEWPORTS } from './helpers/browser';
import { EXTRA_DECK, REVIEW_DECK, reviewWorkspace } from './helpers/review-fixtures';
import type { Workspace } from './helpers/server-fixtures';

jest.setTimeout(180_000);

let browser: Browser;
let ws: Workspace;
let running: RunningServer;
let page: Page;
let problems: string[];
let closePage: () => Promise<void>;

beforeAll(async () => {
  assertBuilt(['cells']);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

async function serve() {
  running = await startServer(resolveConfig({ cards: ws.cards, notebooks: ws.notebooks, data: ws.data, port: 0, cellTimeout: 150_000 }, {}));
}

async function start(viewport: { width: number; height: number } = VIEWPORTS[0]) {
  ws = reviewWorkspace();
  await serve();
  const opened = await openPage(browser, viewport);
  page = opened.page;
  problems = opened.problems;
  closePage = () => opened.context.close();
}

afterEach(async () => {
  await closePage?.();
  await running?.close();
  ws?.cleanup();
});

const cardId = () => page.getAttribute('article.card', 'data-card');
async function waitForNewCard(previous: string | null) {
  await page.waitForFunction((prev) => {
    const card = document.querySelector('article.card')?.getAttribute('data-card');
    return (card && card !== prev) || document.querySelector('.done') !== null;
  }, previous);
}
const progress = async () => ({
  new: Number(await page.textContent('.n-new')),
  learning: Number(await page.textContent('.n-learning')),
  review: Number(await page.textContent('.n-review')),
});

describe.each(VIEWPORTS)('at $width×$height', (viewport) => {
  test('keyboard only: from the deck list to "Done for today"', async () => {
    await start(viewport);
    await page.goto(running.url);
    await page.waitForSelector('table.decks');
    // Tab to the deck's link (focus starts on the page's h1), Enter opens it.
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => document.activeElement?.textContent === 'DenseNet' && document.activeElement.tagName === 'A')) break;
    }
    await page.keyboard.press('Enter');
    await page.waitForSelector('article.card');
    let reviewed = 0;
    while (!(await page.$('.done'))) {
      const before = await cardId();
      await page.keyboard.press(reviewed % 2 === 0 ? 'Space' : 'Enter');
      await page.waitForSelector('article.card[data-side="back"]');
      await page.keyboard.press(String((reviewed % 3) + 2)); // Hard, Good, Easy in turn: nothing comes back
      await waitForNewCard(before);
      reviewed++;
      expect(reviewed).toBeLessThan(10);
    }
    expect(reviewed).toBe(4); // three due cards in DenseNet and the new one in its subdeck "extra"
    expect(await page.textContent('.done h2')).toBe('Done for today');
    expect(ws.read('DenseNet.md').match(/<!--SR:!/g)).toHaveLength(3);
    expect(ws.read('Extra.md')).toMatch(/^What does θ control\?::the compression of transition layers\n<!--SR:!/m);
    expect(problems).toEqual([]);
  });
});

test('nested decks: #flashcards/DenseNet/extra is a subdeck of DenseNet, and session progress splits new / learning / review', async () => {
  await start();
  await page.goto(running.url);
  await page.waitForSelector('table.decks');
  const rows = await page.locator('table.decks tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [tr.getAttribute('data-deck'), tr.getAttribute('data-depth'), tr.querySelector('td.deck a')?.textContent]),
  );
  expect(rows).toEqual([
    ['DenseNet', '0', 'DenseNet'],
    ['DenseNet/extra', '1', 'extra'],
  ]);
  await page.click('tr[data-deck="DenseNet/extra"] td.deck a');
  await page.waitForSelector('article.card');
  expect(await page.textContent('h1')).toBe('extra');
  expect(await progress()).toEqual({ new: 1, learning: 0, review: 0 });
  await page.goto(`${running.url}#/review/DenseNet`);
  await page.waitForFunction(() => document.querySelector('h1')?.textContent === 'DenseNet');
  expect(await progress()).toEqual({ new: 1, learning: 0, review: 3 });
  const first = await cardId();
  await page.keyboard.press('Space');
  await page.keyboard.press('1'); // Again: the card is learning and comes back today
  await waitForNewCard(first);
  expect(await progress()).toEqual({ new: 1, learning: 1, review: 2 });
});

test('daily limits set in the page are applied and kept across a restart', async () => {
  await start();
  await page.goto(`${running.url}#/review/DenseNet`);
  await page.waitForSelector('article.card');
  await page.click('text=Daily limits');
  await page.waitForSelector('form.limits');
  await page.fill('input[name="newPerDay"]', '0');
  await page.fill('input[name="reviewsPerDay"]', '2');
  await page.click('form.limits button[type="submit"]');
  await page.waitForSelector('form.limits [role="status"]:has-text("Saved")');
  expect(JSON.parse(fs.readFileSync(path.join(ws.data, 'deck-settings.json'), 'utf8')).decks).toEqual({ DenseNet: { newPerDay: 0, reviewsPerDay: 2 } });
  // A restart of the server: the deck list and the session use the saved limits.
  await running.close();
  await serve();
  await page.goto(running.url);
  await page.waitForSelector('tr[data-deck="DenseNet"]');
  expect(await page.textContent('tr[data-deck="DenseNet"] td.new')).toBe('0');
  expect(await page.textContent('tr[data-deck="DenseNet"] td.due')).toBe('2');
  await page.goto(`${running.url}#/options/DenseNet`);
  await page.waitForSelector('form.limits');
  expect(await page.inputValue('input[name="newPerDay"]')).toBe('0');
  expect(await page.inputValue('input[name="reviewsPerDay"]')).toBe('2');
  // Emptied: back to the server's defaults.
  await page.fill('input[name="newPerDay"]', '');
  await page.fill('input[name="reviewsPerDay"]', '');
  await page.click('form.limits button[type="submit"]');
  await page.waitForSelector('form.limits [role="status"]:has-text("Saved")');
  expect(JSON.parse(fs.readFileSync(path.join(ws.data, 'deck-settings.json'), 'utf8')).decks).toEqual({});
});

test('bury (-) and suspend (@): kept in the data folder, the deck files keep every byte; unsuspend in Browse', async () => {
  await start();
  const deckBytes = fs.readFileSync(ws.deck('DenseNet.md'));
  const extraBytes = fs.readFileSync(ws.deck('Extra.md'));
  await page.goto(`${running.url}#/review/DenseNet`);
  await page.waitForSelector('article.card');
  const buried = await cardId();
  await page.keyboard.press('-');
  await waitForNewCard(buried);
  const suspended = await cardId();
  await page.click('button.suspend');
  await waitForNewCard(suspended);
  expect(await progress()).toEqual({ new: 1, learning: 0, review: 1 });
  expect(fs.readFileSync(ws.deck('DenseNet.md')).equals(deckBytes)).toBe(true);
  expect(fs.readFileSync(ws.deck('Extra.md')).equals(extraBytes)).toBe(true);
  const flags = JSON.parse(fs.readFileSync(path.join(ws.data, 'card-flags.json'), 'utf8'));
  expect(Object.keys(flags.buried)).toEqual([buried]);
  expect(Object.keys(flags.suspended)).toEqual([suspended]);

  await page.goto(`${running.url}#/browse?state=suspended`);
  await page.waitForSelector('table.browse');
  expect(await page.locator('table.browse tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-card')))).toEqual([suspended]);
  await page.click('table.browse button.unsuspend');
  await page.waitForSelector('table.browse tbody:not(:has(tr))', { state: 'attached' });
  expect(JSON.parse(fs.readFileSync(path.join(ws.data, 'card-flags.json'), 'utf8')).suspended).toEqual({});
  expect(fs.readFileSync(ws.deck('DenseNet.md')).equals(deckBytes)).toBe(true);
});

test('the card shows its tags and where it is (file:line, with links to open it in an editor)', async () => {
  await start();
  await page.goto(`${running.url}#/review/${encodeURIComponent('DenseNet/extra')}`);
  await page.waitForSelector('article.card');
  expect(await page.locator('.tags li').allTextContents()).toEqual(['#flashcards/DenseNet/extra']);
  expect(await page.textContent('.source code')).toBe('Extra.md:3');
  expect(EXTRA_DECK.split('\n')[2]).toMatch(/^What does θ control\?/);
  await page.goto(`${running.url}#/review/DenseNet`);
  await page.waitForFunction(() => document.querySelector('.source code')?.textContent?.startsWith('DenseNet.md:'));
  const line = Number((await page.textContent('.source code'))!.split(':')[1]);
  expect(REVIEW_DECK.split('\n')[line - 1]).toMatch(/^If the previous layer had 3 channels/);
  expect(await page.getAttribute('.source a[href^="obsidian:"]', 'href')).toBe(`obsidian://open?path=${encodeURIComponent(ws.deck('DenseNet.md'))}`);
  expect(await page.getAttribute('.source a[href^="vscode:"]', 'href')).toBe(`vscode://file${ws.deck('DenseNet.md')}:${line}`);
  expect(await page.locator('.tags li').allTextContents()).toEqual(['#flashcards']);
});

test('browse: search by text, tag, deck and state, with each card\'s schedule', async () => {
  await start();
  await page.goto(`${running.url}#/browse`);
  await page.waitForSelector('table.browse');
  expect(await page.locator('table.browse tbody tr').count()).toBe(4);
  await page.fill('input[name="q"]', 'concatenated');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => location.hash === '#/browse?q=concatenated');
  await page.waitForFunction(() => document.querySelectorAll('table.browse tbody tr').length === 1);
  const row = await page.locator('table.browse tbody tr td').allTextContents();
  expect(row.slice(1, 8)).toEqual(['DenseNet', '#flashcards', 'young', '2020-01-02', '10d', '2.50', expect.stringMatching(/^DenseNet\.md:\d+$/)]);
  await page.goto(`${running.url}#/browse?tag=flashcards%2FDenseNet%2Fextra`);
  // The previous search also showed one row: wait for the subdeck's card, not for a count.
  await page.waitForFunction(() => {
    const rows = document.querySelectorAll('table.browse tbody tr');
    return rows.length === 1 && rows[0].querySelectorAll('td')[1]?.textContent === 'DenseNet/extra';
  });
  expect(await page.textContent('table.browse tbody tr td.state')).toBe('new');
  expect(await page.inputValue('select[name="tag"]')).toBe('flashcards/DenseNet/extra');
  await page.selectOption('select[name="tag"]', '');
  await page.selectOption('select[name="state"]', 'due');
  await page.click('form.search button[type="submit"]');
  await page.waitForFunction(() => location.hash === '#/browse?state=due');
  await page.waitForFunction(() => document.querySelectorAll('table.browse tbody tr').length === 3);
  await page.selectOption('select[name="deck"]', 'DenseNet/extra');
  await page.selectOption('select[name="state"]', 'all');
  await page.click('form.search button[type="submit"]');
  await page.waitForFunction(() => location.hash === `#/browse?deck=${encodeURIComponent('DenseNet/extra')}`);
  await page.waitForFunction(() => document.querySelectorAll('table.browse tbody tr').length === 1);
  expect(await page.locator('table.browse tbody tr td').nth(1).textContent()).toBe('DenseNet/extra');
  expect(problems).toEqual([]);
});

/**
 * Holds the page's requests to `url`: `reached` resolves when the first one is held; `release()`
 * lets them go and resolves with the answer (the first response whose URL `matches`).
 */
async function holdRequests(url: string, matches: (u: string) => boolean) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let reached!: () => void;
  const heldOne = new Promise<void>((resolve) => (reached = resolve));
  await page.route(url, async (route) => {
    reached();
    await released;
    await route.continue();
  });
  return {
    reached: heldOne,
    release: async () => {
      const answer = page.waitForResponse((r) => matches(r.url()));
      release();
      return answer;
    },
  };
}

test('a page whose data arrives late does not replace the page the user moved on to', async () => {
  await start();
  const search = await holdRequests('**/api/cards?q=concatenated*', (u) => u.includes('/api/cards?q=concatenated'));
  await page.goto(`${running.url}#/browse?q=concatenated`);
  await search.reached;
  await page.evaluate(() => (location.hash = '#/stats'));
  await page.waitForSelector('table.states');
  await search.release();
  // Let the late page try to render before checking that it did not.
  await page.evaluate(() => new Promise((r) => setTimeout(r, 200)));
  expect(await page.$('table.browse')).toBeNull();
  expect(await page.$('table.states')).not.toBeNull();
  expect(await page.title()).toMatch(/^Stats/);
  expect(problems).toEqual([]);
});

test('a grade answered after the user left the review does not bring the review back', async () => {
  await start();
  const grade = await holdRequests('**/api/review', (u) => u.endsWith('/api/review'));
  await page.goto(`${running.url}#/review/DenseNet`);
  await page.waitForSelector('article.card');
  await page.keyboard.press('Space');
  await page.keyboard.press('3');
  await grade.reached;
  await page.evaluate(() => (location.hash = '#/browse'));
  await page.waitForSelector('table.browse');
  expect((await grade.release()).status()).toBe(200);
  await page.evaluate(() => new Promise((r) => setTimeout(r, 300)));
  expect(await page.$('article.card')).toBeNull();
  expect(await page.$('table.browse')).not.toBeNull();
  expect(problems).toEqual([]);
});

test('stats: retention and counts by state', async () => {
  await start();
  await page.goto(`${running.url}#/review/DenseNet`);
  await page.waitForSelector('article.card');
  for (const key of ['1', '3']) {
    const before = await cardId();
    await page.keyboard.press('Space');
    await page.keyboard.press(key);
    await waitForNewCard(before);
  }
  await page.goto(`${running.url}#/stats/DenseNet`);
  await page.waitForSelector('table.retention');
  expect(await page.textContent('table.retention td.today')).toBe('50% of 2');
  const states = Object.fromEntries(
    await page.locator('table.states tr').evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-state'), Number(tr.querySelector('td')!.textContent)])),
  );
  // Again → learning; the Good one went from 10 to 26 days (mature); the long card stays young; one new card.
  expect(states).toEqual({ new: 1, learning: 1, young: 1, mature: 1, suspended: 0, buried: 0 });
});

test('Stop ends a running demo: the request is aborted and the run is gone from the server', async () => {
  await start();
  await page.goto(`${running.url}#/review/DenseNet`);
  await page.waitForSelector('article.card');
  await page.keyboard.press('Space');
  const demo = '.demo[data-cell$=":7"]';
  expect(await page.isVisible(`${demo} button.stop`)).toBe(false);
  await page.click(`${demo} button.run`);
  await page.waitForSelector(`${demo} pre.stdout:has-text("started")`, { timeout: 120_000 });
  expect(running.cardlab.slots.running).toBe(1);
  expect(await page.isVisible(`${demo} button.run`)).toBe(false);
  await page.click(`${demo} button.stop`);
  await page.waitForSelector(`${demo} .status[data-reason="stopped"]`);
  expect(await page.textContent(`${demo} .status`)).toBe('stopped');
  expect(await page.isVisible(`${demo} button.run`)).toBe(true);
  const deadline = Date.now() + 10_000;
  while (running.cardlab.slots.running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(running.cardlab.slots.running).toBe(0);
});
