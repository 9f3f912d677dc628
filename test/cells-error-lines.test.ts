import {
  sourceLineOf,
  sourceColumnOf,
  userFrames,
  userStack,
  locateRuntimeError,
  describeThrown,
  type CellCode,
} from '../src/cells/error-lines';
import { runCells } from '../src/cells/runner';
import type { CellEvent } from '../src/cells/events';
import { assertBuilt } from './helpers/built';

// JavaScript as tslab emits it for the cell below (types gone, `;` and export lines added).
const source = ["const n: number = 2", "log('x')", "", "log('x')", "if (n > 1) {", "  throw new Error(\"big\")", "}"].join('\n');
const output = [
  'Object.defineProperty(exports, "__esModule", { value: true });',
  'exports.n = void 0;',
  'const n = 2;',
  'exports.n = n;',
  "log('x');",
  "log('x');",
  'if (n > 1) {',
  "    throw new Error('big');",
  '}',
].join('\n');

describe('mapping emitted JavaScript back to the cell', () => {
  test('an emitted line maps to the cell line with the same text', () => {
    expect(sourceLineOf(output, 2, source)).toBe(1);
    expect(sourceLineOf(output, 7, source)).toBe(6); // quotes and indentation differ
  });

  test('repeated lines map in order: the second emitted copy to the second cell line', () => {
    expect(sourceLineOf(output, 4, source)).toBe(2);
    expect(sourceLineOf(output, 5, source)).toBe(4);
  });

  test('lines the emitter added have no cell line', () => {
    expect(sourceLineOf(output, 0, source)).toBeUndefined();
  });

  test("a column maps past the emitter's `exports.` and `(0, module_1.f)` and the user's type annotations", () => {
    // `    throw new Error('big');` column 11 is `new`; in the cell it is column 9.
    expect(sourceColumnOf("    throw new Error('big');", 11, '  throw new Error("big")')).toBe(9);
    expect(sourceColumnOf('const z = exports.inner(exports.x) + exports.inner(5);', 46, 'const z: number = inner(x) + inner(5);')).toBe(30);
    expect(sourceColumnOf('await (0, cardlab_1.initBackend)();', 21, 'await initBackend();')).toBe(7);
  });

  test('frames of every cell are mapped, the runner and library frames dropped, names kept', () => {
    const cells = new Map<number, CellCode>([
      [0, { source: 'function f(a: number) {\n  return a.toFixed(200);\n}', output: 'function f(a) {\n    return a.toFixed(200);\n}\nexports.f = f;' }],
      [2, { source, output }],
    ]);
    const stack = [
      'RangeError: toFixed() digits argument must be between 0 and 100',
      '    at Number.toFixed (<anonymous>)',
      '    at Proxy.f (cardlab-cell-0:2:14)',
      '    at cardlab-cell-2:8:11',
      '    at Script.runInThisContext (node:vm:137:12)',
      '    at Object.execute (/project/node_modules/tslab/dist/executor.js:149:38)',
      '    at main (/project/dist/src/cells/child.js:120:5)',
    ].join('\n');
    const frames = userFrames(stack, cells);
    expect(frames).toEqual([
      { fn: 'f', cell: 0, line: 2, column: 12 },
      { fn: undefined, cell: 2, line: 6, column: 9 },
    ]);
    expect(locateRuntimeError(frames, 2)).toEqual({ line: 6, column: 9 });
    expect(locateRuntimeError(frames, 1)).toBeUndefined();
    expect(userStack('RangeError: toFixed', frames)).toBe(
      'RangeError: toFixed\n    at f (cell 0, line 2, column 12)\n    at cell 2, line 6, column 9',
    );
  });

  test('thrown values are described without running their code', () => {
    let ran = false;
    const trap = () => {
      ran = true;
      throw new Error('trap');
    };
    const proxy = new Proxy({}, { get: trap, getPrototypeOf: trap, ownKeys: trap, getOwnPropertyDescriptor: trap });
    expect(describeThrown(proxy).message).toMatch(/^a non-error value was thrown/);
    expect(describeThrown({ toString: trap, [Symbol.toPrimitive]: trap }).message).toMatch(/^a non-error value was thrown/);
    expect(describeThrown(null).message).toBe('a non-error value was thrown: null');
    const err = new TypeError('bad');
    // The stack first: defining it after the trap would have jest's prepareStackTrace read the message.
    Object.defineProperty(err, 'stack', { value: 'TypeError\n    at somewhere' });
    Object.defineProperty(err, 'message', { get: trap });
    expect(describeThrown(err).message).toBe('TypeError: ');
    expect(ran).toBe(false);
    expect(describeThrown(new RangeError('far'))).toMatchObject({ message: 'RangeError: far', stack: expect.stringContaining('RangeError: far') });
  });
});

