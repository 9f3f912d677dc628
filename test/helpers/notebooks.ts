/**
 * The course notebooks (notebooks/*.ipynb) and the deck they link to, for the notebook tests.
 * Runs use the quick size (CARDLAB_NOTEBOOK_SIZE=quick), set here once for the test process and
 * passed on to the runner's children and to Jupyter's kernel.
 */
import fs from 'fs';
import path from 'path';
import { codeCells, readNotebook, formatCardLink, type CodeCell } from '../../src/cells/notebook';
import type { RunResult } from '../../src/cells/runner';
import type { CardLink } from '../../src/cells/notebook';
import { linkMatches } from '../../server/cell-store';
import { parseNote } from '../../src/cards/note';
import type { Note } from '../../src/cards/model';
import { NOTEBOOK_SIZE_ENV } from '../../src/cells/size';

export const ROOT = path.join(__dirname, '..', '..');
export const NOTEBOOK_DIR = path.join(ROOT, 'notebooks');
export const DECK_FILE = path.join(ROOT, 'cards', 'DenseNet.md');

export const QUICK_ENV = { [NOTEBOOK_SIZE_ENV]: 'quick' };
export function useQuickSize(): void {
  process.env[NOTEBOOK_SIZE_ENV] = 'quick';
}

export function notebookFiles(): string[] {
  return fs.readdirSync(NOTEBOOK_DIR).filter((f) => f.endsWith('.ipynb')).sort().map((f) => path.join(NOTEBOOK_DIR, f));
}

export function loadDeck(): Note {
  return parseNote(fs.readFileSync(DECK_FILE, 'utf8'), { path: DECK_FILE });
}

export interface LinkedCell extends CodeCell {
  file: string;
  /** e.g. `03-bottleneck-parameters.ipynb cell 4 (DenseNet#Advantages)`. */
  label: string;
}

export function linkedCells(): LinkedCell[] {
  return notebookFiles().flatMap((file) =>
    codeCells(readNotebook(file))
      .filter((cell) => cell.cards.length > 0)
      .map((cell) => ({ ...cell, file, label: `${path.basename(file)} cell ${cell.index} (${cell.cards.map(formatCardLink).join(', ')})` })),
  );
}

/** What a failed run printed: errors, stderr, and why it ended; for test messages. */
export function describeRun(name: string, result: RunResult): string {
  const lines = result.events.flatMap((e) => {
    if (e.type === 'error') return [`cell ${e.cell}: ${e.text}`];
    if (e.type === 'stream' && e.name === 'stderr') return [`cell ${e.cell} stderr: ${e.text}`];
    return [];
  });
  return `${name}: ended with "${result.reason}" after ${result.ms} ms\n${lines.join('\n')}`;
}

/** The cards no cell links to, each named by the first line of its text and its heading; '' when all are linked. */
export function unlinkedCardsMessage(deck: Note, cells: { cards: CardLink[] }[]): string {
  const unlinked = deck.cards.filter((card) => !cells.some((cell) => cell.cards.some((link) => linkMatches(link, deck, card))));
  if (unlinked.length === 0) return '';
  const names = unlinked.map((card) => `- "${card.question.split('\n')[0].slice(0, 100)}" (under ${card.context.join(' > ')})`);
  return `${unlinked.length} card(s) of ${deck.path} have no linked notebook cell:\n${names.join('\n')}`;
}
