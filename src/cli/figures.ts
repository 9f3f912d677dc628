/**
 * `cardlab figures`: regenerates the deck's pictures (src/figures/deck-figures.ts) as PNGs, by
 * default into cards/ under the names cards/DenseNet.md links.
 */
import path from 'path';
import type { Command } from 'commander';
import { PROJECT_ROOT } from '../cells/runner';
import { DECK_FIGURES } from '../figures/deck-figures';
import { renderFigures } from '../figures/render';

export function registerFiguresCommands(program: Command): void {
  program
    .command('figures')
    .description("draw the deck's pictures from the code (dense block, transition, architecture table, DenseNet-BC vs ResNet, memory-efficient storage) as PNGs")
    .argument('[names...]', 'only these files (e.g. densenet-architecture.png); default: all')
    .option('--out <dir>', 'where to write them', path.join(PROJECT_ROOT, 'cards'))
    .option('--scale <n>', 'device pixels per CSS pixel', (v) => {
      const n = Number(v);
      if (!(n > 0 && n <= 4)) throw new Error(`--scale must be a number in (0, 4] (got "${v}")`);
      return n;
    }, 2)
    .option('--list', 'list the figures and where their numbers come from, draw nothing')
    .action(async (names: string[], opts: { out: string; scale: number; list?: boolean }) => {
      const unknown = names.filter((n) => !DECK_FIGURES.some((f) => f.file === n));
      if (unknown.length > 0) throw new Error(`unknown figure ${unknown.join(', ')}; the figures are ${DECK_FIGURES.map((f) => f.file).join(', ')}`);
      const chosen = names.length > 0 ? DECK_FIGURES.filter((f) => names.includes(f.file)) : DECK_FIGURES;
      if (opts.list) {
        for (const f of chosen) console.log(`${f.file}\n  shows: ${f.shows}\n  numbers: ${f.source}`);
        return;
      }
      const written = await renderFigures(chosen, path.resolve(opts.out), { scale: opts.scale });
      for (const w of written) console.log(`${w.file}  ${w.width}×${w.height} CSS px, ${w.bytes.toLocaleString('en-US')} bytes`);
    });
}
