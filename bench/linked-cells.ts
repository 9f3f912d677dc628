/**
 * How long each card-linked notebook cell takes on its own, as a live demo runs it: a fresh child
 * process with only the cell's own imports (the target is under 5 s on the wasm backend), at the
 * quick size unless CARDLAB_NOTEBOOK_SIZE says otherwise.
 *
 *   npm run build && node dist/bench/linked-cells.js [--reps 3] [--json]
 *
 * Figures are wall-clock milliseconds, the best of --reps runs (the machine may be shared):
 * `cellMs` the cell itself (type-check, imports, work), `startMs` the child's converter start-up,
 * `totalMs` the whole run.
 */
import fs from 'fs';
import path from 'path';
import { runCell, PROJECT_ROOT } from '../src/cells/runner';
import { codeCells, readNotebook, formatCardLink } from '../src/cells/notebook';
import { NOTEBOOK_SIZE_ENV } from '../src/cells/size';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  process.env[NOTEBOOK_SIZE_ENV] ??= 'quick';
  const reps = Number(arg('--reps', '3'));
  const json = process.argv.includes('--json');
  const dir = path.join(PROJECT_ROOT, 'notebooks');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ipynb')).sort();
  let slowest = { label: '', cellMs: 0 };
  for (const name of files) {
    for (const cell of codeCells(readNotebook(path.join(dir, name))).filter((c) => c.cards.length > 0)) {
      const label = `${name} cell ${cell.index} (${cell.cards.map(formatCardLink).join(', ')})`;
      let best = { cellMs: Infinity, startMs: Infinity, totalMs: Infinity };
      for (let rep = 0; rep < reps; rep++) {
        const result = await runCell(cell.source, { cwd: dir }).result;
        if (!result.ok) throw new Error(`${label}: ended with ${result.reason}`);
        const ready = result.events.find((e) => e.type === 'ready');
        const end = result.events.find((e) => e.type === 'cell-end');
        const cellMs = end?.type === 'cell-end' ? end.ms : NaN;
        if (cellMs < best.cellMs) best = { cellMs, startMs: ready?.type === 'ready' ? ready.ms : NaN, totalMs: result.ms };
      }
      if (best.cellMs > slowest.cellMs) slowest = { label, cellMs: best.cellMs };
      if (json) console.log(JSON.stringify({ cell: label, ...best }));
      else console.log(`${String(best.cellMs).padStart(6)} ms cell, ${String(best.startMs).padStart(6)} ms start, ${String(best.totalMs).padStart(6)} ms total  ${label}`);
    }
  }
  if (!json) console.log(`slowest: ${slowest.label}: ${slowest.cellMs} ms (target: under 5000 ms)`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
