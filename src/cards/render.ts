/**
 * Card markdown → safe HTML: markdown-it (raw HTML off) with highlights (`==mark==`), KaTeX math,
 * Obsidian wiki links `[[Note#Heading|alias]]`, embeds `![[image.png|500]]` (a visible placeholder when
 * the file is missing), highlight.js for fenced code, and cloze sides (`[...]` / `[hint]` on the
 * front, the answer highlighted on the back).
 *
 * Nothing from a deck can run script: raw HTML is escaped, markdown-it refuses `javascript:` and
 * similar links, KaTeX runs untrusted (no `\href{javascript:…}`), and every attribute we write is
 * escaped.
 */
import MarkdownIt from 'markdown-it';
import type { StateInline } from 'markdown-it';
import markdownItKatex from '@vscode/markdown-it-katex';
import hljs from 'highlight.js';
import type { Card, ParserOptions } from './model';
import { resolveParserOptions } from './options';
import { resolveAttachment } from './attachments';
import { expandSides, type ClozeFormatter } from './siblings';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const markdownItMark: MarkdownIt.PluginSimple = require('markdown-it-mark');

export interface RenderOptions {
  /** The folder embeds are looked up in (by file name). Without it every embed is "missing". */
  attachmentsDir?: string;
  /** The URL of an existing attachment. Default: `attachments/<file>`. */
  attachmentUrl?: (file: string) => string;
  /** The URL of a wiki link target. Default: `#card-link=<Note#Heading>`. */
  wikiLinkUrl?: (target: string) => string;
  /** The options the card was parsed with (cloze patterns, separators). Default: the plugin's. */
  parserOptions?: Partial<ParserOptions>;
}

const IMAGE_EXTENSIONS = new Set(['png', 'jpg', 'jpeg', 'gif', 'svg', 'webp', 'apng', 'avif', 'bmp']);

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Builds the markdown-it instance for one set of render options. */
function createMarkdown(options: RenderOptions): MarkdownIt {
  const md: MarkdownIt = new MarkdownIt({
    html: false,
    // Obsidian shows a single line break as a break (its "strict line breaks" setting is off by default).
    breaks: true,
    linkify: false,
    typographer: false,
    highlight: (code: string, lang: string): string => {
      if (lang && hljs.getLanguage(lang)) {
        return hljs.highlight(code, { language: lang, ignoreIllegals: true }).value;
      }
      return ''; // markdown-it escapes it
    },
  });
  md.use(markdownItMark);
  md.use(markdownItKatex, { throwOnError: false, trust: false });
  md.use(wikiLinks, options);
  // Links open outside the review page and carry no referrer.
  const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, idx, opts, _env, self) => self.renderToken(tokens, idx, opts));
  md.renderer.rules.link_open = (tokens, idx, opts, env, self) => {
    tokens[idx].attrSet('rel', 'noopener noreferrer');
    tokens[idx].attrSet('target', '_blank');
    return defaultLinkOpen(tokens, idx, opts, env, self);
  };
  return md;
}

