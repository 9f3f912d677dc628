/**
 * Edge cases the plugin's users report, done right (each is a deliberate difference from the plugin,
 * listed in docs/ARCHITECTURE.md), CRLF files, and a fuzz test: no markdown makes the parser throw.
 */
import fc from 'fast-check';
import { parseCards } from '../src/cards/parse';
import { parseNote } from '../src/cards/note';
import { renderSide } from '../src/cards/render';

const kinds = (text: string) => parseCards(text).map((c) => [c.cardType, c.text, c.firstLineNum, c.lastLineNum]);

describe('HTML comments hide only what is in them', () => {
  test('a comment spanning lines does not hide the cards after it', () => {
    expect(kinds('<!--\nnotes to self\n-->\nQ::A\n\nx ==y== z')).toEqual([
      ['SingleLineBasic', 'Q::A', 3, 3],
      ['Cloze', 'x ==y== z', 5, 5],
    ]);
  });

  test('a card right after a comment starts after it', () => {
    expect(kinds('<!--\nabout this deck\n-->\nQ\n?\nA')).toEqual([['MultiLineBasic', 'Q\n?\nA', 3, 5]]);
  });

  test('the line right after a one-line comment is not lost', () => {
    // The plugin skips the line after any comment; this card would vanish there.
    expect(kinds('<!-- hidden -->\nQ::A')).toEqual([['SingleLineBasic', 'Q::A', 1, 1]]);
  });

  test('cards inside the comment stay hidden; an unclosed comment hides the rest', () => {
    expect(kinds('<!--\nQ::A\nB::C\n-->')).toEqual([]);
    expect(kinds('<!--\nQ::A\n\nB::C')).toEqual([]);
  });

  test('a comment inside a multi-line card is left out of its text', () => {
    expect(kinds('Q\n?\n<!-- private -->\nA')).toEqual([['MultiLineBasic', 'Q\n?\nA', 0, 3]]);
  });
});

describe('inline separators inside a multi-line answer', () => {
  test('std::vector does not turn the answer into a single-line card', () => {
    const text = 'Which C++ container grows at the end in amortised O(1)?\n?\nstd::vector\nstd::deque too';
    expect(kinds(text)).toEqual([['MultiLineBasic', text, 0, 3]]);
    const [card] = parseNote(text).cards;
    expect(card.siblings).toEqual([
      expect.objectContaining({ front: 'Which C++ container grows at the end in amortised O(1)?', back: 'std::vector\nstd::deque too' }),
    ]);
  });

  test('also in reversed multi-line cards, with a scheduling comment', () => {
    const text = 'Scope operator\n??\nstd::cout, a:::b\n<!--SR:!2024-01-02,3,250!2024-01-03,4,260-->';
    expect(kinds(text)).toEqual([['MultiLineReversed', text, 0, 3]]);
    expect(parseNote(text).cards[0].siblings.map((s) => s.schedule?.interval)).toEqual([3, 4]);
  });
});

describe('math stays math', () => {
  test('`::` inside $…$ is not a card; outside it is, and splits outside the math', () => {
    expect(kinds('The ratio $a::b$ is notation')).toEqual([]);
    expect(kinds('In $x::y$, what is $x$?::the first term')).toEqual([['SingleLineBasic', 'In $x::y$, what is $x$?::the first term', 0, 0]]);
    const [card] = parseNote('In $x::y$, what is $x$?::the first term').cards;
    expect(card.siblings[0]).toMatchObject({ front: 'In $x::y$, what is $x$?', back: 'the first term' });
  });

  test('`==` inside math is not a cloze, and does not become a deletion of a real cloze', () => {
    expect(kinds('Energy $E==mc^2$ here')).toEqual([]);
    expect(kinds('$$a == b$$')).toEqual([]);
    const [card] = parseNote('The ==answer== is $a == b$ and $c == d$').cards;
    expect(card.siblings.map((s) => s.front)).toEqual(['The [...] is $a == b$ and $c == d$']);
  });

  test('a `?` line inside display math is not a separator', () => {
    expect(kinds('Some formula\n$$\n?\n$$')).toEqual([]);
    expect(kinds('Formula:\n$$\na == b\nc::d\n$$')).toEqual([]);
  });

  test('a multi-line card with display math in the answer keeps it whole', () => {
    const text = 'Define the dense block output\n?\n$$\nx_\\ell = H_\\ell([x_0, \\ldots, x_{\\ell-1}])\n??\n$$';
    expect(kinds(text)).toEqual([['MultiLineBasic', text, 0, 5]]);
  });

  test('dollar amounts are not math', () => {
    expect(kinds('It costs $5 or $6::cheap')).toEqual([['SingleLineBasic', 'It costs $5 or $6::cheap', 0, 0]]);
  });
});

describe('fenced code is never card syntax', () => {
  test('indented fences (code in a list item)', () => {
    expect(kinds('- step one\n  ```\n  a::b\n  x ==y==\n  ```')).toEqual([]);
    expect(kinds('- item\n    ~~~\n    ?\n    ~~~\n')).toEqual([]);
  });

  test('code in a multi-line answer: separators inside are text', () => {
    const text = 'How to default a value in JS?\n?\n```js\nconst v = a ?? b;\n??\nobj::method\n```';
    expect(kinds(text)).toEqual([['MultiLineBasic', text, 0, 6]]);
  });

  test('an unclosed fence takes the rest and does not throw', () => {
    expect(kinds('Q\n?\n```\ncode::x')).toEqual([['MultiLineBasic', 'Q\n?\n```\ncode::x\n```', 0, 3]]);
  });
});

