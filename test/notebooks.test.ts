/**
 * The course notebooks: their format, their links to the cards of cards/DenseNet.md, every linked
 * cell on its own (as a live demo runs it), and every notebook top to bottom through cardlab's
 * cell runner, at the quick size. Real Jupyter: notebooks-jupyter.test.ts.
 */
import fs from 'fs';
import path from 'path';
import { readNotebook, codeCells, formatCardLink, parseCardLink } from '../src/cells/notebook';
import { runCell, runNotebook, type RunResult } from '../src/cells/runner';
import { linkMatches } from '../server/cell-store';
import { assertBuilt } from './helpers/built';
import { describeRun, linkedCells, loadDeck, notebookFiles, unlinkedCardsMessage, useQuickSize, NOTEBOOK_DIR } from './helpers/notebooks';

jest.setTimeout(300_000);

const EXPECTED = [
  '01-composite-layer-growth-rate.ipynb',
  '02-dense-block-concatenation.ipynb',
  '03-bottleneck-parameters.ipynb',
  '04-transitions-compression.ipynb',
  '05-training-mnist.ipynb',
  '06-memory-efficient.ipynb',
];

beforeAll(() => {
  // The notebooks import `cardlab`, i.e. dist/: it must be current for what they use.
  assertBuilt(['cells', 'viz', 'densenet', 'train', 'data']);
  useQuickSize();
});

describe('format', () => {
  test('the six notebooks exist, in order', () => {
    expect(notebookFiles().map((f) => path.basename(f))).toEqual(EXPECTED);
  });

  test.each(EXPECTED)('%s: nbformat 4, tslab kernelspec, committed without outputs, imports cardlab by name', (name) => {
    const file = path.join(NOTEBOOK_DIR, name);
    const notebook = readNotebook(file);
    expect(notebook.nbformat).toBe(4);
    expect(notebook.metadata.kernelspec).toEqual({ name: 'tslab', display_name: 'TypeScript', language: 'typescript' });
    const withOutputs = notebook.cells.filter((c) => c.cell_type === 'code' && (c.outputs.length > 0 || c.execution_count !== null));
    expect(withOutputs.map((c) => c.id)).toEqual([]);
    const sources = codeCells(notebook).map((c) => c.source).join('\n');
    expect(sources).toMatch(/from 'cardlab'/);
    expect(sources).not.toMatch(/from '\.\.?\//); // never copies or relative imports of the project
    expect(notebook.cells.some((c) => c.cell_type === 'markdown' && /\$[^$]+\$/.test([c.source].flat().join('')))).toBe(true);
    // Jupyter writes sorted keys with a one-space indent; keep the committed files in that form.
    expect(fs.readFileSync(file, 'utf8')).toBe(JSON.stringify(sortKeys(JSON.parse(fs.readFileSync(file, 'utf8'))), null, 1) + '\n');
  });
});

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
}

describe('card links', () => {
  test('every card of cards/DenseNet.md has at least one linked cell', () => {
    const deck = loadDeck();
    expect(deck.cards.length).toBe(9);
    const message = unlinkedCardsMessage(deck, linkedCells());
    if (message) throw new Error(message);
  });

  test('the check names an unlinked card by its text', () => {
    const deck = loadDeck();
    const onlyForward = [{ cards: [parseCardLink('DenseNet#Forward Propagation')] }];
    const message = unlinkedCardsMessage(deck, onlyForward);
    expect(message).toMatch(/^4 card\(s\) of .*DenseNet\.md have no linked notebook cell/);
    expect(message).toContain('"**Why do DenseNets help with the vanishing gradient problem?**" (under Advantages)');
    expect(message).toContain('(under Summation vs. Concatenation)');
    expect(message).not.toContain('Composite Layer');
    const oneCard = [{ cards: [parseCardLink('DenseNet#Summation vs. Concatenation')] }, ...onlyForward, { cards: [parseCardLink('DenseNet#Advantages')] }];
    expect(unlinkedCardsMessage(deck, oneCard)).toBe('');
  });

  test('every link resolves to at least one card', () => {
    const deck = loadDeck();
    const dangling = linkedCells().flatMap((cell) =>
      cell.cards.filter((link) => !deck.cards.some((card) => linkMatches(link, deck, card))).map((link) => `${cell.label}: ${formatCardLink(link)}`),
    );
    expect(dangling).toEqual([]);
  });
});

describe('each linked cell runs on its own (fresh process, only its own imports)', () => {
  const cells = linkedCells();
  const timings: { label: string; cellMs: number; totalMs: number }[] = [];

  afterAll(() => {
    const slowest = [...timings].sort((a, b) => b.cellMs - a.cellMs)[0];
    if (slowest) {
      console.log(
        `linked cells: ${timings.length}; slowest ${slowest.label}: cell ${slowest.cellMs} ms, with the child's start ${slowest.totalMs} ms\n` +
          timings.map((t) => `  ${t.cellMs} ms  ${t.label}`).join('\n'),
      );
    }
  });

  test('there are linked cells', () => expect(cells.length).toBeGreaterThanOrEqual(3));

  test.each(cells.map((c) => [c.label, c] as const))('%s', async (label, cell) => {
    const result: RunResult = await runCell(cell.source, { cwd: path.dirname(cell.file), timeLimitMs: 60_000 }).result;
    if (!result.ok) throw new Error(describeRun(label, result));
    const end = result.events.find((e) => e.type === 'cell-end');
    timings.push({ label, cellMs: end?.type === 'cell-end' ? end.ms : NaN, totalMs: result.ms });
    // A demo must show something.
    expect(result.events.some((e) => (e.type === 'stream' && e.name === 'stdout') || e.type === 'display')).toBe(true);
  });
});

describe('each notebook runs top to bottom through the cell runner (quick size)', () => {
  test.each(EXPECTED)('%s', async (name) => {
    const file = path.join(NOTEBOOK_DIR, name);
    const result = await runNotebook(file, { timeLimitMs: 240_000 }).result;
    if (!result.ok) throw new Error(describeRun(name, result));
    const stderr = result.events.filter((e) => e.type === 'stream' && e.name === 'stderr');
    expect(stderr).toEqual([]); // Jupyter would show it as an error
    const ends = result.events.filter((e) => e.type === 'cell-end');
    expect(ends).toHaveLength(codeCells(readNotebook(file)).length);
    console.log(`${name}: ${result.ms} ms through the cell runner (cells ${ends.map((e) => (e.type === 'cell-end' ? e.ms : 0)).join(', ')} ms)`);
  });
});