describe('errors of cells run by the runner: at the line and column the user wrote, only their frames', () => {
  beforeAll(() => assertBuilt(['cells']));
  jest.setTimeout(120_000);

  const errorsOf = async (cells: string[]) => {
    const result = await runCells(cells, { continueAfterErrors: true }).result;
    return result.events.filter((e): e is Extract<CellEvent, { type: 'error' }> => e.type === 'error');
  };
  const noRunnerFrames = (text: string) => {
    expect(text).not.toMatch(/child\.js|tslab|node:internal|node:vm|executor|exports\.|cardlab-cell|\(0,/);
  };

  test('thrown at the top level, inside a function of another cell, and in an async callback; a type error', async () => {
    const [inFunction, atTopLevel, inCallback, typeError] = await errorsOf([
      // cell 0: a function that throws for big numbers
      'function inner(n: number): number {\n  if (n > 2) throw new RangeError(`too big: ${n}`);\n  return n;\n}\nconst x = 1;',
      // cell 1: calls it
      'const y: number = 2;\nconst z = inner(x) + inner(5);',
      // cell 2: throws at the top level
      "const w = 1;\n  throw new Error('top');",
      // cell 3: a timer callback that throws after the cell's own code went on
      "setTimeout(() => {\n  const a = 1;\n  (null as any).boom;\n}, 1);\nawait new Promise((r) => setTimeout(r, 100));",
      // cell 4: a type error
      'const s: string = 3;',
    ]);
    expect(inFunction).toMatchObject({ cell: 1, kind: 'runtime', message: 'RangeError: too big: 5', line: 2, column: 22 });
    expect(inFunction.text).toBe('RangeError: too big: 5\n    at inner (cell 0, line 2, column 20)\n    at cell 1, line 2, column 22\n');
    expect(atTopLevel).toMatchObject({ cell: 2, kind: 'runtime', message: 'Error: top', line: 2, column: 9 });
    expect(atTopLevel.text).toBe('Error: top\n    at cell 2, line 2, column 9\n');
    expect(inCallback).toMatchObject({ cell: 3, kind: 'runtime', line: 3, column: 17 });
    expect(inCallback.text).toMatch(/^TypeError: Cannot read properties of null \(reading 'boom'\)\n    at cell 3, line 3, column 17\n$/);
    expect(typeError).toMatchObject({ cell: 4, kind: 'compile', line: 1, column: 7, message: "Type 'number' is not assignable to type 'string'." });
    expect(typeError.text).toBe("Type 'number' is not assignable to type 'string'.\n    at cell 4, line 1, column 7\n");
    for (const e of [inFunction, atTopLevel, inCallback, typeError]) noRunnerFrames(e.text);
  });

  test('an odd thrown value (a Proxy that traps everything) is reported, not run', async () => {
    const [error] = await errorsOf([
      'const trap = () => { throw new Error("trapped"); };\nthrow new Proxy({}, { get: trap, getPrototypeOf: trap, ownKeys: trap, getOwnPropertyDescriptor: trap, has: trap });',
    ]);
    expect(error).toMatchObject({ kind: 'runtime', message: expect.stringMatching(/^a non-error value was thrown/) });
    expect(error.text).not.toMatch(/trapped/);
  });
});