/** `[[target|alias]]` and `![[file|size]]` as inline tokens. */
function wikiLinks(md: MarkdownIt, options: RenderOptions): void {
  const WIKI = /^(!?)\[\[([^\[\]\n]+?)\]\]/;
  md.inline.ruler.before('link', 'wikilink', (state: StateInline, silent: boolean): boolean => {
    const ch = state.src.charCodeAt(state.pos);
    if (ch !== 0x5b /* [ */ && ch !== 0x21 /* ! */) return false;
    const m = WIKI.exec(state.src.slice(state.pos));
    if (!m) return false;
    if (!silent) {
      const [target, ...rest] = m[2].split('|');
      const token = state.push(m[1] ? 'wiki_embed' : 'wiki_link', '', 0);
      token.meta = { target: target.trim(), alias: rest.join('|').trim() };
    }
    state.pos += m[0].length;
    return true;
  });

  const linkUrl = options.wikiLinkUrl ?? ((target: string) => `#card-link=${encodeURIComponent(target)}`);
  md.renderer.rules.wiki_link = (tokens, idx) => {
    const { target, alias } = tokens[idx].meta as { target: string; alias: string };
    const label = alias || target.replace(/#\^?/, ' > ');
    return `<a class="wikilink" href="${escapeHtml(linkUrl(target))}" data-target="${escapeHtml(target)}">${escapeHtml(label)}</a>`;
  };

  const fileUrl = options.attachmentUrl ?? ((file: string) => `attachments/${encodeURIComponent(file)}`);
  md.renderer.rules.wiki_embed = (tokens, idx) => {
    const { target, alias } = tokens[idx].meta as { target: string; alias: string };
    const extension = (target.split('.').pop() ?? '').toLowerCase();
    if (!IMAGE_EXTENSIONS.has(extension) || target.includes('#')) {
      return `<a class="wikilink embed-note" href="${escapeHtml(linkUrl(target))}" data-target="${escapeHtml(target)}">${escapeHtml(alias || target)}</a>`;
    }
    if (!attachmentExists(options.attachmentsDir, target)) {
      return `<span class="embed-missing" role="img" aria-label="missing image ${escapeHtml(target)}">⚠ missing image: ${escapeHtml(target)}</span>`;
    }
    const size = /^(\d+)(?:x(\d+))?$/.exec(alias);
    const dims = size ? ` width="${size[1]}"${size[2] ? ` height="${size[2]}"` : ''}` : '';
    return `<img class="embed" src="${escapeHtml(fileUrl(target))}" alt="${escapeHtml(target)}"${dims}>`;
  };
}

/** Only a plain file name whose real path is inside the folder counts (./attachments.ts). */
function attachmentExists(dir: string | undefined, file: string): boolean {
  return dir !== undefined && resolveAttachment(dir, file) !== null;
}

const markdownCache = new WeakMap<RenderOptions, MarkdownIt>();
const DEFAULT_OPTIONS: RenderOptions = {};

/** Markdown → safe HTML. */
export function renderMarkdown(markdown: string, options: RenderOptions = DEFAULT_OPTIONS): string {
  let md = markdownCache.get(options);
  if (!md) {
    md = createMarkdown(options);
    markdownCache.set(options, md);
  }
  return md.render(dedent(stripSentinels(markdown)));
}

/**
 * Removes the indentation all lines share, keeping the relative one: a card taken from a nested list
 * renders as that list, not as an indented code block.
 */
export function dedent(text: string): string {
  const lines = text.split('\n');
  const indents = lines.filter((l) => l.trim().length > 0).map((l) => /^[ \t]*/.exec(l)![0].length);
  const common = indents.length > 0 ? Math.min(...indents) : 0;
  return common === 0 ? text : lines.map((l) => l.slice(Math.min(common, /^[ \t]*/.exec(l)![0].length))).join('\n');
}

// Private-use characters mark cloze deletions through markdown-it; they become spans afterwards.
const ASK_OPEN = '\uE010';
const ASK_CLOSE = '\uE011';
const ANSWER_OPEN = '\uE012';
const ANSWER_CLOSE = '\uE013';
const SENTINELS = /[\uE010-\uE013]/g;

function stripSentinels(text: string): string {
  return text.replace(SENTINELS, '');
}

const SENTINEL_FORMATTER: ClozeFormatter = {
  asking: (_answer, hint) => `${ASK_OPEN}${hint ? `[${hint}]` : '[...]'}${ASK_CLOSE}`,
  showingAnswer: (answer) => `${ANSWER_OPEN}${answer}${ANSWER_CLOSE}`,
  hiding: (_answer, hint) => `${ASK_OPEN}${hint ? `[${hint}]` : '[...]'}${ASK_CLOSE}`,
};

/** One side of one sibling of a card, as HTML. */
export function renderSide(
  card: Card,
  siblingIndex: number,
  side: 'front' | 'back',
  options: RenderOptions = DEFAULT_OPTIONS,
): string {
  const sibling = card.siblings[siblingIndex];
  if (!sibling) throw new RangeError(`card ${card.id} has no sibling ${siblingIndex} (it has ${card.siblings.length})`);
  if (card.type !== 'Cloze') return renderMarkdown(sibling[side], options);

  const parserOptions = resolveParserOptions(options.parserOptions);
  const sides = expandSides('Cloze', stripSentinels(card.question), parserOptions, SENTINEL_FORMATTER);
  const markdown = sides[siblingIndex]?.[side] ?? sibling[side];
  let md = markdownCache.get(options);
  if (!md) {
    md = createMarkdown(options);
    markdownCache.set(options, md);
  }
  return balanceSentinels(md.render(dedent(markdown)));
}

/** Sentinels → spans; a pair markdown-it split across elements is dropped rather than left unbalanced. */
function balanceSentinels(html: string): string {
  const pair = (open: string, close: string, tag: string, cls: string) => (s: string) =>
    s.replace(new RegExp(`${open}([^${open}${close}<]*(?:<(?!/?(?:p|li|ul|ol|div|h\\d|blockquote|pre)\\b)[^${open}${close}<]*)*)${close}`, 'g'),
      (_m, inner: string) => `<${tag} class="${cls}">${inner}</${tag}>`);
  const withAsk = pair(ASK_OPEN, ASK_CLOSE, 'span', 'cloze cloze-ask')(html);
  const withAnswer = pair(ANSWER_OPEN, ANSWER_CLOSE, 'mark', 'cloze cloze-answer')(withAsk);
  return withAnswer.replace(SENTINELS, '');
}
