/**
 * Grading speed: `gradeCard` (read, parse, locate, schedule with the vault histogram, re-parse
 * check, atomic write) on generated decks of growing size, one grade at a time and all at once
 * on one file (serialized by the per-file queue).
 *
 *   npm run build && node dist/bench/cards-grade.js [--sizes 100,1000,5000] [--grades 50] [--json]
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseNote } from '../src/cards/note';
import { gradeCard } from '../src/cards/review';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

function makeDeck(cards: number): string {
  const blocks: string[] = ['#flashcards', ''];
  for (let i = 0; i < cards; i++) {
    if (i % 3 === 0) blocks.push(`Question ${i}::Answer ${i}`, `<!--SR:!2024-0${1 + (i % 9)}-1${i % 10},${5 + (i % 40)},${200 + (i % 80)}-->`, '');
    else if (i % 3 === 1) blocks.push(`Front ${i}:::Back ${i}`, '');
    else blocks.push(`Multi ${i}`, '?', `line one ${i}`, `line ==two== ${i}`, '');
  }
  return blocks.join('\n');
}

async function main(): Promise<void> {
  const sizes = arg('--sizes', '100,1000,5000').split(',').map(Number);
  const grades = Number(arg('--grades', '50'));
  const json = process.argv.includes('--json');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cardlab-bench-'));
  const rows = [];
  try {
    for (const size of sizes) {
      const file = path.join(dir, `deck-${size}.md`);
      await fs.writeFile(file, makeDeck(size));
      const now = new Date(2024, 5, 1);
      const picks = (count: number) => {
        const note = parseNote(makeDeck(size), { path: file });
        return Array.from({ length: count }, (_, i) => note.cards[(i * 7919) % note.cards.length]);
      };

      let t = performance.now();
      for (const card of picks(grades)) {
        const current = parseNote(await fs.readFile(file, 'utf8'), { path: file }).cards.find((c) => c.textHash === card.textHash)!;
        await gradeCard({ file, line: current.range.start, textHash: card.textHash, response: 'Good', now });
      }
      const sequentialMs = (performance.now() - t) / grades;

      await fs.writeFile(file, makeDeck(size));
      t = performance.now();
      await Promise.all(
        picks(grades).map((card) =>
          gradeCard({ file, line: card.range.start, textHash: card.textHash, response: 'Easy', now }).catch((e: Error) => e),
        ),
      );
      const concurrentMs = (performance.now() - t) / grades;
      rows.push({ cards: size, bytes: (await fs.stat(file)).size, msPerGrade: +sequentialMs.toFixed(2), msPerGradeConcurrent: +concurrentMs.toFixed(2) });
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  if (json) for (const r of rows) console.log(JSON.stringify(r));
  else {
    console.log('cards   bytes      ms/grade (one by one)   ms/grade (all queued at once on one file)');
    for (const r of rows) {
      console.log(`${String(r.cards).padEnd(7)} ${String(r.bytes).padEnd(10)} ${String(r.msPerGrade).padEnd(23)} ${r.msPerGradeConcurrent}`);
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
