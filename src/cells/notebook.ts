/**
 * Jupyter notebooks (nbformat 4): read with validation, write back atomically, and the card links
 * of code cells. A cell names the cards it demonstrates in its metadata:
 *
 *   "metadata": { "cardlab": { "cards": ["DenseNet#Forward Propagation", "DenseNet#^growth-rate"] } }
 *
 * in Obsidian's link syntax: `Note#Heading` (every card under that heading) or `Note#^block-id`
 * (the one card with that block id).
 */
import fs from 'fs';
import path from 'path';
import { z } from 'zod';

/** Jupyter stores multi-line strings either whole or as a list of lines (each with its `\n`). */
const multiline = z.union([z.string(), z.array(z.string())]);

const cellBase = {
  id: z.string().optional(),
  source: multiline,
  metadata: z.looseObject({}),
};

const codeCellSchema = z.looseObject({
  ...cellBase,
  cell_type: z.literal('code'),
  outputs: z.array(z.looseObject({ output_type: z.string() })),
  execution_count: z.number().int().nullable(),
});
const textCellSchema = z.looseObject({
  ...cellBase,
  cell_type: z.enum(['markdown', 'raw']),
});

export const notebookSchema = z.looseObject({
  nbformat: z.literal(4),
  nbformat_minor: z.number().int().nonnegative(),
  metadata: z.looseObject({}),
  cells: z.array(z.discriminatedUnion('cell_type', [codeCellSchema, textCellSchema])),
});

export type Notebook = z.infer<typeof notebookSchema>;
export type NotebookCell = Notebook['cells'][number];

/** `cards` links a cell to cards; other keys belong to other tools (coursework's `grade`). */
const cardlabMetadataSchema = z.looseObject({ cards: z.array(z.string()).optional() });

/** One link from a cell to cards: a heading of a note, or one block (card) of it. */
export type CardLink = { note: string; heading: string } | { note: string; blockId: string };

export interface CodeCell {
  /** Position among all the notebook's cells (markdown included), 0-based. */
  index: number;
  /** nbformat 4.5 cell id, when the notebook has them. */
  id?: string;
  source: string;
  cards: CardLink[];
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(top level)'}: ${issue.message}`)
    .join('; ');
}

/** Validates an already parsed notebook; `name` (usually the file) starts every error message. */
export function parseNotebook(json: unknown, name: string): Notebook {
  const parsed = notebookSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${name}: not a valid Jupyter notebook (nbformat 4): ${describeIssues(parsed.error)}`);
  for (const [index, cell] of parsed.data.cells.entries()) cardLinksOf(cell, `${name}: cell ${index}`);
  return parsed.data;
}

export function readNotebook(file: string): Notebook {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read the notebook: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
  }
  return parseNotebook(json, file);
}

/** Object keys sorted at every level, as nbformat writes them. */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortedKeys((value as Record<string, unknown>)[key])]),
  );
}

/**
 * Writes as Jupyter does (sorted keys, 1-space indent, trailing newline), so a file saved by
 * Jupyter and rewritten here shows no spurious diff; through a temp file so a crash loses nothing.
 */
export function writeNotebook(file: string, notebook: Notebook): void {
  const checked = parseNotebook(notebook, file);
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(temp, JSON.stringify(sortedKeys(checked), null, 1) + '\n');
  fs.renameSync(temp, file);
}

export function cellSource(cell: NotebookCell): string {
  return Array.isArray(cell.source) ? cell.source.join('') : cell.source;
}

/**
 * Parses an Obsidian link to cards: `Note#Heading` or `Note#^block-id`, optionally inside `[[...]]`
 * and with an `|alias`, which is ignored.
 */
export function parseCardLink(link: string): CardLink {
  const inner = link.trim().replace(/^\[\[(.*)\]\]$/, '$1').split('|')[0].trim();
  const hash = inner.indexOf('#');
  const note = hash < 0 ? inner : inner.slice(0, hash).trim();
  const target = hash < 0 ? '' : inner.slice(hash + 1).trim();
  if (!note || !target) {
    throw new Error(`card link "${link}" must be Note#Heading or Note#^block-id`);
  }
  if (target.startsWith('^')) {
    const blockId = target.slice(1);
    if (!/^[A-Za-z0-9-]+$/.test(blockId)) {
      throw new Error(`card link "${link}": a block id has only letters, digits and dashes`);
    }
    return { note, blockId };
  }
  return { note, heading: target };
}

function cardLinksOf(cell: NotebookCell, where: string): CardLink[] {
  const meta = (cell.metadata as { cardlab?: unknown }).cardlab;
  if (meta === undefined) return [];
  if (cell.cell_type !== 'code') throw new Error(`${where}: only code cells can link to cards`);
  const parsed = cardlabMetadataSchema.safeParse(meta);
  if (!parsed.success) {
    throw new Error(`${where}: metadata.cardlab must be { "cards": ["Note#Heading", ...] }: ${describeIssues(parsed.error)}`);
  }
  return (parsed.data.cards ?? []).map((link) => {
    try {
      return parseCardLink(link);
    } catch (err) {
      throw new Error(`${where}: ${(err as Error).message}`);
    }
  });
}

/** The code cells in order, with their source joined and their card links parsed. */
export function codeCells(notebook: Notebook): CodeCell[] {
  return notebook.cells.flatMap((cell, index) =>
    cell.cell_type === 'code'
      ? [{ index, id: cell.id, source: cellSource(cell), cards: cardLinksOf(cell, `cell ${index}`) }]
      : [],
  );
}

/** Formats a link back into Obsidian syntax. */
export function formatCardLink(link: CardLink): string {
  return 'blockId' in link ? `${link.note}#^${link.blockId}` : `${link.note}#${link.heading}`;
}
