/**
 * What a live demo shows, as a label: the heading of the nearest markdown cell above it in its
 * notebook ("Growth over depth"), else the code's first comment line, else `notebook · cell N`.
 * Notebooks are read here only for this (the cell store keeps the code); cached per file version.
 */
import fs from 'fs';
import { cellSource, readNotebook } from '../src/cells/notebook';

const cache = new Map<string, { mtimeMs: number; headings: (string | null)[] }>();

/** For each cell index, the nearest markdown heading at or above it. */
function headingsOf(file: string): (string | null)[] {
  let mtimeMs: number;
  try {
    mtimeMs = fs.statSync(file).mtimeMs;
  } catch {
    return [];
  }
  const known = cache.get(file);
  if (known?.mtimeMs === mtimeMs) return known.headings;
  let headings: (string | null)[] = [];
  try {
    let current: string | null = null;
    headings = readNotebook(file).cells.map((cell) => {
      if (cell.cell_type === 'markdown') {
        const lines = cellSource(cell).split('\n').filter((l) => /^#{1,6}\s+\S/.test(l));
        if (lines.length > 0) current = lines.at(-1)!.replace(/^#+\s+/, '').trim();
      }
      return current;
    });
  } catch {
    headings = []; // the cell store reports unreadable notebooks
  }
  cache.set(file, { mtimeMs, headings });
  return headings;
}

export function cellTitle(cell: { file: string; index: number; notebook: string; code: string }): string {
  const heading = headingsOf(cell.file)[cell.index];
  if (heading) return heading.replace(/[*_`]/g, '');
  const comment = /^\s*\/\/\s*(.+)$/m.exec(cell.code);
  if (comment) return comment[1].trim();
  return `${cell.notebook} · cell ${cell.index}`;
}
