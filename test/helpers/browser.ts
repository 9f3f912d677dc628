/**
 * Debian's chromium through playwright-core for the page's end-to-end tests (never a downloaded
 * browser), the two viewports the page is checked at, and axe-core run inside the page.
 */
import fs from 'fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** A laptop and a phone (iPhone 12-14 size). */
export const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 390, height: 844 },
] as const;
export type Viewport = (typeof VIEWPORTS)[number];

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install the Debian package "chromium" (apt-get install chromium; listed in scripts/system-packages.txt)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
}

/** A fresh context (own storage) at a viewport and colour scheme; page errors and 4xx/5xx are collected. */
export async function openPage(browser: Browser, viewport: { width: number; height: number }, colorScheme: 'light' | 'dark' = 'light') {
  const context: BrowserContext = await browser.newContext({ viewport, colorScheme, isMobile: viewport.width < 500, hasTouch: viewport.width < 500 });
  const page: Page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`${res.status()} ${res.url()}`);
  });
  return { context, page, problems };
}

const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeFinding {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/** axe-core's findings of impact serious or critical on the page as it is now. */
export async function seriousAxeFindings(page: Page): Promise<AxeFinding[]> {
  // Evaluated through the DevTools protocol: the page's CSP (scripts from its own origin only) would
  // refuse it as a script tag, and the page itself stays as served.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
}

/** Nothing wider than the viewport: the widest element's right edge, and the document's scroll width. */
export async function horizontalOverflow(page: Page): Promise<{ scrollWidth: number; widest: string | null }> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    let widest: string | null = null;
    for (const el of Array.from(document.querySelectorAll('body *'))) {
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.right <= width + 1) continue;
      // Content inside a box that scrolls sideways on its own is fine: the page does not widen.
      let p = el.parentElement;
      let scrolled = false;
      while (p) {
        const overflow = getComputedStyle(p).overflowX;
        if (overflow === 'auto' || overflow === 'scroll' || overflow === 'hidden') {
          scrolled = true;
          break;
        }
        p = p.parentElement;
      }
      if (!scrolled) {
        widest = `${el.tagName.toLowerCase()}.${(el as HTMLElement).className} right=${Math.round(box.right)}`;
        break;
      }
    }
    return { scrollWidth: document.documentElement.scrollWidth, widest };
  });
}
