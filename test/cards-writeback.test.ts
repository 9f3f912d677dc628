/**
 * Write-back of schedules into deck files: the plugin's placement, byte preservation, safety
 * against concurrent edits and identical cards, atomic and serialized writes.
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseNote } from '../src/cards/note';
import { parseReviewDate } from '../src/cards/scheduling/dates';
import { CardNotFoundError, dueCounts, dueDateHistogram, findVault, gradeCard, loadVault, locateCard } from '../src/cards/review';
import { splitRawLines, writeScheduleIntoText, WriteBackError } from '../src/cards/write';
import { withFileQueue, writeFileAtomic } from '../src/cards/deck-file';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cardlab-wb-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function deck(text: string, name = 'deck.md'): Promise<string> {
  const file = path.join(dir, name);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, text, 'utf8');
  return file;
}
const read = (file: string) => fs.readFile(file, 'utf8');
const on = (ymd: string) => parseReviewDate(ymd);

describe('the issue vectors through the file', () => {
  test('<!--SR:!2024-05-19,482,309--> answered Good on 2024-05-19 becomes <!--SR:!2028-06-16,1489,309-->', async () => {
    const file = await deck('#flashcards\n\nWhy?::Because\n<!--SR:!2024-05-19,482,309-->\n');
    const result = await gradeCard({ file, line: 2, response: 'Good', now: on('2024-05-19') });
    expect(result.comment).toBe('<!--SR:!2028-06-16,1489,309-->');
    expect(result.previousComment).toBe('<!--SR:!2024-05-19,482,309-->');
    expect(await read(file)).toBe('#flashcards\n\nWhy?::Because\n<!--SR:!2028-06-16,1489,309-->\n');
  });

  test.each([
    ['Easy', '<!--SR:!2024-05-23,4,270-->'],
    ['Good', '<!--SR:!2024-05-22,3,250-->'],
    ['Hard', '<!--SR:!2024-05-20,1,230-->'],
  ])('a new card answered %s gets %s on the next line', async (response, comment) => {
    const file = await deck('#flashcards\n\nQ::A\n');
    await gradeCard({ file, line: 2, response, now: on('2024-05-19') });
    expect(await read(file)).toBe(`#flashcards\n\nQ::A\n${comment}\n`);
  });
});

describe('without load balancing', () => {
  test('a fractional interval is written and read back, not lost as a new card', async () => {
    const file = await deck('#flashcards\n\nQ::A\n');
    const settings = { loadBalance: false };
    const first = await gradeCard({ file, line: 2, response: 'Good', now: on('2024-05-19'), settings });
    expect(first.comment).toBe('<!--SR:!2024-05-22,2.5,250-->');
    const [card] = parseNote(await read(file), { path: file }).cards;
    expect(card.siblings[0].schedule).toEqual({ due: '2024-05-22', interval: 2.5, ease: 250 });
    // The next grade starts from 2.5 days, as the plugin's scheduler would.
    const second = await gradeCard({ file, line: 2, response: 'Good', now: on('2024-05-22'), settings });
    expect(second.comment).toBe('<!--SR:!2024-05-28,6.3,250-->');
    expect(second.previous).toMatchObject({ interval: 2.5, ease: 250 });
  });
});

describe("the plugin's placement", () => {
  test('siblings not reviewed get the placeholder; grading the second keeps the first', async () => {
    const file = await deck('#flashcards\nfront:::back\n');
    await gradeCard({ file, line: 1, sibling: 1, response: 'Good', now: on('2024-01-01') });
    expect(await read(file)).toBe('#flashcards\nfront:::back\n<!--SR:!2000-01-01,1,250!2024-01-04,3,250-->\n');
    await gradeCard({ file, line: 1, sibling: 0, response: 'Easy', now: on('2024-01-02') });
    expect(await read(file)).toBe('#flashcards\nfront:::back\n<!--SR:!2024-01-06,4,270!2024-01-04,3,250-->\n');
  });

  test('a reversed card with one segment gets its second sibling as a placeholder', async () => {
    const file = await deck('#flashcards\n\nQ\n??\nA\n<!--SR:!2024-05-19,482,309-->\n');
    await gradeCard({ file, line: 2, response: 'Good', now: on('2024-05-19') });
    expect(await read(file)).toBe('#flashcards\n\nQ\n??\nA\n<!--SR:!2028-06-16,1489,309!2000-01-01,1,250-->\n');
  });

  test('cardCommentOnSameLine: after the text, before a block id; a card ending in a code fence still gets the next line', async () => {
    const settings = { cardCommentOnSameLine: true };
    const file = await deck('#flashcards\nQ1::A1\nQ2::A2 ^block-1\nQ3\n?\n```\ncode\n```\n');
    await gradeCard({ file, line: 1, response: 'Good', now: on('2024-01-01'), settings });
    await gradeCard({ file, line: 2, response: 'Good', now: on('2024-01-01'), settings });
    await gradeCard({ file, line: 3, response: 'Good', now: on('2024-01-01'), settings });
    expect(await read(file)).toBe(
      '#flashcards\nQ1::A1 <!--SR:!2024-01-04,3,250-->\nQ2::A2 <!--SR:!2024-01-04,3,250--> ^block-1\nQ3\n?\n```\ncode\n```\n<!--SR:!2024-01-04,3,250-->\n',
    );
  });

  test('a multi-line card gets its comment after its last line, before the blank line', async () => {
    const file = await deck('#flashcards\n\nQuestion\n?\nline 1\nline 2\n\nNext::card\n');
    await gradeCard({ file, line: 2, response: 'Hard', now: on('2024-01-01') });
    expect(await read(file)).toBe('#flashcards\n\nQuestion\n?\nline 1\nline 2\n<!--SR:!2024-01-02,1,230-->\n\nNext::card\n');
  });

  test('with an end marker, the comment goes after the last text line, before the marker', async () => {
    const file = await deck('#flashcards\n\nQuestion\n?\nline 1\n\nline 2\n+++\nafter\n');
    const settings = { multilineCardEndMarker: '+++' };
    await gradeCard({ file, line: 2, response: 'Good', now: on('2024-01-01'), settings });
    expect(await read(file)).toBe('#flashcards\n\nQuestion\n?\nline 1\n\nline 2\n<!--SR:!2024-01-04,3,250-->\n+++\nafter\n');
    const again = await gradeCard({ file, line: 2, response: 'Good', now: on('2024-01-04'), settings });
    expect(again.previous).toEqual({ due: '2024-01-04', interval: 3, ease: 250 });
  });

  test('an existing same-line comment and a comment in the metadata callout are replaced where they are', async () => {
    const file = await deck(
      '#flashcards\nQ1::A1 <!--SR:!2024-01-01,3,250--> ^id\nQ2::A2\n> [!sr|card-metadata]\n> <!--SR:!2024-01-01,3,250-->\n',
    );
    await gradeCard({ file, line: 1, response: 'Good', now: on('2024-01-01') });
    await gradeCard({ file, line: 2, response: 'Good', now: on('2024-01-01') });
    // The second card load-balances away from day 8, where the first card now is.
    expect(await read(file)).toBe(
      '#flashcards\nQ1::A1 <!--SR:!2024-01-09,8,250--> ^id\nQ2::A2\n> [!sr|card-metadata]\n> <!--SR:!2024-01-08,7,250-->\n',
    );
  });

  test('the legacy comment form is rewritten in the current form', async () => {
    const file = await deck('#flashcards\nQ::A\n<!--SR:2024-01-01,3,250-->\n');
    await gradeCard({ file, line: 1, response: 'Good', now: on('2024-01-01') });
    expect(await read(file)).toBe('#flashcards\nQ::A\n<!--SR:!2024-01-09,8,250-->\n');
  });

  test('Again: ease −20, interval 0, due today; Reset of a new card writes nothing', async () => {
    const file = await deck('#flashcards\nQ::A\n<!--SR:!2024-01-01,30,250-->\nN::ew\n');
    await gradeCard({ file, line: 1, response: 'Again', now: on('2024-01-01') });
    const reset = await gradeCard({ file, line: 3, response: 'Reset', now: on('2024-01-01') });
    expect(reset.written).toBe(false);
    expect(await read(file)).toBe('#flashcards\nQ::A\n<!--SR:!2024-01-01,0,230-->\nN::ew\n');
  });

  test("a new card starts from the note's average ease", async () => {
    // 64 reviewed siblings at ease 300 weigh fully: the new card starts at 300, Good → 1 × 3 = 3 days.
    const reviewed = Array.from({ length: 64 }, (_, i) => `Q${i}::A${i}\n<!--SR:!2030-01-01,100,300-->\n`).join('');
    const file = await deck(`#flashcards\n${reviewed}New::card\n`);
    const result = await gradeCard({ file, line: 129, response: 'Easy', now: on('2024-01-01') });
    // 1 × 320/100 × 1.3 = 4.16 → 4, ease 320 (from 250 it would be 270).
    expect(result.schedule).toEqual({ due: '2024-01-05', interval: 4, ease: 320 });
  });
});

describe('every other byte stays', () => {
  test('CRLF, tabs, trailing spaces, unicode, no final newline', async () => {
    const original = '---\r\ntags: [flashcards]\r\n---\r\n# Ünïcödé 🧠\r\n\tindented\t \r\nQ — ∑::A ✓  \r\n\r\nlast::line';
    const file = await deck(original);
    await gradeCard({ file, line: 5, response: 'Good', now: on('2024-01-01') });
    await gradeCard({ file, line: 8, response: 'Easy', now: on('2024-01-01') });
    expect(await read(file)).toBe(
      '---\r\ntags: [flashcards]\r\n---\r\n# Ünïcödé 🧠\r\n\tindented\t \r\nQ — ∑::A ✓  \r\n<!--SR:!2024-01-04,3,250-->\r\n\r\nlast::line\r\n<!--SR:!2024-01-05,4,270-->',
    );
  });

  test('same-line comment keeps trailing spaces after it', async () => {
    const file = await deck('#flashcards\nQ::A  \n');
    await gradeCard({ file, line: 1, response: 'Good', now: on('2024-01-01'), settings: { cardCommentOnSameLine: true } });
    expect(await read(file)).toBe('#flashcards\nQ::A <!--SR:!2024-01-04,3,250-->  \n');
  });

  test('splitRawLines keeps every byte', () => {
    for (const t of ['', 'a', 'a\n', 'a\r\nb', 'a\r\r\nb\n\n', '\r', 'x\ry\n']) {
      expect(splitRawLines(t).map((l) => l.content + l.eol).join('')).toBe(t);
    }
  });
});

describe('a closing code fence carrying the scheduling comment', () => {
  test('"```<!--SR:…-->" grades (twice): only the comment changes and the file re-parses to the same card', async () => {
    const original = '#flashcards\n\nWhat does this print?\n?\n```ts\nconsole.log(1)\n```<!--SR:!2026-01-01,3,250-->\n\nNext::card\n';
    const file = await deck(original);
    const before = parseNote(original, { path: file });
    expect(before.cards[0].comment).toMatchObject({ line: 6, raw: '<!--SR:!2026-01-01,3,250-->' });

    const first = await gradeCard({ file, line: 2, response: 'Good', now: on('2026-01-01') });
    expect(first.previous).toMatchObject({ due: '2026-01-01', interval: 3, ease: 250 });
    const once = await read(file);
    expect(once).toBe(original.replace('<!--SR:!2026-01-01,3,250-->', first.comment!));
    const second = await gradeCard({ file, line: 2, response: 'Hard', now: on('2026-01-09') });
    expect(second.previous).toEqual(first.schedule);
    const twice = await read(file);
    expect(twice).toBe(original.replace('<!--SR:!2026-01-01,3,250-->', second.comment!));

    const after = parseNote(twice, { path: file });
    expect(after.cards.map((c) => [c.textHash, c.range])).toEqual(before.cards.map((c) => [c.textHash, c.range]));
    expect(after.cards[0].siblings[0].schedule).toEqual(second.schedule);
    expect(after.cards[1].comment).toBeNull();
  });
});

describe('never the wrong card, never a duplicated comment', () => {
  test("two identical cards (the plugin's bug #993): the one on the given line is graded", async () => {
    const file = await deck('#flashcards\nSame::card\n\nSame::card\n');
    await gradeCard({ file, line: 3, response: 'Good', now: on('2024-01-01') });
    expect(await read(file)).toBe('#flashcards\nSame::card\n\nSame::card\n<!--SR:!2024-01-04,3,250-->\n');
    await gradeCard({ file, line: 1, response: 'Easy', now: on('2024-01-01') });
    expect(await read(file)).toBe(
      '#flashcards\nSame::card\n<!--SR:!2024-01-05,4,270-->\n\nSame::card\n<!--SR:!2024-01-04,3,250-->\n',
    );
  });

  test('the file changed since the card was shown: moved → found by its text; edited → refused', async () => {
    const file = await deck('#flashcards\nAlpha::one\nBeta::two\n');
    const shown = parseNote(await read(file), { path: file }).cards[1];
    await fs.writeFile(file, '#flashcards\nNew::card\nAlpha::one\nBeta::two\n'); // edited in Obsidian
    const moved = await gradeCard({ file, line: shown.range.start, textHash: shown.textHash, response: 'Good', now: on('2024-01-01') });
    expect(moved.line).toBe(3);
    expect(await read(file)).toBe('#flashcards\nNew::card\nAlpha::one\nBeta::two\n<!--SR:!2024-01-04,3,250-->\n');

    await fs.writeFile(file, '#flashcards\nNew::card\nAlpha::one\nBeta::TWO\n');
    const before = await read(file);
    await expect(
      gradeCard({ file, line: 3, textHash: shown.textHash, response: 'Good', now: on('2024-01-01') }),
    ).rejects.toThrow(CardNotFoundError);
    expect(await read(file)).toBe(before);
  });

  test('a moved card whose text now appears twice is refused', async () => {
    const file = await deck('#flashcards\nDup::x\nOther::y\n');
    const shown = parseNote(await read(file), { path: file }).cards[0];
    await fs.writeFile(file, '#flashcards\nTop::z\nDup::x\nDup::x\n');
    await expect(
      gradeCard({ file, line: shown.range.start, textHash: shown.textHash, response: 'Good', now: on('2024-01-01') }),
    ).rejects.toThrow(/2 cards have its text/);
  });

  test('no card on the line, a sibling that does not exist, two comments on a card: clear errors, file untouched', async () => {
    const text = '#flashcards\nQ::A <!--SR:!2024-01-01,3,250-->\n<!--SR:!2024-01-01,3,250-->\nR::B\n';
    const file = await deck(text);
    await expect(gradeCard({ file, line: 0, response: 'Good' })).rejects.toThrow(/no card starts on line 0 .*cards start on lines 1, 3/);
    await expect(gradeCard({ file, line: 3, sibling: 1, response: 'Good' })).rejects.toThrow(/sibling 1 does not exist/);
    await expect(gradeCard({ file, line: 1, response: 'Good' })).rejects.toThrow(/2 scheduling comments/);
    await expect(gradeCard({ file, line: 3, response: 'Perfect' })).rejects.toThrow(/unknown review response/);
    expect(await read(file)).toBe(text);
  });

  test('writeScheduleIntoText refuses a card whose lines are not in the text', () => {
    const note = parseNote('#flashcards\nQ::A\n');
    expect(() =>
      writeScheduleIntoText('#flashcards\nQ::B\n', note.cards[0], 0, { due: '2024-01-01', interval: 1, ease: 250 }, {
        cardCommentOnSameLine: false,
        baseEase: 250,
      }),
    ).toThrow(WriteBackError);
  });

  test('locateCard falls back to the plugin firstLineNum only when it is unambiguous', () => {
    const note = parseNote('#flashcards\nQ::A\n\nM\n?\nN\n');
    expect(locateCard(note, { line: 3 }).range.start).toBe(3);
    expect(() => locateCard(note, { line: 2 })).toThrow(/no card starts on line 2/);
  });
});

describe('atomic, serialized writes', () => {
  test('concurrent grades of different cards of one file are all kept', async () => {
    const lines = Array.from({ length: 30 }, (_, i) => `Q${i}::A${i}`);
    const file = await deck(`#flashcards\n${lines.join('\n\n')}\n`);
    const starts = parseNote(await read(file), { path: file }).cards.map((c) => c.textHash);
    await Promise.all(
      starts.map((textHash, i) =>
        // Lines shift as comments are added: each grade finds its card again by its text.
        gradeCard({ file, line: 1 + 2 * i, textHash, response: 'Good', now: on('2024-01-01'), histogram: {} }),
      ),
    );
    const after = parseNote(await read(file), { path: file });
    expect(after.cards).toHaveLength(30);
    expect(after.cards.every((c) => c.siblings[0].segment === '2024-01-04,3,250')).toBe(true);
    expect((await read(file)).split('<!--SR:').length - 1).toBe(30);
    expect((await fs.readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('withFileQueue runs tasks on one file one at a time, in order, and survives a failing task', async () => {
    const file = path.join(dir, 'q.md');
    const log: string[] = [];
    const task = (name: string, ms: number, fail = false) => () =>
      new Promise<string>((resolve, reject) => {
        log.push(`start ${name}`);
        setTimeout(() => {
          log.push(`end ${name}`);
          if (fail) reject(new Error(name));
          else resolve(name);
        }, ms);
      });
    const results = await Promise.allSettled([
      withFileQueue(file, task('a', 20)),
      withFileQueue(file, task('b', 5, true)),
      withFileQueue(file, task('c', 1)),
    ]);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  test('writeFileAtomic keeps the permission bits and leaves no temp file', async () => {
    const file = await deck('old');
    await fs.chmod(file, 0o600);
    await writeFileAtomic(file, 'new ✓');
    expect(await read(file)).toBe('new ✓');
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect(await fs.readdir(dir)).toEqual(['deck.md']);
  });
});

describe('load balancing over the vault and due counts', () => {
  test("the histogram spans the vault's decks and steers the interval to the least-loaded day", async () => {
    // Good on interval 8 at ease 250 → 20 days; 19 and 21 are free of cards but 20 is loaded.
    const busy = Array.from({ length: 3 }, (_, i) => `B${i}::x\n<!--SR:!2024-01-21,10,250-->\n`).join('');
    await deck(`#flashcards\n${busy}`, 'other.md');
    await deck('no cards here', 'notes.md');
    const file = await deck('#flashcards\nQ::A\n<!--SR:!2024-01-01,8,250-->\n');
    const notes = await loadVault(dir);
    expect(dueDateHistogram(notes, on('2024-01-01')).toRecord()).toEqual({ 0: 1, 20: 3 });
    const result = await gradeCard({ file, line: 1, response: 'Good', now: on('2024-01-01') });
    expect(result.schedule).toEqual({ due: '2024-01-20', interval: 19, ease: 250 });
  });

  test('the vault is the folder holding .obsidian (with subfolders); without one, the file\'s folder alone', async () => {
    const busy = Array.from({ length: 3 }, (_, i) => `B${i}::x\n<!--SR:!2024-01-21,10,250-->\n`).join('');
    await deck(`#flashcards\n${busy}`, 'sub/other.md');
    const file = await deck('#flashcards\nQ::A\n<!--SR:!2024-01-01,8,250-->\n', 'decks/main.md');
    const grade = () => gradeCard({ file, line: 1, response: 'Good', now: on('2024-01-01') });
    // No .obsidian: only decks/ counts, day 20 is free.
    expect((await grade()).schedule).toMatchObject({ interval: 20 });
    await fs.writeFile(file, '#flashcards\nQ::A\n<!--SR:!2024-01-01,8,250-->\n');
    await fs.mkdir(path.join(dir, '.obsidian'));
    expect(await findVault(file)).toEqual({ dir, recursive: true });
    // The whole vault: sub/other.md loads day 20, so the card goes to day 19.
    expect((await grade()).schedule).toMatchObject({ interval: 19 });
  });

  test('due counts per deck, subdecks counted in their parents', async () => {
    await deck('#flashcards/science\nA::1\n<!--SR:!2024-01-01,3,250-->\nB:::2\n<!--SR:!2024-02-01,3,250!2000-01-01,1,250-->\n', 'sci.md');
    await deck('#flashcards\nC::3\n', 'top.md');
    await deck('no deck\nD::4\n', 'plain.md');
    const counts = dueCounts(await loadVault(dir), on('2024-01-05'));
    expect(counts).toEqual([
      { deck: 'flashcards', due: 1, new: 2, total: 4 },
      { deck: 'flashcards/science', due: 1, new: 1, total: 3 },
    ]);
  });
});

describe('FSRS write-back', () => {
  test("stored in the plugin's !fsrs segment, read back for the next review", async () => {
    const file = await deck('#flashcards\nQ::A\n');
    const settings = { algorithm: 'FSRS' as const };
    const first = await gradeCard({ file, line: 1, response: 'Good', now: new Date('2024-01-01T10:00:00Z'), settings });
    const text = await read(file);
    expect(text).toMatch(/^#flashcards\nQ::A\n<!--SR:!fsrs,2024-01-01T10:\d\d:00\.000Z,0,[\d.]+,[\d.]+,1,1,0,1,2024-01-01T10:00:00\.000Z-->\n$/);
    const due = new Date((first.schedule as { due: string }).due);
    const second = await gradeCard({ file, line: 1, response: 'Good', now: due, settings });
    expect(second.previous).toEqual(first.schedule);
    expect(second.schedule).toMatchObject({ algorithm: 'FSRS', reps: 2, state: 2 });
  });
});
