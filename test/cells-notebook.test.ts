import fs from 'fs';
import os from 'os';
import path from 'path';
import {
  readNotebook,
  writeNotebook,
  codeCells,
  parseCardLink,
  formatCardLink,
  Notebook,
} from '../src/cells/notebook';

const FIXTURES = path.join(__dirname, 'fixtures', 'notebooks');
const GOOD = path.join(FIXTURES, 'good.ipynb');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cardlab-nb-test-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function writeRaw(name: string, content: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function goodJson(): Notebook {
  return JSON.parse(fs.readFileSync(GOOD, 'utf8'));
}

describe('reading notebooks', () => {
  test('code cells come in order with joined sources and parsed card links', () => {
    const cells = codeCells(readNotebook(GOOD));
    expect(cells.map((c) => c.id)).toEqual(['imports', 'channels', 'plot']);
    expect(cells.map((c) => c.index)).toEqual([1, 2, 3]); // cell 0 is markdown
    expect(cells[0].source).toBe(
      "import * as tslab from 'tslab'\nimport { displayPlotly, PLOTLY_MIME } from 'cardlab'\nconst growth: number = 10",
    );
    expect(cells[0].cards).toEqual([]);
    expect(cells[1].cards).toEqual([{ note: 'DenseNet', heading: 'Growth rate' }]);
    expect(cells[2].cards).toEqual([{ note: 'DenseNet', blockId: 'growth-rate-card' }]);
  });

  test('a source stored as one string reads the same as a list of lines', () => {
    const nb = goodJson();
    const cell = nb.cells[1];
    cell.source = (cell.source as string[]).join('');
    const cells = codeCells(readNotebook(writeRaw('one-string.ipynb', nb)));
    expect(cells[0].source).toBe(codeCells(readNotebook(GOOD))[0].source);
  });

  test('bad JSON is an error naming the file', () => {
    const file = writeRaw('bad.ipynb', '{"cells": [');
    expect(() => readNotebook(file)).toThrow(new RegExp(`^${file}: not valid JSON`));
  });

  test('a missing file is an error naming it', () => {
    const file = path.join(dir, 'absent.ipynb');
    expect(() => readNotebook(file)).toThrow(`${file}: cannot read the notebook`);
  });

  test('missing cells is an error naming the file and the field', () => {
    const nb = goodJson() as Partial<Notebook>;
    delete nb.cells;
    const file = writeRaw('no-cells.ipynb', nb);
    expect(() => readNotebook(file)).toThrow(/no-cells\.ipynb: not a valid Jupyter notebook \(nbformat 4\): cells:/);
  });

  test('wrong types are errors naming the cell and field', () => {
    const nb = goodJson();
    (nb.cells[2] as { source: unknown }).source = 42;
    expect(() => readNotebook(writeRaw('types.ipynb', nb))).toThrow(/types\.ipynb: .*cells\.2\.source/);

    const old = goodJson() as { nbformat: number };
    old.nbformat = 3;
    expect(() => readNotebook(writeRaw('v3.ipynb', old))).toThrow(/v3\.ipynb: .*nbformat/);

    const unknownType = goodJson();
    (unknownType.cells[0] as { cell_type: string }).cell_type = 'heading';
    expect(() => readNotebook(writeRaw('heading.ipynb', unknownType))).toThrow(/heading\.ipynb: .*cells\.0/);
  });

  test('malformed card metadata is an error naming the file and cell', () => {
    const nb = goodJson();
    nb.cells[2].metadata = { cardlab: { cards: 'DenseNet#Growth rate' } };
    expect(() => readNotebook(writeRaw('meta.ipynb', nb))).toThrow(/meta\.ipynb: cell 2: metadata\.cardlab must be/);

    const noHeading = goodJson();
    noHeading.cells[2].metadata = { cardlab: { cards: ['DenseNet'] } };
    expect(() => readNotebook(writeRaw('nohead.ipynb', noHeading))).toThrow(
      /nohead\.ipynb: cell 2: card link "DenseNet" must be Note#Heading or Note#\^block-id/,
    );

    const onMarkdown = goodJson();
    onMarkdown.cells[0].metadata = { cardlab: { cards: ['DenseNet#Growth rate'] } };
    expect(() => readNotebook(writeRaw('md.ipynb', onMarkdown))).toThrow(/md\.ipynb: cell 0: only code cells/);
  });
});

describe('card links', () => {
  test.each([
    ['DenseNet#Forward Propagation', { note: 'DenseNet', heading: 'Forward Propagation' }],
    ['DenseNet#^growth-rate', { note: 'DenseNet', blockId: 'growth-rate' }],
    ['[[DenseNet#Dense block|the dense block]]', { note: 'DenseNet', heading: 'Dense block' }],
    ['Deep Learning/DenseNet#Pooling#Transition layers', { note: 'Deep Learning/DenseNet', heading: 'Pooling#Transition layers' }],
  ])('%s', (link, expected) => {
    expect(parseCardLink(link)).toEqual(expected);
  });

  test.each(['DenseNet', '#Heading', 'DenseNet#', 'DenseNet#^', 'DenseNet#^bad id!'])('%s is rejected', (link) => {
    expect(() => parseCardLink(link)).toThrow(link);
  });

  test('formatting gives back the link', () => {
    for (const link of ['DenseNet#Forward Propagation', 'DenseNet#^growth-rate']) {
      expect(formatCardLink(parseCardLink(link))).toBe(link);
    }
  });
});

describe('writing notebooks', () => {
  test('a notebook written back reads the same, in Jupyter layout, unknown fields kept', () => {
    const nb = readNotebook(GOOD);
    (nb.metadata as Record<string, unknown>).custom = { kept: true };
    const file = path.join(dir, 'out.ipynb');
    writeNotebook(file, nb);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toMatch(/^{\n "cells": \[\n  {\n   "cell_type": "markdown",/); // nbformat's layout
    expect(text.endsWith('}\n')).toBe(true);
    expect(readNotebook(file)).toEqual(nb);
    expect(fs.readdirSync(dir)).toEqual(['out.ipynb']); // no temp file left behind
  });

  test('a notebook saved by Jupyter (nbformat layout) is rewritten byte for byte', () => {
    const file = path.join(dir, 'same.ipynb');
    writeNotebook(file, readNotebook(GOOD));
    expect(fs.readFileSync(file, 'utf8')).toBe(fs.readFileSync(GOOD, 'utf8'));
  });

  test('an invalid notebook is not written and the file is left as it was', () => {
    const file = writeRaw('keep.ipynb', goodJson());
    const before = fs.readFileSync(file, 'utf8');
    const broken = goodJson() as unknown as { cells: unknown };
    broken.cells = 'nope';
    expect(() => writeNotebook(file, broken as Notebook)).toThrow(/keep\.ipynb: not a valid Jupyter notebook/);
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
  });
});
