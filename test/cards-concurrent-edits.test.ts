/**
 * Grades written while another program edits the same deck: a real child process appends a card
 * line every 3–50 ms (as an editor saving would) while thousands of grades are written, in process
 * (gradeCard) and through the server's API. No line the editor wrote may be lost, the deck must stay
 * a valid deck, and every grade must be either applied (its comment is in the file) or refused with
 * a conflict error.
 */
import { ChildProcess, spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import request from 'supertest';
import { createApp, type CardlabApp } from '../server/app';
import { DeckConflictError, settleFileChecks } from '../src/cards/deck-file';
import { parseNote } from '../src/cards/note';
import { gradeCard } from '../src/cards/review';
import { parseReviewDate } from '../src/cards/scheduling/dates';
import { WriteBackError } from '../src/cards/write';
import { workspace, type Workspace } from './helpers/server-fixtures';

/**
 * The editor: appends a line `Editor note N: …` with random 3–50 ms pauses until stdin closes, then
 * prints N. (Prose, not cards: every grade after an edit parses the whole growing file, and thousands
 * of appended cards would make that the cost of this test.)
 */
const EDITOR = `
const fs = require('fs');
const file = process.argv[1];
let n = 0, stop = false;
process.stdin.on('end', () => { stop = true; });
process.stdin.resume();
function tick() {
  if (stop) { process.stdout.write(String(n)); return; }
  n++;
  fs.appendFileSync(file, 'Editor note ' + n + ': appended while grading.\\n');
  setTimeout(tick, 3 + Math.floor(Math.random() * 48));
}
tick();
`;

function startEditor(file: string): { child: ChildProcess; stop: () => Promise<number> } {
  const child = spawn(process.execPath, ['-e', EDITOR, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const done = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', () => resolve(Number(out)));
  });
  return { child, stop: () => (child.stdin!.end(), done) };
}

/** How many of the editor's lines 1…written are not in the text exactly once. */
function editsLost(text: string, written: number): number {
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) counts.set(line, (counts.get(line) ?? 0) + 1);
  let lost = 0;
  for (let n = 1; n <= written; n++) if (counts.get(`Editor note ${n}: appended while grading.`) !== 1) lost++;
  return lost;
}

function deckText(cards: number): string {
  const lines = ['#flashcards', ''];
  for (let i = 0; i < cards; i++) lines.push(i % 2 ? `Question ${i}::Answer ${i}` : `Question ${i}::Answer ${i}\n<!--SR:!2024-01-0${1 + (i % 9)},${3 + i},250-->`, '');
  return lines.join('\n');
}

jest.setTimeout(600_000);

let editor: ReturnType<typeof startEditor> | null = null;
afterEach(async () => {
  if (editor) await editor.stop();
  editor = null;
});

describe('an editor appending to the deck while grades are written', () => {
  test('in process: 2,000 grades, no edit lost, every grade applied or refused as a conflict', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cardlab-concurrent-'));
    try {
      const file = path.join(dir, 'deck.md');
      fs.writeFileSync(file, deckText(30));
      const cards = parseNote(fs.readFileSync(file, 'utf8'), { path: file }).cards.map((c) => ({ line: c.range.start, textHash: c.textHash }));
      const lastComment = new Map<string, string>();
      let applied = 0;
      let conflicts = 0;
      editor = startEditor(file);
      const responses = ['Good', 'Easy', 'Hard', 'Again'];
      for (let i = 0; i < 2000; i++) {
        const card = cards[i % cards.length];
        try {
          const result = await gradeCard({ file, ...card, response: responses[i % 4], now: parseReviewDate('2024-06-01'), histogram: {} });
          card.line = result.line;
          lastComment.set(card.textHash, result.comment!);
          applied++;
        } catch (err) {
          if (!(err instanceof WriteBackError || err instanceof DeckConflictError)) throw err;
          conflicts++;
          console.log(`grade ${i}: ${(err as Error).message}`);
        }
      }
      const written = await editor.stop();
      editor = null;
      await settleFileChecks();
      const text = fs.readFileSync(file, 'utf8');
      const lost = editsLost(text, written);
      console.log(`in process: ${written} editor lines over 2000 grades (${applied} applied, ${conflicts} conflicts): ${lost} lost`);
      expect(written).toBeGreaterThan(50);
      expect(lost).toBe(0);
      expect(applied + conflicts).toBe(2000);
      // A valid deck: the original cards, each with the comment of its last applied grade, then the editor's cards.
      const note = parseNote(text, { path: file });
      expect(note.cards).toHaveLength(30);
      for (const card of cards) {
        const parsed = note.cards.find((c) => c.textHash === card.textHash)!;
        expect(parsed.comment?.raw).toBe(lastComment.get(card.textHash));
      }
      expect(fs.readdirSync(dir).filter((f) => f !== 'deck.md')).toEqual([]); // no temp or conflict files left
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('through the server API: 1,000 grades, no edit lost', async () => {
    let ws: Workspace | null = null;
    let cardlab: CardlabApp | null = null;
    try {
      ws = workspace({ 'deck.md': deckText(20) });
      cardlab = createApp(ws.config());
      const file = ws.deck('deck.md');
      const ids = parseNote(ws.read('deck.md'), { path: 'deck.md' }).cards.map((c) => `${c.id}/0`);
      editor = startEditor(file);
      let applied = 0;
      let conflicts = 0;
      for (let i = 0; i < 1000; i++) {
        const res = await request(cardlab.app).post('/api/review').send({ cardId: ids[i % ids.length], grade: i % 3 ? 'Good' : 'Hard' });
        if (res.status === 200) applied++;
        else if (res.status === 409) {
          conflicts++;
          console.log(`grade ${i}: 409 ${res.body.error.message}`);
        }
        else throw new Error(`grade ${i}: ${res.status} ${JSON.stringify(res.body)}`);
      }
      const written = await editor.stop();
      editor = null;
      await settleFileChecks();
      const text = ws.read('deck.md');
      const lost = editsLost(text, written);
      console.log(`server: ${written} editor lines over 1000 grades (${applied} applied, ${conflicts} conflicts): ${lost} lost`);
      expect(written).toBeGreaterThan(20);
      expect(lost).toBe(0);
      expect(applied).toBeGreaterThan(900);
      expect(parseNote(text, { path: 'deck.md' }).cards).toHaveLength(20);
      expect(fs.readdirSync(ws.cards)).toEqual(['deck.md']); // no temp or conflict files left
    } finally {
      cardlab?.close();
      ws?.cleanup();
    }
  });
});
