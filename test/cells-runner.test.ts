import fs from 'fs';
import os from 'os';
import path from 'path';
import { runCells as startCells, runCell as startCell, runNotebook, childScript, PROJECT_ROOT, RunResult, RunOptions } from '../src/cells/runner';
import { WarmPool } from '../src/cells/pool';
import type { CellEvent } from '../src/cells/events';
import { PLOTLY_MIME } from '../src/cells/display';
import { assertBuilt } from './helpers/built';

const FIXTURES = path.join(__dirname, 'fixtures', 'notebooks');

beforeAll(() => assertBuilt(['cells']));

const runCells = (cells: string[], options?: RunOptions) => startCells(cells, options).result;
const runCell = (cell: string, options?: RunOptions) => startCell(cell, options).result;

type Of<T extends CellEvent['type']> = Extract<CellEvent, { type: T }>;
function only<T extends CellEvent['type']>(result: RunResult, type: T): Of<T>[] {
  return result.events.filter((e): e is Of<T> => e.type === type);
}
function stdout(result: RunResult, cell?: number): string {
  return only(result, 'stream')
    .filter((e) => e.name === 'stdout' && (cell === undefined || e.cell === cell))
    .map((e) => e.text)
    .join('');
}

describe('tslab semantics', () => {
  let result: RunResult;
  beforeAll(async () => {
    result = await runCells([
      // 0: types are checked, the last expression's value is the result
      'const width: number = 3 + 4\nwidth * 2',
      // 1: variables and imports of earlier cells are visible
      "import * as tslab from 'tslab'\nconsole.log('width is', width)\nconsole.error('to stderr')",
      // 2: top-level await
      'const later = await new Promise<number>((resolve) => setTimeout(() => resolve(width + 1), 20))\nlater',
      // 3: tslab's display API
      [
        "tslab.display.html('<b>bold</b>')",
        "tslab.display.markdown('# Title')",
        "tslab.display.svg('<svg xmlns=\"http://www.w3.org/2000/svg\"/>')",
        'tslab.display.png(new Uint8Array([137, 80, 78, 71]))',
        'tslab.display.jpeg(new Uint8Array([255, 216, 255]))',
      ].join('\n'),
      // 4: plotly through cardlab's display helper, imported from the package by its name
      "import { displayPlotly } from 'cardlab'\ndisplayPlotly({ data: [{ y: [1, 3, 2] }], layout: { title: 'three points' } })",
      // 5: a cell whose last statement is not an expression shows nothing
      'let unused = 1',
    ]);
  });

  test('every cell runs and the run ends with exit done', () => {
    expect(only(result, 'cell-end').map((e) => [e.cell, e.ok])).toEqual([0, 1, 2, 3, 4, 5].map((c) => [c, true]));
    expect(result.events.at(-1)).toMatchObject({ type: 'exit', ok: true, reason: 'done', exitCode: 0 });
    expect(result).toMatchObject({ ok: true, reason: 'done' });
  });

  test('last expression values are results, formatted as tslab prints them', () => {
    expect(only(result, 'result').map((e) => [e.cell, e.text])).toEqual([
      [0, '14\n'],
      [2, '8\n'],
    ]);
  });

  test('stdout and stderr of a cell are streams of that cell', () => {
    expect(stdout(result, 1)).toBe('width is 7\n');
    const stderr = only(result, 'stream').filter((e) => e.name === 'stderr');
    expect(stderr.map((e) => [e.cell, e.text])).toEqual([[1, 'to stderr\n']]);
  });

  test('tslab.display outputs come as MIME bundles, binary as base64', () => {
    const displays = only(result, 'display').filter((e) => e.cell === 3);
    expect(displays.map((e) => e.data)).toEqual([
      { 'text/html': '<b>bold</b>' },
      { 'text/markdown': '# Title' },
      { 'image/svg+xml': '<svg xmlns="http://www.w3.org/2000/svg"/>' },
      { 'image/png': Buffer.from([137, 80, 78, 71]).toString('base64') },
      { 'image/jpeg': Buffer.from([255, 216, 255]).toString('base64') },
    ]);
  });

  test('displayPlotly sends the figure as plotly JSON with static fallbacks', () => {
    const [plot] = only(result, 'display').filter((e) => e.cell === 4);
    expect(plot.data[PLOTLY_MIME]).toEqual({ data: [{ y: [1, 3, 2] }], layout: { title: 'three points' } });
    expect(plot.data['text/html']).toContain('three points');
    expect(plot.data['text/plain']).toBe('<plotly figure: three points>');
  });
});

