/**
 * The data model: a deck file → Note → cards with line ranges, decks, context, siblings, schedules
 * and the place of their scheduling comment. The real deck (cards/DenseNet.md) is checked against a
 * list written by reading the file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNote } from '../src/cards/note';

const DECK = join(__dirname, '..', 'cards', 'DenseNet.md');

describe('cards/DenseNet.md (the real deck)', () => {
  const note = parseNote(readFileSync(DECK, 'utf8'), { path: 'cards/DenseNet.md' });

  // Read off the file by eye: three `??` cards under "Advantages", six highlight clozes further down.
  const expected = [
    { type: 'MultiLineReversed', range: [12, 15], due: '2024-05-19', interval: 482, ease: 309, context: ['Advantages'], starts: '**Why do DenseNets help with the vanishing gradient problem?**' },
    { type: 'MultiLineReversed', range: [17, 20], due: '2025-08-16', interval: 762, ease: 270, context: ['Advantages'], starts: '**Why do DenseNets strengthen feature propagation' },
    { type: 'MultiLineReversed', range: [22, 25], due: '2024-11-26', interval: 614, ease: 288, context: ['Advantages'], starts: '**Why do DenseNets substantially reduce the number of parameters?**' },
    { type: 'Cloze', range: [39, 41], due: '2025-05-19', interval: 772, ease: 328, context: ['Forward Propagation'], answer: 'growth rate' },
    { type: 'Cloze', range: [47, 49], due: '2025-03-01', interval: 490, ease: 269, context: ['Forward Propagation'], answer: 'takes the concatenated feature maps and produces the new feature maps (the number of which are determined by the growth rate)' },
    { type: 'Cloze', range: [53, 55], due: '2023-11-29', interval: 310, ease: 268, context: ['Forward Propagation'], answer: '1×1 convolution' },
    { type: 'Cloze', range: [64, 65], due: '2024-12-16', interval: 599, ease: 308, context: ['Forward Propagation'], answer: 'down-sampling layers that change the size of feature-maps' },
    { type: 'Cloze', range: [67, 72], due: '2024-07-29', interval: 545, ease: 328, context: ['Forward Propagation'], answer: 'reduce the number of channels' },
    { type: 'Cloze', range: [75, 82], due: '2024-04-17', interval: 450, ease: 289, context: ['Summation vs. Concatenation'], answer: '“**collective knowledge**”' },
  ];

  test('has exactly the cards it visibly has', () => {
    expect(note.cards.map((c) => [c.type, c.range.start, c.range.end])).toEqual(expected.map((e) => [e.type, ...e.range]));
  });

  test.each(expected.map((e, i) => [i, e] as const))('card %i: schedule, context, deck, sides', (i, e) => {
    const card = note.cards[i];
    expect(card.decks).toEqual(['flashcards']);
    expect(card.context).toEqual(e.context);
    expect(card.siblings[0].schedule).toEqual({ due: e.due, interval: e.interval, ease: e.ease });
    expect(card.comment).toMatchObject({ line: e.range[1], placement: 'next-line', segments: [`${e.due},${e.interval},${e.ease}`] });
    if (e.type === 'MultiLineReversed') {
      expect(card.siblings).toHaveLength(2);
      expect(card.siblings[0].front.startsWith(e.starts!)).toBe(true);
      expect(card.siblings[1].back).toBe(card.siblings[0].front);
      expect(card.siblings[1].schedule).toBeNull(); // the reverse side was never reviewed
    } else {
      expect(card.siblings).toHaveLength(1);
      expect(card.siblings[0].back).toContain(`==${e.answer}==`);
      expect(card.siblings[0].front).toContain('[...]');
      expect(card.siblings[0].front).not.toContain(e.answer);
    }
  });

  test('note facts: deck from frontmatter tags, LF, no note schedule, distinct ids', () => {
    expect(note.isDeck).toBe(true);
    expect(note.tags).toEqual(['flashcards']);
    expect(note.eol).toBe('\n');
    expect(note.frontmatterEnd).toBe(4);
    expect(note.schedule).toBeNull();
    expect(note.title).toBe('DenseNet');
    expect(new Set(note.cards.map((c) => c.id)).size).toBe(note.cards.length);
  });
});

describe('decks from tags', () => {
  test('frontmatter tags in every YAML form', () => {
    for (const fm of ['tags: [flashcards]', 'tags: flashcards', 'tags:\n  - flashcards', 'tags: ["#flashcards", other]', 'tag: flashcards']) {
      const note = parseNote(`---\n${fm}\n---\nQ::A`);
      expect(note.isDeck).toBe(true);
      expect(note.cards[0].decks).toEqual(['flashcards']);
    }
  });

  test('sub-tags are decks of their own', () => {
    expect(parseNote('#flashcards/science\n\nQ::A').cards[0].decks).toEqual(['flashcards/science']);
  });

  test('a tag line applies to the cards after it, until the next tag line', () => {
    const note = parseNote('#flashcards/a\n\nQ1::A1\n\nQ2::A2\n\n#flashcards/b\n\nQ3::A3');
    expect(note.cards.map((c) => c.decks)).toEqual([['flashcards/a'], ['flashcards/a'], ['flashcards/b']]);
  });

  test('a tag at the start of a card applies to that card alone, and is not part of the question', () => {
    const note = parseNote('#flashcards/a\n\n#flashcards/b Q1::A1\n\nQ2::A2');
    expect(note.cards.map((c) => c.decks)).toEqual([['flashcards/b'], ['flashcards/a']]);
    expect(note.cards[0].question).toBe('Q1::A1');
    expect(note.cards[0].tag).toBe('flashcards/b');
    expect(note.cards[0].siblings[0].front).toBe('Q1');
  });

  test('several tags on one line: the card is in each deck', () => {
    expect(parseNote('#flashcards/a #flashcards/b\n\nQ::A').cards[0].decks).toEqual(['flashcards/a', 'flashcards/b']);
  });

  test('a note without a flashcard tag is not a deck; its cards have no deck', () => {
    const note = parseNote('#other\n\nQ::A');
    expect(note.isDeck).toBe(false);
    expect(note.cards[0].decks).toEqual([]);
  });

  test('tags in code are not tags; custom flashcard tags', () => {
    expect(parseNote('```\n#flashcards\n```\n\nQ::A').isDeck).toBe(false);
    expect(parseNote('`#flashcards`\n\nQ::A').isDeck).toBe(false);
    expect(parseNote('#cards\n\nQ::A', { flashcardTags: ['#cards'] }).cards[0].decks).toEqual(['cards']);
  });
});

describe('context', () => {
  test('the heading stack above the card', () => {
    const note = parseNote('# H1\n## H2a\nQ1::A1\n## H2b\n### H3\nQ2::A2\n# Other\nQ3::A3');
    expect(note.cards.map((c) => c.context)).toEqual([['H1', 'H2a'], ['H1', 'H2b', 'H3'], ['Other']]);
  });
  test('headings in code blocks are not headings', () => {
    expect(parseNote('# Real\n```\n# not a heading\n```\nQ::A').cards[0].context).toEqual(['Real']);
  });
});

describe('scheduling comments', () => {
  test('one ! segment per sibling, in order; the 2000-01-01 placeholder is a new card', () => {
    const card = parseNote('Q:::A\n<!--SR:!2024-05-19,482,309!2000-01-01,1,250-->').cards[0];
    expect(card.siblings.map((s) => s.schedule)).toEqual([{ due: '2024-05-19', interval: 482, ease: 309 }, null]);
    expect(card.siblings.map((s) => s.segment)).toEqual(['2024-05-19,482,309', '2000-01-01,1,250']);
  });

  test('the legacy form without ! is the first sibling', () => {
    const card = parseNote('Q::A <!--SR:2021-08-11,4,270-->').cards[0];
    expect(card.siblings[0].schedule).toEqual({ due: '2021-08-11', interval: 4, ease: 270 });
    expect(card.comment).toMatchObject({ line: 0, start: 5, end: 31, placement: 'same-line', legacy: true });
  });

  test('same line, next line and callout placements, with exact offsets', () => {
    const same = parseNote('Q\n?\nA <!--SR:!2024-01-02,3,250-->').cards[0].comment!;
    expect(same).toMatchObject({ line: 2, start: 2, placement: 'same-line', raw: '<!--SR:!2024-01-02,3,250-->' });
    const next = parseNote('Q\n?\nA\n<!--SR:!2024-01-02,3,250-->').cards[0].comment!;
    expect(next).toMatchObject({ line: 3, start: 0, placement: 'next-line' });
    const callout = parseNote('Q::A\n> [!sr|card-metadata]\n> <!--SR:!2024-01-02,3,250-->').cards[0];
    expect(callout.comment).toMatchObject({ line: 2, start: 2, placement: 'callout', calloutLine: 1 });
    expect(callout.siblings[0].schedule).toEqual({ due: '2024-01-02', interval: 3, ease: 250 });
    expect(callout.question).toBe('Q::A');
    expect(callout.range).toEqual({ start: 0, end: 2 });
  });

  test('a card without a comment is new; extra segments beyond the siblings are ignored', () => {
    expect(parseNote('Q::A').cards[0].siblings[0].schedule).toBeNull();
    expect(parseNote('Q::A').cards[0].comment).toBeNull();
    const card = parseNote('Q::A\n<!--SR:!2024-01-02,3,250!2024-02-02,5,270-->').cards[0];
    expect(card.siblings).toHaveLength(1);
    expect(card.comment!.segments).toHaveLength(2);
  });

  test('a block id after the comment is kept apart from the question', () => {
    const card = parseNote('Q::A <!--SR:!2024-01-02,3,250--> ^abc-1').cards[0];
    expect(card.blockId).toBe('^abc-1');
    expect(card.question).toBe('Q::A');
    expect(card.siblings[0].back).toBe('A');
  });

  test('note-level frontmatter schedule', () => {
    const note = parseNote('---\nsr-due: 2024-05-19\nsr-interval: 12\nsr-ease: 270\n---\ntext');
    expect(note.schedule).toEqual({ due: '2024-05-19', interval: 12, ease: 270 });
    expect(parseNote('---\nsr-due: 2024-05-19\n---\n').schedule).toBeNull();
  });
});

describe('siblings', () => {
  test('cloze: one sibling per deletion, or per number; hints', () => {
    const plain = parseNote('a ==b== c ==d==').cards[0].siblings;
    expect(plain.map((s) => [s.front, s.back])).toEqual([
      ['a [...] c d', 'a ==b== c d'],
      ['a b c [...]', 'a b c ==d=='],
    ]);
    const numbered = parseNote('==1;;a== ==2;;b== ==1;;c;;hint==').cards[0].siblings;
    expect(numbered).toHaveLength(2);
    expect(numbered[0].front).toBe('[...] b [hint]');
    expect(numbered[1].front).toBe('a [...] c');
  });

  test('stable ids keep two identical cards in one file apart', () => {
    const note = parseNote('Q::A\n\nQ::A\n\nOther::B', { path: 'deck.md' });
    const [a, b, c] = note.cards.map((x) => x.id);
    expect(a).not.toBe(b);
    expect(a.replace(/:0$/, '')).toBe(b.replace(/:1$/, ''));
    expect(c).toMatch(/^deck\.md#[0-9a-f]+:0$/);
    // The id does not depend on the schedule or on the card's position.
    const moved = parseNote('intro\n\nQ::A\n<!--SR:!2024-01-02,3,250-->', { path: 'deck.md' });
    expect(moved.cards[0].id).toBe(a);
  });
});
