/**
 * Rendering card markdown to HTML: highlights, KaTeX, wiki links, embeds (image or a visible
 * placeholder), highlighted code, cloze sides, and safety against anything a deck could smuggle in.
 */
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseNote } from '../src/cards/note';
import { renderMarkdown, renderSide } from '../src/cards/render';

/** Fails on any element or attribute through which HTML can run script (attributes parsed as a browser does). */
function expectSafe(html: string): void {
  for (const m of html.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9:-]*)((?:\s+[^\s=>\/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)\s*\/?>/g)) {
    const [, tag, attrs] = m;
    expect(['script', 'iframe', 'object', 'embed', 'style', 'link', 'meta', 'base', 'form']).not.toContain(tag.toLowerCase());
    for (const a of attrs.matchAll(/([^\s=>\/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
      const name = a[1].toLowerCase();
      const value = (a[2] ?? a[3] ?? a[4] ?? '').replace(/&#(\d+);/g, (_x, n: string) => String.fromCharCode(Number(n))).trim();
      expect(name.startsWith('on')).toBe(false);
      if (['href', 'src', 'action', 'xlink:href', 'formaction'].includes(name)) {
        expect(value).not.toMatch(/^(javascript|vbscript|data:text)/i);
      }
    }
  }
  // A tag the browser would see but the pattern above did not parse is a failure too.
  expect(html.replace(/<\/?[a-zA-Z][a-zA-Z0-9:-]*(?:\s+[^\s=>\/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*\s*\/?>/g, '')).not.toMatch(/<[a-zA-Z\/!?]/);
}

describe('markdown features', () => {
  test('highlights, math, code', () => {
    expect(renderMarkdown('a ==b== c')).toContain('<mark>b</mark>');
    const math = renderMarkdown('inline $x^2$ and\n\n$$\n\\sum_i x_i\n$$');
    expect(math).toContain('class="katex"');
    expect(math).toContain('katex-display');
    const code = renderMarkdown('```python\ndef f(x):\n    return x\n```');
    expect(code).toContain('<span class="hljs-keyword">def</span>');
  });

  test('wiki links: note, heading, alias', () => {
    const html = renderMarkdown('See [[DenseNet#Forward Propagation|forward pass]] and [[ResNet]].');
    expect(html).toContain('<a class="wikilink" href="#card-link=DenseNet%23Forward%20Propagation" data-target="DenseNet#Forward Propagation">forward pass</a>');
    expect(html).toContain('data-target="ResNet">ResNet</a>');
    const custom = renderMarkdown('[[A#B]]', { wikiLinkUrl: (t) => `/notes/${encodeURIComponent(t)}` });
    expect(custom).toContain('href="/notes/A%23B"');
    expect(custom).toContain('>A &gt; B</a>');
  });

  test('embeds: an image when the file exists, a visible placeholder naming it when not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cardlab-attach-'));
    writeFileSync(join(dir, 'present.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    const options = { attachmentsDir: dir };
    expect(renderMarkdown('![[present.png|500]]', options)).toContain('<img class="embed" src="attachments/present.png" alt="present.png" width="500">');
    expect(renderMarkdown('![[present.png|320x200]]', options)).toContain('width="320" height="200"');
    const missing = renderMarkdown('![[absent.png|500]]', options);
    expect(missing).toContain('class="embed-missing"');
    expect(missing).toContain('missing image: absent.png');
    expect(missing).not.toContain('<img');
    // No paths out of the attachments folder.
    expect(renderMarkdown('![[../present.png]]', options)).toContain('embed-missing');
  });

  test("every image the seed deck embeds is drawn into cards/ (cardlab figures); without the files, placeholders", () => {
    const text = readFileSync(join(__dirname, '..', 'cards', 'DenseNet.md'), 'utf8');
    expect(parseNote(text).cards.length).toBeGreaterThan(0);
    const embeds = [...text.matchAll(/!\[\[([^\]|]+\.png)(?:\|\d+)?\]\]/g)].map((m) => m[1]);
    expect(embeds).toHaveLength(6);
    const empty = mkdtempSync(join(tmpdir(), 'cardlab-no-images-'));
    for (const name of embeds) {
      const shown = renderMarkdown(`![[${name}|500]]`, { attachmentsDir: join(__dirname, '..', 'cards') });
      expect(shown).toContain(`<img class="embed" src="attachments/${name}"`);
      expect(renderMarkdown(`![[${name}|500]]`, { attachmentsDir: empty })).toContain(`missing image: ${name}`);
    }
  });

  test('a card taken from an indented list does not turn into a code block', () => {
    expect(renderMarkdown('        - deep item')).toBe('<ul>\n<li>deep item</li>\n</ul>\n');
  });
});

describe('cloze sides', () => {
  const note = parseNote('Growth rate: ==k==, bottleneck ==4k;;width== channels');

  test('the front hides the asked deletion as [...] or [hint]; others are shown plain', () => {
    const card = note.cards[0];
    expect(renderSide(card, 0, 'front')).toBe('<p>Growth rate: <span class="cloze cloze-ask">[...]</span>, bottleneck 4k channels</p>\n');
    expect(renderSide(card, 1, 'front')).toBe('<p>Growth rate: k, bottleneck <span class="cloze cloze-ask">[width]</span> channels</p>\n');
  });

  test('the back shows the deletion highlighted', () => {
    expect(renderSide(note.cards[0], 1, 'back')).toBe('<p>Growth rate: k, bottleneck <mark class="cloze cloze-answer">4k</mark> channels</p>\n');
  });

  test('markdown inside a deletion is rendered inside the highlight', () => {
    const [card] = parseNote('x ==**bold** $y$== z').cards;
    const back = renderSide(card, 0, 'back');
    expect(back).toMatch(/<mark class="cloze cloze-answer"><strong>bold<\/strong> <span class="katex">/);
  });

  test('basic cards render their sides; a missing sibling is a clear error', () => {
    const [card] = parseNote('What is $k$?::the growth rate').cards;
    expect(renderSide(card, 0, 'front')).toContain('class="katex"');
    expect(renderSide(card, 0, 'back')).toBe('<p>the growth rate</p>\n');
    expect(() => renderSide(card, 1, 'front')).toThrow(/has no sibling 1 \(it has 1\)/);
  });
});

describe('nothing from a deck can run script', () => {
  const attacks = [
    '<script>alert(1)</script>',
    '<img src=x onerror=alert(1)>',
    '[click](javascript:alert(1))',
    '[click](JAVASCRIPT:alert(1))',
    '[click](vbscript:msgbox(1))',
    '[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
    '![x](javascript:alert(1))',
    '![x](x.png" onerror="alert(1))',
    '<a href="javascript:alert(1)">x</a>',
    '[[Note" onmouseover="alert(1)|alias<script>]]',
    "[[x' onclick='alert(1)]]",
    '![[a" onerror="alert(1).png|500]]',
    '![[javascript:alert(1)]]',
    '$\\href{javascript:alert(1)}{x}$',
    '$$\\url{javascript:alert(1)}$$',
    '```html\n<script>alert(1)</script>\n```',
    '<svg onload=alert(1)>',
    '\uE010<script>\uE011 stray sentinels \uE012',
  ];

  test.each(attacks)('renderMarkdown: %s', (attack) => {
    const html = renderMarkdown(attack, { attachmentsDir: tmpdir() });
    expectSafe(html);
    expect(html).not.toMatch(/<script/i);
  });

  test.each(attacks)('cloze sides: %s', (attack) => {
    const [card] = parseNote(`==${attack.replace(/\n/g, ' ')}== and ==x==`).cards;
    expect(card.siblings.length).toBeGreaterThanOrEqual(1);
    card.siblings.forEach((_s, i) => {
      expectSafe(renderSide(card, i, 'front'));
      expectSafe(renderSide(card, i, 'back'));
    });
  });

  test('the safety check itself catches unsafe HTML', () => {
    expect(() => expectSafe('<img src=x onerror=alert(1)>')).toThrow();
    expect(() => expectSafe('<a href="javascript:alert(1)">')).toThrow();
    expect(() => expectSafe('<script>')).toThrow();
    expect(() => expectSafe('<a title="x" onclick="y">')).toThrow();
    expect(() => expectSafe('<p data-x="onerror=1">ok</p>')).not.toThrow();
  });
});