describe('errors', () => {
  test('a type error is a compile error with the cell line and column, and later cells do not run', async () => {
    const result = await runCells(['const ok = 1', 'const a = 1\nconst b: string = a\n', "console.log('after')"]);
    expect(result).toMatchObject({ ok: false, reason: 'cell-error' });
    const [error] = only(result, 'error');
    expect(error).toMatchObject({ cell: 1, kind: 'compile', line: 2, column: 7 });
    expect(error.message).toMatch(/Type 'number' is not assignable to type 'string'/);
    expect(only(result, 'cell-start').map((e) => e.cell)).toEqual([0, 1]);
    expect(stdout(result)).not.toContain('after');
  });

  test('a thrown error gives its message and the line in the cell', async () => {
    const cell = [
      'interface Shape { channels: number }',
      '',
      'const shape: Shape = { channels: 3 }',
      'function grow(s: Shape): Shape {',
      "  if (s.channels > 2) throw new RangeError('too many channels: ' + s.channels)",
      '  return s',
      '}',
      'grow(shape)',
    ].join('\n');
    const result = await runCell(cell);
    const [error] = only(result, 'error');
    expect(error).toMatchObject({ cell: 0, kind: 'runtime', message: 'RangeError: too many channels: 3', line: 5 });
    expect(error.text).toContain('too many channels');
  });

  test('an error inside a function of an earlier cell gives the line of the call in the failing cell', async () => {
    const result = await runCells([
      'const a = 1\nfunction digits(n: number) {\n  return n.toFixed(200)\n}',
      '// uses a\nconst b = a + 1\n\nconsole.log(b)\ndigits(b)\n',
    ]);
    expect(only(result, 'error')).toEqual([
      expect.objectContaining({ cell: 1, kind: 'runtime', line: 5, message: expect.stringMatching(/^RangeError: toFixed/) }),
    ]);
  });

  test('an error thrown later by a timer fails the run, reported in the cell running then', async () => {
    const result = await runCells([
      "setTimeout(() => { throw new Error('from a timer') }, 10)",
      'await new Promise((resolve) => setTimeout(resolve, 200))',
    ]);
    expect(result).toMatchObject({ ok: false, reason: 'cell-error' });
    expect(only(result, 'error')).toEqual([expect.objectContaining({ cell: 1, kind: 'runtime', message: 'Error: from a timer' })]);
  });

  test('a rejected await is a runtime error', async () => {
    const result = await runCell("const x = 1\nawait Promise.reject(new Error('rejected'))");
    expect(only(result, 'error')[0]).toMatchObject({ kind: 'runtime', message: 'Error: rejected' });
    expect(result.reason).toBe('cell-error');
  });
});

describe('a linked cell on its own', () => {
  test('sees only its own imports: a name from another cell is a compile error', async () => {
    const result = await runCell('console.log(width)');
    expect(only(result, 'error')[0]).toMatchObject({ kind: 'compile', line: 1 });
    expect(only(result, 'error')[0].message).toMatch(/Cannot find name 'width'/);
  });
});

describe('a cell that ends the process', () => {
  test('is not a successful run: the later cells did not run', async () => {
    const result = await runCells(["console.log('bye')\nprocess.exit(0)", "console.log('never')"]);
    expect(result).toMatchObject({ ok: false, reason: 'crash' });
    expect(stdout(result)).toBe('bye\n');
  });
});

