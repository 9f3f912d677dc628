import { sourceLineOf, cellLineOfRuntimeError } from '../src/cells/error-lines';

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

test('only frames of the failing cell count', () => {
  const stack = 'Error: big\n    at f (cardlab-cell-0:3:9)\n    at cardlab-cell-2:8:11\n    at cardlab-cell-2:10:3';
  expect(cellLineOfRuntimeError(stack, 2, output, source)).toEqual({ line: 6 });
  expect(cellLineOfRuntimeError(stack, 1, output, source)).toBeUndefined();
});
