/**
 * Property tests of the write-back: random grades written over random decks keep every
 * non-comment line identical and re-parse to exactly the schedules written; over random
 * markdown, a write either keeps every other byte or is refused with a WriteBackError.
 */
import fc from 'fast-check';
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Note } from '../src/cards/model';
import { parseNote } from '../src/cards/note';
import { parseReviewDate, addDays } from '../src/cards/scheduling/dates';
import { DueDateHistogram } from '../src/cards/scheduling/histogram';
import { resolveSchedulerSettings, reviewSchedule, siblingSchedule, type SiblingSchedule } from '../src/cards/scheduling/scheduler';
import { gradeCard, noteEaseOf } from '../src/cards/review';
import { splitRawLines, writeScheduleIntoText, WriteBackError } from '../src/cards/write';
import { patchNoteAfterCommentEdit } from '../src/cards/note-patch';

const SR = /<!--SR:.*?-->/g;

/**
 * The text without scheduling comments: a line holding only a comment (and `> ` of a callout line)
 * disappears with its line ending; a comment inside a line disappears with one space before it.
 */
function skeleton(text: string): string {
  const lines = splitRawLines(text);
  const kept: { content: string; eol: string }[] = [];
  for (const line of lines) {
    if (line.content.trim() !== '' && line.content.replace(SR, '').trim() === '') {
      if (line.eol === '' && kept.length > 0) kept[kept.length - 1].eol = '';
      continue;
    }
    kept.push({ content: line.content.replace(/ ?<!--SR:.*?-->/g, ''), eol: line.eol });
  }
  return kept.map((l) => l.content + l.eol).join('');
}

const wordChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCXYZ0123456789äöüßéñ中文жЖ🧠∑—', ' ', '\t');
const word = fc.array(wordChar, { minLength: 1, maxLength: 8 }).map((cs) => cs.join('').trim() || 'w');
const trailing = fc.constantFrom('', '', '', ' ', '  ', '\t');

const card = fc.oneof(
  fc.tuple(word, word, trailing).map(([q, a, t]) => [`${q}::${a}${t}`]),
  fc.tuple(word, word, trailing).map(([q, a, t]) => [`${q}:::${a}${t}`]),
  fc.tuple(word, word, word, trailing).map(([q, a, b, t]) => [`${q}`, '?', `${a}${t}`, `${b}`]),
  fc.tuple(word, word, trailing).map(([q, a, t]) => [`${q}${t}`, '??', `${a}`]),
  fc.tuple(word, word, word, trailing).map(([x, y, z, t]) => [`${x} ==${y}== ${x} ==${z}==${t}`]),
);
const noise = fc.oneof(
  word.map((w) => [`Some prose ${w}.`]),
  word.map((w) => [`## Heading ${w}`]),
  word.map((w) => [`- list item ${w}`]),
);
const block = fc.oneof({ weight: 3, arbitrary: card }, { weight: 1, arbitrary: noise });

const deckArb = fc.record({
  blocks: fc.array(block, { minLength: 1, maxLength: 8 }),
  eol: fc.constantFrom('\n', '\r\n'),
  finalNewline: fc.boolean(),
});

function renderDeck(d: { blocks: string[][]; eol: string; finalNewline: boolean }): string {
  const body = ['#flashcards', '', ...d.blocks.flatMap((b) => [...b, ''])];
  while (body.length > 0 && body[body.length - 1] === '') body.pop();
  return body.join(d.eol) + (d.finalNewline ? d.eol : '');
}

const gradeArb = fc.record({
  card: fc.nat(),
  sibling: fc.nat(),
  response: fc.constantFrom('Easy', 'Good', 'Hard', 'Again', 'Reset') as fc.Arbitrary<'Easy' | 'Good' | 'Hard' | 'Again' | 'Reset'>,
  day: fc.integer({ min: 0, max: 400 }),
});

const start = parseReviewDate('2024-01-01');

function schedulesOf(note: Note): (SiblingSchedule | null)[][] {
  return note.cards.map((c) => c.siblings.map((s) => siblingSchedule(s)));
}

