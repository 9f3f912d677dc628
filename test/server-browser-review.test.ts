/**
 * The defects of issue 12, each checked in Debian's chromium (playwright-core) at 1280×800 and at
 * 390×844: grades hidden until the reveal, demos only on the answer side, undo per session (Ctrl+Z),
 * a double click grading once, wiki links opening a preview, a cloze shown once, soft line breaks,
 * the phone layout (nothing wider than the screen, demo tables scroll, grades in reach, charts with
 * nothing over their titles), stats ticks and bars, and the accessibility defects.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import type { Browser, Page } from 'playwright-core';
import { resolveConfig } from '../server/config';
import { startServer, type RunningServer } from '../server/index';
import { assertBuilt } from './helpers/built';
import { horizontalOverflow, launchChromium, openPage, VIEWPORTS } from './helpers/browser';
import { REVIEW_DECK, reviewWorkspace } from './helpers/review-fixtures';
import { changedLines, type Workspace } from './helpers/server-fixtures';

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

async function start(viewport: { width: number; height: number }, extraDecks: Record<string, string> = {}) {
  ws = reviewWorkspace(extraDecks);
  running = await startServer(resolveConfig({ cards: ws.cards, notebooks: ws.notebooks, data: ws.data, port: 0, cellTimeout: 150_000 }, {}));
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

const shot = (name: string) => page.screenshot({ path: path.join(os.tmpdir(), `cardlab-${name}.png`), fullPage: false });
const logLines = () => {
  const file = path.join(ws.data, 'reviews.jsonl');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
};
const visibleText = () => page.evaluate(() => document.body.innerText);
async function openReview(deck = 'DenseNet') {
  await page.goto(`${running.url}#/review/${encodeURIComponent(deck)}`);
  await page.waitForSelector('article.card');
}
async function reveal() {
  await page.keyboard.press('Space');
  await page.waitForSelector('article.card[data-side="back"]');
}

describe.each(VIEWPORTS)('at $width×$height', (viewport) => {
  test('grade buttons are hidden and out of the tab order until the answer is shown', async () => {
    await start(viewport);
    await openReview();
    expect(await page.isVisible('.grades')).toBe(false);
    expect(await page.locator('.grades button').evaluateAll((els) => els.map((e) => (e as HTMLElement).offsetParent !== null))).toEqual([false, false, false, false]);
    // Tab through the whole page: no grade button ever takes focus.
    const focused = new Set<string>();
    for (let i = 0; i < 25; i++) {
      await page.keyboard.press('Tab');
      focused.add(await page.evaluate(() => (document.activeElement as HTMLElement)?.dataset?.grade ?? document.activeElement?.tagName ?? ''));
    }
    for (const g of ['Again', 'Hard', 'Good', 'Easy']) expect(focused.has(g)).toBe(false);
    await page.keyboard.press('Escape');
    await page.focus('h1');
    await reveal();
    for (const g of ['Again', 'Hard', 'Good', 'Easy']) expect(await page.isVisible(`.grades button[data-grade="${g}"]`)).toBe(true);
    expect(problems).toEqual([]);
  });

  test('live demos are on the answer side only, labelled by what they show, code folded', async () => {
    await start(viewport);
    await openReview();
    expect(await page.getAttribute('article.card', 'data-type')).toBe('Cloze');
    expect(await page.isVisible('.demo')).toBe(false);
    const front = await visibleText();
    expect(front).not.toContain('growth rate'); // the answer, nowhere on the question side
    expect(front).not.toContain('const k = 10');
    await reveal();
    expect(await page.isVisible('.demo')).toBe(true);
    expect(await page.locator('.demo h3').evaluateAll((els) => els.map((e) => e.textContent))).toEqual([
      'Three composite layers, one at a time',
      'A wide table',
      'A chart with a legend',
      'A slow run',
    ]);
    expect(await page.isVisible('.demo textarea')).toBe(false); // folded until asked for
    expect(await visibleText()).not.toContain('const k = 10');
    await page.click('.demo[data-cell$=":1"] summary');
    expect(await page.isVisible('.demo[data-cell$=":1"] textarea')).toBe(true);
  });

  test('undo belongs to the deck\'s session and is Ctrl+Z; with nothing to undo the button is disabled', async () => {
    await start(viewport, { 'Other.md': '#flashcards\nOther question::other answer\n' });
    await openReview('Other');
    expect(await page.isDisabled('button.undo')).toBe(true);
    await reveal();
    await page.keyboard.press('3');
    await page.waitForSelector('.done');
    const otherGraded = ws.read('Other.md');
    expect(otherGraded).not.toBe('#flashcards\nOther question::other answer\n');

    // In DenseNet nothing was graded: Ctrl+Z there must not undo Other's grade.
    await openReview('DenseNet');
    expect(await page.isDisabled('button.undo')).toBe(true);
    await page.keyboard.press('Control+z');
    await page.waitForTimeout(300);
    expect(ws.read('Other.md')).toBe(otherGraded);
    await reveal();
    const first = await page.getAttribute('article.card', 'data-card');
    await page.keyboard.press('2');
    await page.waitForFunction((id) => document.querySelector('article.card')?.getAttribute('data-card') !== id, first);
    expect(await page.textContent('button.undo')).toBe('Undo Hard');
    await page.keyboard.press('Control+z');
    await page.waitForFunction((id) => document.querySelector('article.card')?.getAttribute('data-card') === id, first);
    expect(ws.read('DenseNet.md')).toBe(REVIEW_DECK);
    expect(ws.read('Other.md')).toBe(otherGraded);
    expect(await page.isDisabled('button.undo')).toBe(true);
    expect(problems).toEqual([]); // no 409 from an undo the page should not have sent
  });

  test('a double click on a grade grades once (both requests carry the same request id)', async () => {
    await start(viewport);
    const posts: { requestId: string }[] = [];
    page.on('request', (req) => {
      if (req.method() === 'POST' && req.url().endsWith('/api/review')) posts.push(JSON.parse(req.postData() ?? '{}'));
    });
    await openReview();
    const cardId = await page.getAttribute('article.card', 'data-card');
    const planned = await page.evaluate(async (id) => {
      const next = await (await fetch('/api/decks/DenseNet/next')).json();
      return next.card.id === id ? next.card.intervals.Easy.interval : null;
    }, cardId);
    await reveal();
    await page.dblclick('.grades button[data-grade="Easy"]');
    await page.waitForFunction((id) => document.querySelector('article.card')?.getAttribute('data-card') !== id, cardId);
    await page.waitForTimeout(300);
    expect(posts.length).toBe(2);
    expect(posts[0].requestId).toMatch(/^[0-9a-f]{32}$/);
    expect(posts[1].requestId).toBe(posts[0].requestId);
    expect(logLines()).toHaveLength(1);
    const changes = changedLines(REVIEW_DECK, ws.read('DenseNet.md'));
    expect(changes).toHaveLength(1);
    expect(changes[0][2]).toMatch(new RegExp(`^<!--SR:!\\d{4}-\\d{2}-\\d{2},${planned},\\d+-->$`)); // not compounded
  });

  test('a wiki link opens the linked section in a preview and comes back to the revealed card', async () => {
    await start(viewport);
    await openReview();
    await reveal();
    await page.click('article.card .back a.wikilink');
    await page.waitForSelector('dialog#preview[open]:not([aria-busy])');
    expect(await page.textContent('#preview-title')).toBe('Composite');
    expect(await page.textContent('dialog#preview .preview-body')).toContain('takes the concatenated feature maps');
    expect(page.url()).toMatch(/#\/review\/DenseNet$/);
    await shot(`preview-${viewport.name}`);
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog#preview', { state: 'hidden' });
    expect(await page.getAttribute('article.card', 'data-side')).toBe('back');
    expect(await page.isVisible('.grades')).toBe(true);
    // The close button works too, and focus goes back to the link.
    await page.click('article.card .back a.wikilink');
    await page.waitForSelector('dialog#preview[open]');
    await page.click('dialog#preview button.close');
    expect(await page.evaluate(() => document.activeElement?.classList.contains('wikilink'))).toBe(true);
  });

  test('a cloze shows its paragraph once after the reveal, answer filled in; soft line breaks are kept', async () => {
    await start(viewport);
    await openReview();
    await reveal();
    const text = await page.evaluate(() => (document.querySelector('article.card') as HTMLElement).innerText);
    expect(text.split('10 new output channels').length - 1).toBe(1);
    expect(await page.textContent('article.card .cloze-answer')).toBe('growth rate');
    expect(await page.isVisible('article.card hr')).toBe(false);
    await page.keyboard.press('3');
    await page.waitForSelector('article.card .front br', { state: 'attached' });
    const composite = await page.evaluate(() => (document.querySelector('article.card .front') as HTMLElement).innerText);
    expect(composite).toMatch(/^Composite Layer\nThe Composite Layer/);
  });

  test('layout: nothing wider than the screen, demo tables scroll, the grades stay in reach on a long card', async () => {
    await start(viewport);
    await page.goto(running.url);
    await page.waitForSelector('table.decks');
    expect(await horizontalOverflow(page)).toEqual({ scrollWidth: viewport.width, widest: null });
    await shot(`decks-${viewport.name}`);
    await openReview();
    await reveal();
    expect(await horizontalOverflow(page)).toEqual({ scrollWidth: viewport.width, widest: null });
    // The wide table of a demo scrolls in its own box.
    await page.click('.demo[data-cell$=":3"] button.run');
    await page.waitForSelector('.demo[data-cell$=":3"] .html table', { timeout: 120_000 });
    const table = await page.$eval('.demo[data-cell$=":3"] .html', (el) => {
      el.scrollLeft = 200;
      return { scrolls: el.scrollWidth > el.clientWidth, left: el.scrollLeft, overflow: getComputedStyle(el).overflowX };
    });
    expect(table).toEqual({ scrolls: true, left: 200, overflow: 'auto' });
    expect(await horizontalOverflow(page)).toEqual({ scrollWidth: viewport.width, widest: null });
    // A demo's chart: no toolbar; its long title wrapped inside the chart; its legend (placed below the
    // plot by the figure, where it would sit on the axis title) in a row between title and plot.
    await page.click('.demo[data-cell$=":5"] button.run');
    await page.waitForSelector('.demo[data-cell$=":5"] .plot .main-svg .legend', { timeout: 120_000 });
    const chart = await page.$eval('.demo[data-cell$=":5"] .plot', (el) => {
      const r = (sel: string) => {
        const b = el.querySelector(sel)!.getBoundingClientRect();
        return { left: b.left, right: b.right, top: b.top, bottom: b.bottom };
      };
      return { box: r('.main-svg'), title: r('.gtitle'), legend: r('.legend'), xtitle: r('.xtitle'), ytitle: r('.ytitle'), plot: r('.scatterlayer'), modebar: el.querySelectorAll('.modebar').length };
    });
    type Box = { left: number; right: number; top: number; bottom: number };
    const overlap = (a: Box, b: Box) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    const inside = (a: Box, b: Box) => a.left >= b.left - 1 && a.right <= b.right + 1 && a.top >= b.top - 1 && a.bottom <= b.bottom + 1;
    expect(chart.modebar).toBe(0);
    expect(inside(chart.title, chart.box)).toBe(true);
    for (const other of [chart.title, chart.xtitle, chart.ytitle, chart.plot]) expect(overlap(chart.legend, other)).toBe(false);
    expect(await horizontalOverflow(page)).toEqual({ scrollWidth: viewport.width, widest: null });
    await shot(`back-${viewport.name}`);
    // The long card: after the reveal all four grades are on screen without scrolling.
    await page.keyboard.press('3');
    await page.waitForSelector('article.card .front br', { state: 'attached' });
    await reveal();
    await page.keyboard.press('3');
    await page.waitForFunction(() => document.querySelector('article.card')?.textContent?.includes('long answer'));
    await reveal();
    expect(await page.evaluate(() => document.documentElement.scrollHeight)).toBeGreaterThan(viewport.height);
    for (const g of ['Again', 'Hard', 'Good', 'Easy']) {
      const box = (await page.locator(`.grades button[data-grade="${g}"]`).boundingBox())!;
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.y + box.height).toBeLessThanOrEqual(viewport.height);
    }
    await shot(`long-${viewport.name}`);
    expect(problems).toEqual([]);
  });

  test('stats: whole-number ticks, readable interval bars, no toolbar or legend over titles, nothing wider than the screen', async () => {
    await start(viewport);
    await openReview();
    for (const key of ['1', '3']) {
      await reveal();
      const id = await page.getAttribute('article.card', 'data-card');
      await page.keyboard.press(key);
      await page.waitForFunction((prev) => document.querySelector('article.card')?.getAttribute('data-card') !== prev, id);
    }
    await page.goto(`${running.url}#/stats`);
    await page.waitForSelector('#chart-reviews .main-svg .legend');
    await page.waitForSelector('#chart-intervals .main-svg');
    await shot(`stats-${viewport.name}`);
    expect(await horizontalOverflow(page)).toEqual({ scrollWidth: viewport.width, widest: null });
    for (const chart of ['forecast', 'reviews', 'intervals', 'eases']) {
      const ticks = await page.locator(`#chart-${chart} .ytick text`).allTextContents();
      expect(ticks.length).toBeGreaterThan(1);
      for (const t of ticks) expect(t).toMatch(/^\d+$/);
      expect(await page.locator(`#chart-${chart} .modebar`).count()).toBe(0);
    }
    const widths = await page.locator('#chart-intervals .bars .point path').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().width));
    expect(widths.length).toBeGreaterThan(0);
    for (const w of widths) expect(w).toBeGreaterThan(10);
    const boxes = await page.evaluate(() => {
      const box = (sel: string) => {
        const r = document.querySelector(`#chart-reviews ${sel}`)!.getBoundingClientRect();
        return { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
      };
      return { legend: box('.legend'), title: box('.gtitle'), xtitle: box('.xtitle'), ytitle: box('.ytitle'), plot: box('.bars') };
    });
    type Box = { left: number; right: number; top: number; bottom: number };
    const overlap = (a: Box, b: Box) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    expect(overlap(boxes.legend, boxes.title)).toBe(false);
    expect(overlap(boxes.legend, boxes.xtitle)).toBe(false);
    expect(overlap(boxes.legend, boxes.ytitle)).toBe(false);
    expect(overlap(boxes.legend, boxes.plot)).toBe(false);
  });

  test('accessibility: named grade and Run buttons, no live region around the card, an h1, Space presses a focused button, Enter reveals', async () => {
    await start(viewport);
    await openReview();
    expect(await page.locator('h1').count()).toBe(1);
    expect(await page.getAttribute('main', 'aria-live')).toBeNull();
    // The card is in no live region (a screen reader would read the whole page on every change); the announcer is outside main.
    expect(await page.$eval('article.card', (el) => el.closest('[aria-live]'))).toBeNull();
    expect(await page.$eval('#announce', (el) => [el.getAttribute('aria-live'), el.closest('main')])).toEqual(['polite', null]);
    // Space on a focused button presses that button (here: Bury), it does not reveal.
    const buried = await page.getAttribute('article.card', 'data-card');
    await page.focus('button.bury');
    await page.keyboard.press('Space');
    await page.waitForFunction((id) => document.querySelector('article.card')?.getAttribute('data-card') !== id, buried);
    expect(await page.getAttribute('article.card', 'data-side')).toBeNull();
    expect(JSON.parse(fs.readFileSync(path.join(ws.data, 'card-flags.json'), 'utf8')).buried).toHaveProperty([buried!]);
    // Enter (focus on the page, not a control) reveals.
    await page.focus('h1');
    await page.keyboard.press('Enter');
    await page.waitForSelector('article.card[data-side="back"]');
    // Names with their words apart (not "Hard1.1y2"), the interval spelled out in the description.
    for (const [i, g] of ['Again', 'Hard', 'Good', 'Easy'].entries()) {
      const button = page.getByRole('button', { name: new RegExp(`^${g} (<1d|\\d+d|[\\d.]+(mo|y)) ${i + 1}$`) });
      expect(await button.count()).toBe(1);
      const description = await button.evaluate((el) => document.getElementById(el.getAttribute('aria-describedby')!)!.textContent);
      expect(description).toMatch(new RegExp(`^next review in (less than a day|\\d+ days?|[\\d.]+ (months|years)); key ${i + 1}$`));
    }
    // Back on the first card (unburied through the API) to see its three demos: three different Run names.
    await page.evaluate(async (id) => {
      await fetch('/api/cards/flag', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ cardId: id, action: 'unbury' }) });
    }, buried);
    await page.reload();
    await page.waitForSelector(`article.card[data-card="${buried}"]`);
    await reveal();
    const runs = await page.locator('.demo button.run').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
    expect(runs).toHaveLength(4);
    expect(new Set(runs).size).toBe(4);
    // Space on the "Show the code" summary opens it and grades nothing.
    await page.focus('.demo summary');
    await page.keyboard.press('Space');
    expect(await page.isVisible('.demo textarea')).toBe(true);
    expect(logLines()).toHaveLength(0);
  });
});
