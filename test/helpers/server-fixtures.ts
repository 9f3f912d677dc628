/** Temp copies of decks and notebooks for the server tests: the real cards/ is never touched. */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { resolveConfig, type ServerConfig, type ServerOptions } from '../../server/config';

export const ROOT = path.join(__dirname, '..', '..');
export const SEED_DECK = path.join(ROOT, 'cards', 'DenseNet.md');

/**
 * A small deck whose queue is known by construction: two overdue cards (2020-01-01 is the most
 * overdue), one not due until 2999, one new reversed card (2 siblings), one new cloze card with two
 * deletions (2 siblings). Due 2, new 4, total 7.
 */
export const SMALL_DECK = [
  '---',
  'tags: [flashcards]',
  '---',
  '# Topic',
  '## Sub A',
  'Capital of France::Paris',
  '<!--SR:!2020-02-01,10,230-->',
  '',
  'What is $2+2$?::4',
  '<!--SR:!2020-01-01,3,250-->',
  '',
  'Front side:::Back side',
  '',
  '## Sub B',
  'Far future::later',
  '<!--SR:!2999-01-01,100,250-->',
  '',
  'A ==first== and a ==second== deletion ^cloze-card',
  '',
].join('\n');

export interface Workspace {
  dir: string;
  cards: string;
  notebooks: string;
  data: string;
  config(overrides?: ServerOptions): ServerConfig;
  deck(name: string): string;
  read(name: string): string;
  cleanup(): void;
}

/** A temp folder with cards/, notebooks/ and data/; `decks` maps file names to contents. */
export function workspace(decks: Record<string, string | Buffer>, notebooks: Record<string, object> = {}): Workspace {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cardlab-server-'));
  const cards = path.join(dir, 'cards');
  const nbDir = path.join(dir, 'notebooks');
  const data = path.join(dir, 'data');
  fs.mkdirSync(cards);
  fs.mkdirSync(nbDir);
  for (const [name, content] of Object.entries(decks)) fs.writeFileSync(path.join(cards, name), content);
  for (const [name, notebook] of Object.entries(notebooks)) fs.writeFileSync(path.join(nbDir, name), JSON.stringify(notebook, null, 1));
  // Cells import `cardlab` and tslab, resolved from the notebook's folder as in the project's notebooks/.
  if (Object.keys(notebooks).length > 0) fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(nbDir, 'node_modules'), 'dir');
  return {
    dir,
    cards,
    notebooks: nbDir,
    data,
    config: (overrides = {}) => resolveConfig({ cards, notebooks: nbDir, data, port: 0, ...overrides }, {}),
    deck: (name) => path.join(cards, name),
    read: (name) => fs.readFileSync(path.join(cards, name), 'utf8'),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** A notebook (nbformat 4.5) whose code cells link to cards: `[source, links][]`. */
export function notebook(cells: [string, string[]][]): object {
  return {
    cells: cells.map(([source, links], i) => ({
      cell_type: 'code',
      execution_count: null,
      id: `cell-${i}`,
      metadata: links.length ? { cardlab: { cards: links } } : {},
      outputs: [],
      source,
    })),
    metadata: { kernelspec: { display_name: 'TypeScript', language: 'typescript', name: 'tslab' } },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

/** Lines that differ between two texts of the same line count (index, before, after). */
export function changedLines(before: string, after: string): [number, string, string][] {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a.length !== b.length) throw new Error(`line count changed: ${a.length} → ${b.length}`);
  return a.flatMap((line, i) => (line === b[i] ? [] : [[i, line, b[i]] as [number, string, string]]));
}