describe('streaming', () => {
  test('events arrive while the cell is still running, through the callback and the iterator', async () => {
    const started = Date.now();
    const seenAt: Record<string, number> = {};
    const run = startCell("console.log('early')\nawait new Promise((r) => setTimeout(r, 1500))\nconsole.log('late')", {
      onEvent: (e) => {
        if (e.type === 'stream') seenAt[e.text.trim()] ??= Date.now() - started;
        if (e.type === 'exit') seenAt.exit = Date.now() - started;
      },
    });
    const iterated: string[] = [];
    for await (const event of run) iterated.push(event.type);
    expect(seenAt.exit - seenAt.early).toBeGreaterThanOrEqual(1400);
    expect(seenAt.late).toBeGreaterThan(seenAt.early);
    expect(iterated[0]).toBe('ready');
    expect(iterated.at(-1)).toBe('exit');
    expect(iterated).toEqual((await run.result).events.map((e) => e.type));
  });
});

describe('limits', () => {
  test('a cell that never ends is killed at the time limit, and its earlier output is kept', async () => {
    // The limit is wall-clock from the hand-over of the job (start-up included for a cold child). A
    // warm pool child is used so that the loop surely starts within the limit on a busy machine.
    const cwd = path.join(PROJECT_ROOT, 'notebooks');
    const pool = new WarmPool({ size: 1, script: childScript(), projectRoot: PROJECT_ROOT, cwd, memoryLimitMb: 2048 });
    try {
      pool.fill();
      for (const deadline = Date.now() + 90_000; pool.warm === 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
      const started = Date.now();
      const run = startCell("console.log('before the loop')\nwhile (true) {}", { timeLimitMs: 8000, pool, cwd });
      expect(run.warm).toBe(true);
      const result = await run.result;
      const elapsed = Date.now() - started;
      expect(result).toMatchObject({ ok: false, reason: 'timeout' });
      expect(result.events.at(-1)).toMatchObject({ type: 'exit', signal: 'SIGKILL', message: 'time limit of 8 s exceeded' });
      expect(stdout(result)).toBe('before the loop\n');
      expect(elapsed).toBeGreaterThanOrEqual(8000);
      expect(elapsed).toBeLessThan(10_000);
    } finally {
      pool.close();
    }
  });

  test('a cell that prints without end is killed at the output limit', async () => {
    const result = await runCell("while (true) console.log('spam '.repeat(100))", { outputLimitBytes: 200_000 });
    expect(result).toMatchObject({ ok: false, reason: 'output-limit' });
    const printed = only(result, 'stream').reduce((n, e) => n + e.text.length, 0);
    expect(printed).toBeLessThanOrEqual(200_000);
    expect(printed).toBeGreaterThan(100_000);
  });

  test('a cell that fills the heap stops at the memory limit', async () => {
    // 320 MB: tslab and TypeScript alone need ~170 MB; the cell prints first, so the kill is the hoard's.
    const result = await runCell("console.log('hoarding')\nconst hoard: object[] = []\nwhile (true) hoard.push({ n: hoard.length, s: String(hoard.length) })", {
      memoryLimitMb: 320,
      timeLimitMs: 60_000,
    });
    expect(stdout(result)).toBe('hoarding\n');
    expect(result).toMatchObject({ ok: false, reason: 'memory' });
  });
});

describe('TypeScript in a cell process', () => {
  // inotify watches are a per-user budget of the whole machine (8192 on many kernels). tslab's
  // TypeScript watch program put one on each of ~1,100 declaration files per cell process, so a few
  // cell processes at once (a warm pool, several servers) could exhaust it and break cells on a busy
  // machine. Files cannot change under a run (its mounts are read-only): a cell watches nothing.
  test('a cell that imports cardlab and tfjs holds no inotify watch', async () => {
    const cell = [
      "import * as cardlab from 'cardlab'",
      "import * as tf from '@tensorflow/tfjs'",
      "import fs from 'fs'",
      'let watches = 0',
      "for (const fd of fs.readdirSync('/proc/self/fd')) {",
      "  let target = ''",
      "  try { target = fs.readlinkSync('/proc/self/fd/' + fd) } catch { continue }",
      "  if (target.includes('inotify')) watches += fs.readFileSync('/proc/self/fdinfo/' + fd, 'utf8').split('\\n').filter((l) => l.startsWith('inotify wd:')).length",
      '}',
      "console.log(JSON.stringify({ watches, cardlab: typeof cardlab.displayPlotly, tf: typeof tf.tensor }))",
    ].join('\n');
    // Node's permission model would hide /proc from the cell; the OS sandbox still holds.
    const result = await runCell(cell, { permissionModel: false });
    expect(result).toMatchObject({ ok: true, reason: 'done' });
    expect(JSON.parse(stdout(result))).toEqual({ watches: 0, cardlab: 'function', tf: 'function' });
  });

  test("Node's types are there without an import; the project's dev tools' ambient types (jest's) are not", async () => {
    const node = await runCell("const bytes: Buffer = Buffer.from('ab')\nconst env: NodeJS.ProcessEnv = process.env\nbytes.length");
    expect(node).toMatchObject({ ok: true });
    expect(only(node, 'result').map((e) => e.text)).toEqual(['2\n']);
    const jest = await runCell('const mock: jest.Mock | undefined = undefined\nmock');
    expect(jest.ok).toBe(false);
    expect(only(jest, 'error')[0]).toMatchObject({ kind: 'compile', message: expect.stringContaining("Cannot find namespace 'jest'") });
  });
});

describe('permissions', () => {
  // One run tries everything a cell must not do (and what it may), and reports what happened.
  let outside: string;
  let seen: Record<string, string>;
  beforeAll(async () => {
    outside = fs.mkdtempSync(path.join(PROJECT_ROOT, '.cardlab-permission-test-'));
    process.env.CARDLAB_NOTEBOOK_SIZE = 'quick';
    process.env.SECRET_TOKEN_FOR_TEST = 'hidden';
    const cell = [
      "import fs from 'fs'",
      "import os from 'os'",
      "import path from 'path'",
      "import { execSync } from 'child_process'",
      "import { Worker } from 'worker_threads'",
      'function attempt(action: () => unknown): string {',
      "  try { return String(action() ?? 'allowed') } catch (e) { return (e as { code?: string }).code ?? String(e) }",
      '}',
      "const scratch = path.join(os.tmpdir(), 'scratch.txt')",
      'const seen = {',
      `  writeOutside: attempt(() => fs.writeFileSync(${JSON.stringify(path.join(outside, 'x.txt'))}, 'x')),`,
      "  writeTemp: attempt(() => { fs.writeFileSync(scratch, 'ok'); return fs.readFileSync(scratch, 'utf8') }),",
      '  scratch,',
      `  readProject: attempt(() => JSON.parse(fs.readFileSync(${JSON.stringify(path.join(PROJECT_ROOT, 'package.json'))}, 'utf8')).name),`,
      `  readDeck: attempt(() => fs.readFileSync(${JSON.stringify(path.join(PROJECT_ROOT, 'cards', 'DenseNet.md'))}, 'utf8').length),`,
      // node_modules/cardlab links back to the project root: the permission model follows links.
      `  readDeckThroughSelfLink: attempt(() => fs.readFileSync(${JSON.stringify(path.join(PROJECT_ROOT, 'node_modules', 'cardlab', 'cards', 'DenseNet.md'))}, 'utf8').length),`,
      "  childProcess: attempt(() => execSync('echo hi').toString()),",
      "  worker: attempt(() => { new Worker('1', { eval: true }) }),",
      '  signalParent: attempt(() => process.kill(process.ppid, 0)),',
      "  visibleEnv: String(process.env.CARDLAB_NOTEBOOK_SIZE),",
      "  secretEnv: String(process.env.SECRET_TOKEN_FOR_TEST),",
      '}',
      'console.log(JSON.stringify(seen))',
    ].join('\n');
    try {
      const result = await runCell(cell);
      expect(result.ok).toBe(true);
      seen = JSON.parse(stdout(result));
    } finally {
      delete process.env.CARDLAB_NOTEBOOK_SIZE;
      delete process.env.SECRET_TOKEN_FOR_TEST;
    }
  });
  afterAll(() => fs.rmSync(outside, { recursive: true, force: true }));

  test('the rest of the project (decks, coursework, data) cannot be read, not even through node_modules/cardlab', () => {
    expect(seen.readDeck).toBe('ERR_ACCESS_DENIED');
    // node_modules/cardlab links to packages/cardlab, which holds nothing but a package.json.
    expect(['ERR_ACCESS_DENIED', 'ENOENT']).toContain(seen.readDeckThroughSelfLink);
  });

  test('writing outside the temp folder is denied', () => {
    expect(seen.writeOutside).toBe('ERR_ACCESS_DENIED');
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  test('writing in the temp folder (TMPDIR) works, and the folder is removed after the run', () => {
    expect(seen.writeTemp).toBe('ok');
    expect(fs.existsSync(seen.scratch)).toBe(false);
  });

  test('reading the project works (cells import its code and read its files)', () => {
    expect(seen.readProject).toBe('cardlab');
  });

  test('child processes and worker threads are denied', () => {
    expect(seen.childProcess).toBe('ERR_ACCESS_DENIED');
    expect(seen.worker).toBe('ERR_ACCESS_DENIED');
  });

  test('signals to other processes (the server) are denied', () => {
    expect(seen.signalParent).toBe('ERR_ACCESS_DENIED');
  });

  test('the environment has the settings cells read (CARDLAB_NOTEBOOK_SIZE) but not the rest of the parent\'s', () => {
    expect(seen.visibleEnv).toBe('quick');
    expect(seen.secretEnv).toBe('undefined');
  });
});

describe('notebooks', () => {
  test('a good notebook runs top to bottom in its folder', async () => {
    const result = await runNotebook(path.join(FIXTURES, 'good.ipynb')).result;
    expect(result).toMatchObject({ ok: true, reason: 'done' });
    expect(stdout(result)).toBe('channels 3 -> 13 -> 23\n');
    const displays = only(result, 'display');
    expect(displays[0].data).toEqual({ 'text/html': '<b>3 layers</b>' });
    expect(displays[1].data[PLOTLY_MIME]).toEqual({ data: [{ y: [3, 13, 23], type: 'scatter' }], layout: { title: 'channels' } });
    expect(only(result, 'result').at(-1)!.text).toBe(`${PLOTLY_MIME}\n`); // console.log shows strings bare
  });

  test('a broken notebook stops at its failing cell with the message and line', async () => {
    const result = await runNotebook(path.join(FIXTURES, 'broken.ipynb')).result;
    expect(result).toMatchObject({ ok: false, reason: 'cell-error' });
    expect(only(result, 'error')).toEqual([
      expect.objectContaining({ cell: 1, kind: 'runtime', message: 'Error: deliberately broken cell', line: 3 }),
    ]);
    expect(stdout(result)).toBe('first cell runs 1\n');
  });

  test('a notebook that is not valid is an error naming the file', () => {
    const file = path.join(os.tmpdir(), `cardlab-not-a-notebook-${process.pid}.ipynb`);
    fs.writeFileSync(file, '{');
    try {
      expect(() => runNotebook(file)).toThrow(`${file}: not valid JSON`);
    } finally {
      fs.rmSync(file);
    }
  });
});
