/**
 * The notebooks' code cells that are linked to cards (`metadata.cardlab.cards`), read with the
 * notebook reader and re-read when the notebooks change. A notebook that cannot be read is an
 * error for that notebook only. The files are only ever read: a run with edited code leaves them
 * as they are.
 */
import fs from 'fs';
import path from 'path';
import type { Card, Note } from '../src/cards/model';
import { cellSource, codeCells, formatCardLink, readNotebook, type CardLink, type Notebook } from '../src/cells/notebook';

export interface LinkedCell {
  /** `<notebook path without .ipynb>:<cell index>`. */
  id: string;
  notebook: string;
  /** Absolute path of the notebook (runs start in its folder). */
  file: string;
  index: number;
  code: string;
  links: CardLink[];
  /** What a live demo is labelled by (see `cellTitle`). */
  title: string;
}

/** For each cell index, the nearest markdown heading at or above it. */
function headingsAbove(notebook: Notebook): (string | null)[] {
  let current: string | null = null;
  return notebook.cells.map((cell) => {
    if (cell.cell_type === 'markdown') {
      const lines = cellSource(cell).split('\n').filter((l) => /^#{1,6}\s+\S/.test(l));
      if (lines.length > 0) current = lines.at(-1)!.replace(/^#+\s+/, '').trim();
    }
    return current;
  });
}

/**
 * A live demo's label: the heading of the nearest markdown cell above it ("Growth over depth"),
 * else the code's first comment line, else `notebook · cell N`.
 */
export function cellTitle(heading: string | null, code: string, notebook: string, index: number): string {
  if (heading) return heading.replace(/[*_`]/g, '');
  const comment = /^\s*\/\/\s*(.+)$/m.exec(code);
  if (comment) return comment[1].trim();
  return `${notebook} · cell ${index}`;
}

async function listNotebooks(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    for (const e of await fs.promises.readdir(d, { withFileTypes: true })) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && e.name.endsWith('.ipynb')) out.push(p);
    }
  }
  try {
    await walk(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return out.sort();
}

/** A heading link names every card under that heading (at any depth); a block link the card with that id. */
export function linkMatches(link: CardLink, note: Note, card: Card): boolean {
  if (link.note.toLowerCase() !== note.title.toLowerCase()) return false;
  if ('blockId' in link) return card.blockId !== null && card.blockId.replace(/^\^/, '') === link.blockId;
  const heading = link.heading.trim().toLowerCase();
  return card.context.some((h) => h.trim().toLowerCase() === heading);
}

export class CellStore {
  private cells = new Map<string, LinkedCell>();
  private errors = new Map<string, string>();
  private signature = '';
  private lastScan = 0;
  private scanning: Promise<void> | null = null;
  version = 0;

  constructor(
    readonly dir: string,
    private readonly rescanMs = 1000,
  ) {}

  async refresh(force = false): Promise<void> {
    if (!force && Date.now() - this.lastScan < this.rescanMs) return;
    this.scanning ??= this.scan().finally(() => {
      this.scanning = null;
    });
    await this.scanning;
  }

  private async scan(): Promise<void> {
    this.lastScan = Date.now();
    const files = await listNotebooks(this.dir);
    const stats = await Promise.all(files.map((f) => fs.promises.stat(f).then((s) => `${f}:${s.mtimeMs}:${s.size}`, () => f)));
    const signature = stats.join('|');
    if (signature === this.signature) return;
    this.signature = signature;
    this.cells.clear();
    this.errors.clear();
    for (const file of files) {
      const notebook = path.relative(this.dir, file).split(path.sep).join('/').replace(/\.ipynb$/, '');
      try {
        const read = readNotebook(file);
        const headings = headingsAbove(read);
        for (const cell of codeCells(read)) {
          if (cell.cards.length === 0) continue;
          const id = `${notebook}:${cell.index}`;
          const title = cellTitle(headings[cell.index], cell.source, notebook, cell.index);
          this.cells.set(id, { id, notebook, file, index: cell.index, code: cell.source, links: cell.cards, title });
        }
      } catch (err) {
        this.errors.set(notebook, (err as Error).message);
      }
    }
    this.version++;
  }

  get(id: string): LinkedCell | undefined {
    return this.cells.get(id);
  }

  /** The cells linked to a card, in notebook order. */
  cellsFor(note: Note, card: Card): LinkedCell[] {
    return [...this.cells.values()].filter((cell) => cell.links.some((link) => linkMatches(link, note, card)));
  }

  /** Notebooks that could not be read, with why. */
  problems(): { notebook: string; error: string }[] {
    return [...this.errors].map(([notebook, error]) => ({ notebook, error }));
  }

  /** Links that name no card of `notes` (a renamed heading, a typo): the cell shows with no card. */
  unresolved(notes: readonly Note[]): { cell: string; link: string }[] {
    const out: { cell: string; link: string }[] = [];
    for (const cell of this.cells.values()) {
      for (const link of cell.links) {
        if (!notes.some((note) => note.cards.some((card) => linkMatches(link, note, card)))) out.push({ cell: cell.id, link: formatCardLink(link) });
      }
    }
    return out;
  }

  describe(cell: LinkedCell): { id: string; notebook: string; index: number; code: string; links: string[]; title: string } {
    return { id: cell.id, notebook: cell.notebook, index: cell.index, code: cell.code, links: cell.links.map(formatCardLink), title: cell.title };
  }
}
