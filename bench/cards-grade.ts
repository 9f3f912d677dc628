/**
 * Grading speed on one big deck file (10,000 cards by default), side by side in one run:
 *
 *  1. the old path, re-enacted: every grade parses the whole file three times (read and parse, parse
 *     the new text to check it, and the server's reload parses it once more);
 *  2. `gradeCard` in process: the note of the last write is reused and only the graded card's lines
 *     are parsed again (src/cards/note-patch.ts);
 *  3. through the review server (`POST /api/review` over HTTP on loopback), which takes the grade's
 *     note instead of reloading the file.
 *
 * Target: ≥ 50 grades/s for 2 and 3 on the 10,000-card file.
 *
 *   npx cardlab bench cards-grade [--cards 10000] [--grades 200] [--json]
 */
import { promises as fs } from 'fs';
import http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { createApp } from '../server/app';
import { resolveConfig } from '../server/config';
import { writeFileAtomic } from '../src/cards/deck-file';
import { parseNote } from '../src/cards/note';
import { gradeCard, locateCard } from '../src/cards/review';
import { resolveSchedulerSettings, reviewSchedule, siblingSchedule } from '../src/cards/scheduling/scheduler';
import { DueDateHistogram } from '../src/cards/scheduling/histogram';
import { writeScheduleIntoText } from '../src/cards/write';

export interface CardsGradeOptions {
  cards?: number;
  grades?: number;
  /** Grades for the old path (it is slow). */
  oldGrades?: number;
  json?: boolean;
}

export interface CardsGradeRow {
  path: 'old (3 full parses)' | 'gradeCard in process' | 'server POST /api/review';
  cards: number;
  bytes: number;
  grades: number;
  gradesPerSecond: number;
  msPerGrade: number;
}

/** A deck of `n` cards: a third with schedules, a third reversed, a third multi-line with a cloze. */
export function makeDeck(n: number): string {
  const blocks: string[] = ['#flashcards', ''];
  for (let i = 0; i < n; i++) {
    if (i % 3 === 0) blocks.push(`Question ${i}::Answer ${i}`, `<!--SR:!2024-0${1 + (i % 9)}-1${i % 10},${5 + (i % 40)},${200 + (i % 80)}-->`, '');
    else if (i % 3 === 1) blocks.push(`Front ${i}:::Back ${i}`, '');
    else blocks.push(`Multi ${i}`, '?', `line one ${i}`, `line ==two== ${i}`, '');
  }
  return blocks.join('\n');
}

const NOW = new Date(2024, 5, 1);
const RESPONSES = ['Good', 'Easy', 'Hard', 'Good'] as const;

/** The cards graded, spread over the file. */
function picks(text: string, file: string, count: number) {
  const note = parseNote(text, { path: file });
  return Array.from({ length: count }, (_, i) => note.cards[(i * 7919) % note.cards.length]);
}

/** The old path: three full parses per grade (and the plain re-read before the rename). */
async function oldPathGrade(file: string, textHash: string, response: (typeof RESPONSES)[number]): Promise<void> {
  const settings = resolveSchedulerSettings({});
  const text = await fs.readFile(file, 'utf8');
  const note = parseNote(text, { path: file });
  const card = locateCard(note, { line: 0, textHash });
  const schedule = reviewSchedule(response, siblingSchedule(card.siblings[0]), { now: NOW, settings, histogram: new DueDateHistogram(), noteEase: null })!;
  const newText = writeScheduleIntoText(text, card, 0, schedule, { cardCommentOnSameLine: false, baseEase: settings.baseEase }, note.eol);
  parseNote(newText, { path: file });
  if ((await fs.readFile(file, 'utf8')) !== text) throw new Error('changed');
  await writeFileAtomic(file, newText);
  parseNote(await fs.readFile(file, 'utf8'), { path: file }); // the server's reload
}

function row(pathName: CardsGradeRow['path'], cards: number, bytes: number, grades: number, ms: number): CardsGradeRow {
  return { path: pathName, cards, bytes, grades, gradesPerSecond: +((grades * 1000) / ms).toFixed(1), msPerGrade: +(ms / grades).toFixed(2) };
}

async function post(url: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}

export async function runCardsGradeReport(options: CardsGradeOptions = {}): Promise<CardsGradeRow[]> {
  const cards = options.cards ?? 10_000;
  const grades = options.grades ?? 200;
  const oldGrades = options.oldGrades ?? Math.min(grades, 10);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cardlab-bench-grade-'));
  const rows: CardsGradeRow[] = [];
  const log = (r: CardsGradeRow) => {
    rows.push(r);
    if (!options.json) console.error(`${r.path}: ${r.gradesPerSecond} grades/s (${r.msPerGrade} ms/grade, ${r.grades} grades)`);
  };
  try {
    const deck = makeDeck(cards);
    const bytes = Buffer.byteLength(deck);
    const file = path.join(dir, 'deck.md');

    // 1. The old path.
    await fs.writeFile(file, deck);
    let t = performance.now();
    for (const [i, card] of picks(deck, file, oldGrades).entries()) await oldPathGrade(file, card.textHash, RESPONSES[i % 4]);
    log(row('old (3 full parses)', cards, bytes, oldGrades, performance.now() - t));

    // 2. gradeCard in process (the first grade parses the file; it is timed too).
    await fs.writeFile(file, deck);
    t = performance.now();
    for (const [i, card] of picks(deck, file, grades).entries()) {
      await gradeCard({ file, line: card.range.start, textHash: card.textHash, response: RESPONSES[i % 4], now: NOW, histogram: {} });
    }
    log(row('gradeCard in process', cards, bytes, grades, performance.now() - t));

    // 3. Through the server, over HTTP.
    const cardsDir = path.join(dir, 'cards');
    await fs.mkdir(cardsDir);
    await fs.writeFile(path.join(cardsDir, 'big.md'), deck);
    const cardlab = createApp(resolveConfig({ cards: cardsDir, notebooks: path.join(dir, 'none'), data: path.join(dir, 'data'), coursework: path.join(dir, 'none'), port: 0 }, {}));
    const server = http.createServer(cardlab.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/review`;
    try {
      const ids = picks(deck, 'big.md', grades).map((c) => `${c.id}/0`);
      await cardlab.decks.refresh();
      t = performance.now();
      for (const [i, cardId] of ids.entries()) {
        const res = await post(url, { cardId, grade: RESPONSES[i % 4] });
        if (res.status !== 200) throw new Error(`grade ${i} answered ${res.status}: ${res.text}`);
      }
      log(row('server POST /api/review', cards, bytes, grades, performance.now() - t));
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      cardlab.close();
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  const old = rows[0].gradesPerSecond;
  if (options.json) for (const r of rows) console.log(JSON.stringify({ ...r, speedup: +(r.gradesPerSecond / old).toFixed(1) }));
  else {
    console.log('path                        cards   bytes     grades  grades/s  ms/grade  × old');
    for (const r of rows) {
      console.log(
        `${r.path.padEnd(27)} ${String(r.cards).padEnd(7)} ${String(r.bytes).padEnd(9)} ${String(r.grades).padEnd(7)} ${String(r.gradesPerSecond).padEnd(9)} ${String(r.msPerGrade).padEnd(9)} ${(r.gradesPerSecond / old).toFixed(1)}`,
      );
    }
  }
  return rows;
}