describe('write-back properties (in memory)', () => {
  test('random grades over random decks: non-comment lines identical, schedules read back exactly', () => {
    fc.assert(
      fc.property(deckArb, fc.array(gradeArb, { minLength: 1, maxLength: 12 }), fc.boolean(), fc.constantFrom('SM-2-OSR', 'FSRS'), (d, grades, sameLine, algorithm) => {
        let text = renderDeck(d);
        const original = skeleton(text);
        const settings = resolveSchedulerSettings({ algorithm: algorithm as 'SM-2-OSR' | 'FSRS' });
        let note = parseNote(text);
        fc.pre(note.cards.length > 0);
        const expected = schedulesOf(note);
        let comments = text.split('<!--SR:').length - 1;
        let day = 0;

        for (const g of grades) {
          day += g.day % 60; // reviews go forward in time
          const k = g.card % note.cards.length;
          const card = note.cards[k];
          const j = g.sibling % card.siblings.length;
          const now = addDays(start, day);
          const schedule = reviewSchedule(g.response, siblingSchedule(card.siblings[j]), {
            now,
            settings,
            histogram: new DueDateHistogram(),
            noteEase: null,
          });
          if (schedule === null) continue;
          const hadComment = card.comment !== null;
          text = writeScheduleIntoText(text, card, j, schedule, { cardCommentOnSameLine: sameLine, baseEase: 250 }, note.eol);
          note = parseNote(text);
          expected[k][j] = schedule;
          comments += hadComment ? 0 : 1;

          expect(skeleton(text)).toBe(original);
          expect(text.split('<!--SR:').length - 1).toBe(comments);
          expect(schedulesOf(note)).toEqual(expected);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('over random markdown a write keeps every other byte or is refused with a WriteBackError', () => {
    const anyLine = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom('?', '??', '```', '---', '> [!sr|card-metadata]', '<!--', '-->', '', '$$', 'a::b', 'c:::d', '==x==', '<!--SR:!2024-01-01,3,250-->'),
    );
    fc.assert(
      fc.property(fc.array(anyLine, { maxLength: 20 }), fc.constantFrom('\n', '\r\n'), fc.nat(), fc.boolean(), (lines, eol, pick, sameLine) => {
        const text = ['#flashcards', ...lines].join(eol);
        const note = parseNote(text);
        fc.pre(note.cards.length > 0);
        const card = note.cards[pick % note.cards.length];
        const schedule = { due: '2024-02-02', interval: 7, ease: 250 };
        let out: string;
        try {
          out = writeScheduleIntoText(text, card, 0, schedule, { cardCommentOnSameLine: sameLine, baseEase: 250 }, note.eol);
        } catch (err) {
          expect(err).toBeInstanceOf(WriteBackError);
          return;
        }
        expect(skeleton(out)).toBe(skeleton(text));
      }),
      { numRuns: 500 },
    );
  });
});

describe('the fast path (the note patched after a write, not parsed again)', () => {
  /** Decks with what makes parsing tricky around a card: fences (a comment on the closing one too), callouts, end-marker-free blocks, headings, tags, math. */
  const tricky: fc.Arbitrary<string[]> = fc.oneof(
    block,
    fc.constantFrom<string[]>(
      ['Code?', '?', '```ts', 'a::b', '```'],
      ['Code?', '?', '```', 'x', '```<!--SR:!2024-01-01,3,250-->'],
      ['Q::A', '> [!sr|card-metadata]', '> <!--SR:!2024-01-01,3,250-->'],
      ['Q1::A1', 'Q2::A2'],
      ['#flashcards/sub', 'Tagged::card'],
      ['$$', 'x::y', '$$'],
      ['<!--', 'hidden::card', '-->'],
      ['# Heading', 'Under::heading'],
      ['Mixed ==cloze== line', 'second line'],
    ),
  );
  const trickyDeck = fc.record({ blocks: fc.array(tricky, { minLength: 1, maxLength: 10 }), eol: fc.constantFrom('\n', '\r\n'), finalNewline: fc.boolean() });

  test('when it applies, the patched note equals a full parse of the written text (and it applies to most grades)', () => {
    let patched = 0;
    let writes = 0;
    fc.assert(
      fc.property(trickyDeck, fc.array(gradeArb, { minLength: 1, maxLength: 10 }), fc.boolean(), (d, grades, sameLine) => {
        let text = renderDeck(d);
        let note = parseNote(text, { path: 'deck.md' });
        fc.pre(note.cards.length > 0);
        const settings = resolveSchedulerSettings({});
        for (const g of grades) {
          const card = note.cards[g.card % note.cards.length];
          const j = g.sibling % card.siblings.length;
          const schedule = reviewSchedule(g.response, siblingSchedule(card.siblings[j]), { now: addDays(start, g.day), settings, histogram: new DueDateHistogram(), noteEase: null });
          if (schedule === null) continue;
          let next: string;
          try {
            next = writeScheduleIntoText(text, card, j, schedule, { cardCommentOnSameLine: sameLine, baseEase: 250 }, note.eol);
          } catch (err) {
            expect(err).toBeInstanceOf(WriteBackError);
            continue;
          }
          writes++;
          const full = parseNote(next, { path: 'deck.md' });
          const fast = patchNoteAfterCommentEdit(note, text, next, card);
          if (fast) {
            patched++;
            expect(fast).toEqual(full);
          }
          text = next;
          note = full;
        }
      }),
      { numRuns: 400 },
    );
    expect(patched / writes).toBeGreaterThan(0.8);
  });

  test('gradeCard (cached note, patched) writes the same bytes as grading with a full parse each time', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cardlab-fast-'));
    try {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(trickyDeck, fc.array(gradeArb, { minLength: 1, maxLength: 8 }), async (d, grades) => {
          let slow = renderDeck(d);
          fc.pre(parseNote(slow).cards.length > 0);
          const file = path.join(dir, `deck-${run++}.md`);
          await fs.writeFile(file, slow);
          const settings = resolveSchedulerSettings({});
          for (const g of grades) {
            // The slow path, in memory: a full parse before every grade.
            const note = parseNote(slow, { path: file });
            const card = note.cards[g.card % note.cards.length];
            const j = g.sibling % card.siblings.length;
            const now = addDays(start, g.day);
            let expectedError: unknown = null;
            const schedule = reviewSchedule(g.response, siblingSchedule(card.siblings[j]), { now, settings, histogram: new DueDateHistogram(), noteEase: noteEaseOf(note, 250) });
            if (schedule !== null) {
              try {
                slow = writeScheduleIntoText(slow, card, j, schedule, { cardCommentOnSameLine: false, baseEase: 250 }, note.eol);
              } catch (err) {
                expectedError = err;
              }
            }
            const fast = gradeCard({ file, line: card.range.start, textHash: card.textHash, sibling: j, response: g.response, now, histogram: {} });
            if (expectedError) await expect(fast).rejects.toThrow(WriteBackError);
            else {
              // The note's ease carried along from grade to grade is the one a full pass over the new text gives.
              const graded = (await fast).note;
              if (graded) expect(noteEaseOf(graded, 250)).toBe(noteEaseOf(parseNote(slow, { path: file }), 250));
            }
            expect(await fs.readFile(file, 'utf8')).toBe(slow);
          }
        }),
        { numRuns: 80 },
      );
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('write-back properties (real files, gradeCard)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cardlab-prop-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  test('graded files keep every non-comment line and read back the written schedules', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(deckArb, fc.array(gradeArb, { minLength: 1, maxLength: 6 }), async (d, grades) => {
        const text = renderDeck(d);
        const first = parseNote(text);
        fc.pre(first.cards.length > 0);
        const file = path.join(dir, `deck-${run++}.md`);
        await fs.writeFile(file, text);
        const expected = schedulesOf(first);
        for (const g of grades) {
          const note = parseNote(await fs.readFile(file, 'utf8'), { path: file });
          const k = g.card % note.cards.length;
          const card = note.cards[k];
          const j = g.sibling % card.siblings.length;
          const result = await gradeCard({
            file,
            line: card.range.start,
            textHash: card.textHash,
            sibling: j,
            response: g.response,
            now: addDays(start, g.day),
            histogram: {},
          });
          if (result.written) expected[k][j] = result.schedule;
        }
        const finalText = await fs.readFile(file, 'utf8');
        expect(skeleton(finalText)).toBe(skeleton(text));
        expect(schedulesOf(parseNote(finalText, { path: file }))).toEqual(expected);
        await fs.rm(file);
      }),
      { numRuns: 60 },
    );
  });
});