describe('list indentation survives', () => {
  test('a card in a nested list keeps its indentation and renders as a list', () => {
    const text = '- parent\n    - child question::child answer';
    expect(kinds(text)).toEqual([['SingleLineBasic', '    - child question::child answer', 1, 1]]);
    const [card] = parseNote(text).cards;
    expect(card.siblings[0].front).toBe('    - child question');
    const html = renderSide(card, 0, 'front');
    expect(html).toContain('<li>child question</li>');
    expect(html).not.toContain('<pre>');
  });

  test('a nested list in a multi-line answer keeps its nesting', () => {
    const [card] = parseNote('Layers of DenseNet-BC?\n?\n- dense block\n  - BN-ReLU-Conv 1x1\n  - BN-ReLU-Conv 3x3\n- transition').cards;
    expect(card.siblings[0].back).toBe('- dense block\n  - BN-ReLU-Conv 1x1\n  - BN-ReLU-Conv 3x3\n- transition');
    const html = renderSide(card, 0, 'back').replace(/\s+/g, '');
    expect(html).toBe('<ul><li>denseblock<ul><li>BN-ReLU-Conv1x1</li><li>BN-ReLU-Conv3x3</li></ul></li><li>transition</li></ul>');
  });
});

describe('CRLF files', () => {
  const lf = '---\ntags: [flashcards]\n---\n# H\n\nQ::A\n<!--SR:!2024-01-02,3,250-->\n\nQ2\n??\nA2 <!--SR:!2024-02-02,4,260-->\n\nx ==y== z\n';
  const crlf = lf.replace(/\n/g, '\r\n');

  test('same cards, same lines, no \\r in card text', () => {
    expect(parseCards(crlf)).toEqual(parseCards(lf));
    expect(parseCards(crlf).some((c) => c.text.includes('\r'))).toBe(false);
  });

  test('same model, and the note remembers its line ending', () => {
    const a = parseNote(lf, { path: 'd.md' });
    const b = parseNote(crlf, { path: 'd.md' });
    expect(b.eol).toBe('\r\n');
    expect(a.eol).toBe('\n');
    expect(b.cards).toEqual(a.cards);
    expect(b.cards[1].comment).toMatchObject({ line: 10, start: 3, placement: 'same-line' });
  });
});

describe('fuzz: random markdown never makes the parser throw', () => {
  const piece = fc.oneof(
    fc.constantFrom(
      '', ' ', '?', '??', '::', ':::', '==', '**', '{{', '}}', '$', '$$', '```', '~~~', '    ```', '<!--', '-->', '<!--SR:!2024-01-02,3,250-->',
      '<!--SR:2024-01-02,3,250-->', '<!--SR:!2000-01-01,1,250!x-->', '> [!sr|card-metadata]', '> <!--SR:!2024-01-02,3,250-->', '---', '#flashcards',
      '#flashcards/sub', '# Heading', '## Sub', '- ', '  - ', '\t', '`', '^block-1', '[[Note#H|alias]]', '![[img.png|500]]', '==1;;x==', ';;', '\r',
    ),
    fc.string({ maxLength: 12 }),
  );
  const line = fc.array(piece, { maxLength: 6 }).map((parts) => parts.join(''));
  const markdown = fc
    .tuple(fc.array(line, { maxLength: 30 }), fc.constantFrom('\n', '\r\n'))
    .map(([lines, eol]) => lines.join(eol));

  test('parseCards and parseNote never throw, and card ranges lie inside the file', () => {
    fc.assert(
      fc.property(markdown, (text) => {
        const lineCount = text.replace(/\r\n/g, '\n').split('\n').length;
        for (const c of parseCards(text)) {
          expect(c.firstLineNum).toBeGreaterThanOrEqual(0);
          expect(c.lastLineNum).toBeLessThan(lineCount);
          expect(c.firstLineNum).toBeLessThanOrEqual(c.lastLineNum);
        }
        const note = parseNote(text);
        for (const card of note.cards) {
          expect(card.range.start).toBeLessThanOrEqual(card.range.end);
          expect(card.range.end).toBeLessThan(lineCount);
          if (card.comment) {
            expect(card.comment.line).toBeGreaterThanOrEqual(card.range.start);
            expect(card.comment.line).toBeLessThanOrEqual(card.range.end);
          }
        }
      }),
      { numRuns: Number(process.env.CARDS_FUZZ_RUNS ?? 400) },
    );
  });

  test('rendering every side of every card never throws', () => {
    fc.assert(
      fc.property(markdown, (text) => {
        for (const card of parseNote(text).cards) {
          card.siblings.forEach((_s, i) => {
            expect(typeof renderSide(card, i, 'front')).toBe('string');
            expect(typeof renderSide(card, i, 'back')).toBe('string');
          });
        }
      }),
      { numRuns: 100 },
    );
  });
});
