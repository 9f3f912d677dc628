/**
 * A hostile student's submission: the released (stubbed) assignment plus an attack in the student's
 * own cells. Each attack tries to earn points without solving, by forging the runner's protocol,
 * replacing what runs the tests, patching what the tests call, or reading the hidden tests. Every
 * one must score 0, with the stub's own failure or the attack's error as the message.
 */
import path from 'path';
import { assignNotebook, autograde, type GradeReport } from '../src/coursework';
import { cellSource, type Notebook } from '../src/cells/notebook';
import { assertBuilt } from './helpers/built';

const COURSEWORK = path.join(__dirname, '..', 'coursework');
const COMPOSITE = path.join(COURSEWORK, '01-composite-layer.ipynb');
const DENSE_BLOCK = path.join(COURSEWORK, '03-dense-block-params.ipynb');

beforeAll(() => assertBuilt(['cells', 'coursework']));

/** The released student copy with some of its cells (by id) replaced by the attacker's code. */
function submission(source: string, cells: Record<string, string>): Notebook {
  const student = assignNotebook(source);
  for (const id of Object.keys(cells)) {
    if (!student.cells.some((c) => c.id === id)) throw new Error(`no cell ${id} in ${source}`);
  }
  return { ...student, cells: student.cells.map((cell) => (cell.id! in cells ? { ...cell, source: cells[cell.id!] } : cell)) };
}

const stubOf = (source: string, id: string) => cellSource(assignNotebook(source).cells.find((c) => c.id === id)!);

async function grade(source: string, cells: Record<string, string>): Promise<GradeReport> {
  return autograde({ submission: submission(source, cells), source, timeoutMs: 90_000 });
}

// Each case is one or more whole autograde runs (child start-up included): slow on a loaded machine.
jest.setTimeout(400_000);

function expectNothingEarned(report: GradeReport): void {
  expect(report.cells.map((c) => [c.id, c.points])).toEqual(report.cells.map((c) => [c.id, 0]));
  expect(report.total).toBe(0);
  for (const cell of report.cells) expect(cell.message).toEqual(expect.any(String));
}

/** Assignment 1 run order: setup (0), solution (1), test-shape (2), test-structure (3). */
const FORGED_ENDS = [2, 3].map((cell) => JSON.stringify({ type: 'cell-end', cell, ok: true, ms: 1 })).join('\\n');

/** The stubbed solution cell (compositeLayer throws "not implemented") with an attack after it. */
const stubWith = (attack: string) => `${stubOf(COMPOSITE, 'solution')}\n${attack}`;

describe('forged verdicts score 0', () => {
  test('the stub alone scores 0 with "not implemented"', async () => {
    const report = await grade(COMPOSITE, {});
    expectNothingEarned(report);
    for (const cell of report.cells) expect(cell.message).toMatch(/not implemented/);
  });

  test('writing cell-end events on fd 3 (the runner protocol)', async () => {
    const report = await grade(COMPOSITE, {
      solution: stubWith(`const fs = require('fs');\nfs.writeSync(3, '${FORGED_ENDS}\\n');`),
    });
    expectNothingEarned(report);
  });

  test('writing cell-end events on fd 1 and fd 2', async () => {
    const report = await grade(COMPOSITE, {
      solution: stubWith(`const fs = require('fs');\nfs.writeSync(1, '${FORGED_ENDS}\\n');\nfs.writeSync(2, '${FORGED_ENDS}\\n');`),
    });
    expectNothingEarned(report);
  });

  test("replacing vm.runInThisContext, which runs the next cells", async () => {
    const report = await grade(COMPOSITE, {
      solution: stubWith(`require('vm').runInThisContext = () => undefined;`),
    });
    expectNothingEarned(report);
  });

  test('replacing vm.Script.prototype.runInThisContext', async () => {
    const report = await grade(COMPOSITE, {
      solution: stubWith(`require('vm').Script.prototype.runInThisContext = function () { return () => undefined; };`),
    });
    expectNothingEarned(report);
  });

  test("a student function that takes the test's `this` (its exports) to reach the real tf, the process and fs", async () => {
    const report = await grade(COMPOSITE, {
      solution: [
        'function compositeLayer(this: any, x: tf.SymbolicTensor, growthRate: number): tf.SymbolicTensor {',
        '  const realTf = this?.tf ?? Object.getOwnPropertyDescriptor(this ?? {}, "tf")?.get?.();',
        '  const fs = realTf.env().global.process.mainModule.require("fs");',
        '  const write = fs.writeSync;',
        '  // Every verdict the child writes from now on says passed.',
        '  fs.writeSync = function (fd: number, data: any, offset?: number) {',
        "    if (fd !== 3 || typeof data !== 'object') return write.apply(fs, arguments);",
        "    write(fd, data.toString('utf8', offset ?? 0).replaceAll('\"passed\":false', '\"passed\":true'));",
        '    return data.length - (offset ?? 0);',
        '  };',
        '  throw new Error("fails, but the verdict is rewritten");',
        '}',
      ].join('\n'),
    });
    expectNothingEarned(report);
    for (const cell of report.cells) expect(cell.message).not.toMatch(/fails, but/);
  });

  test("patching the prototype of a class tf does not export (a graph Node, reached through a tensor)", async () => {
    const report = await grade(COMPOSITE, {
      solution: [
        'function compositeLayer(x: tf.SymbolicTensor, growthRate: number): tf.SymbolicTensor {',
        '  const node = (x.sourceLayer as any).inboundNodes[0];',
        '  const proto = Object.getPrototypeOf(node);',
        '  let patched = "no";',
        '  try { proto.getConfig = () => ({}); patched = "yes"; } catch {}',
        '  throw new Error(`patched: ${patched}, frozen: ${Object.isFrozen(proto)}`);',
        '}',
      ].join('\n'),
    });
    expectNothingEarned(report);
    expect(report.cells[0].message).toBe('Error: patched: no, frozen: true');
  });

  test('patching JSON.stringify, which the shape test compares with', async () => {
    const report = await grade(COMPOSITE, {
      solution: [
        'function compositeLayer(x: tf.SymbolicTensor, growthRate: number): tf.SymbolicTensor { return x; }',
        'const realStringify = JSON.stringify;',
        "(JSON as any).stringify = (value: unknown, ...rest: any[]) => Array.isArray(value) ? 'same' : realStringify(value, ...rest);",
      ].join('\n'),
    });
    expectNothingEarned(report);
  });

  test("shadowing a global the test uses with the student's own declaration (const JSON = …)", async () => {
    const report = await grade(COMPOSITE, {
      solution: [
        'function compositeLayer(x: tf.SymbolicTensor, growthRate: number): tf.SymbolicTensor { return x; }',
        "const JSON = { stringify: (value: unknown) => 'same', parse: (text: string) => text };",
      ].join('\n'),
    });
    expectNothingEarned(report);
  });

  test('patching Array.prototype methods and Object.is', async () => {
    const report = await grade(COMPOSITE, {
      solution: [
        'function compositeLayer(x: tf.SymbolicTensor, growthRate: number): tf.SymbolicTensor { return x; }',
        "Array.prototype.map = function () { return ['BatchNormalization', 'Activation', 'Conv2D']; } as any;",
        'Array.prototype.slice = function (this: unknown[]) { return this; } as any;',
        'Object.is = () => true;',
      ].join('\n'),
    });
    expectNothingEarned(report);
  });

  test('a fake tf bound in the student\'s setup cell: the tests use the real one', async () => {
    const report = await grade(COMPOSITE, {
      setup: [
        "import * as cardlab from 'cardlab';",
        'const fakeLayer = (name: string, config: object = {}) => ({ getClassName: () => name, getConfig: () => config });',
        'const fakeModel = {',
        "  layers: [fakeLayer('InputLayer'), fakeLayer('BatchNormalization'), fakeLayer('Activation', { activation: 'relu' }),",
        "    fakeLayer('Conv2D', { kernelSize: [3, 3], useBias: false })],",
        '  countParams: () => 200,',
        '};',
        'const tf = { ...cardlab.tf, model: () => fakeModel } as unknown as typeof cardlab.tf;',
      ].join('\n'),
      solution: [
        'function compositeLayer(x: any, growthRate: number): any {',
        '  return { shape: [null, x.shape[1], x.shape[2], growthRate] };',
        '}',
      ].join('\n'),
    });
    expectNothingEarned(report);
  });

  test("patching tf's LayersModel.prototype.countParams, which the library test compares with", async () => {
    const report = await grade(DENSE_BLOCK, {
      solution: [
        'function denseBlockParams(m0: number, k: number, layers: number): number { return -1; }',
        '(tf.LayersModel.prototype as any).countParams = () => -1;',
      ].join('\n'),
    });
    expectNothingEarned(report);
  });

  test("replacing cardlab's exports in the module cache (the library test imports cardlab)", async () => {
    const report = await grade(DENSE_BLOCK, {
      solution: [
        'function denseBlockParams(m0: number, k: number, layers: number): number { return 0; }',
        "const entry = require.cache[require.resolve('cardlab')]!;",
        '// The library test imports denseBlock: a block that adds no layer has no parameters.',
        'entry.exports = { ...entry.exports, denseBlock: (input: unknown) => input };',
      ].join('\n'),
    });
    expectNothingEarned(report);
  });

  test('process.exit(0) in the middle of a test', async () => {
    const report = await grade(COMPOSITE, {
      solution: 'function compositeLayer(x: tf.SymbolicTensor, growthRate: number): tf.SymbolicTensor { process.exit(0); }',
    });
    expectNothingEarned(report);
  });

  test("catching the test's error with process.on('uncaughtException') and a thrown-later timer", async () => {
    const report = await grade(COMPOSITE, {
      solution: stubWith(
        [
          "process.on('uncaughtException', () => undefined);",
          "process.on('unhandledRejection', () => undefined);",
          "process.removeAllListeners('uncaughtException');",
        ].join('\n'),
      ),
    });
    expectNothingEarned(report);
  });

  test('overriding console and Promise.prototype.then', async () => {
    const report = await grade(COMPOSITE, {
      solution: stubWith(
        [
          'console.error = () => undefined;',
          'console.log = () => undefined;',
          'Promise.prototype.then = function (this: Promise<unknown>, ok: any) { return ok?.(undefined); } as any;',
        ].join('\n'),
      ),
    });
    expectNothingEarned(report);
  });

  test('throwing odd objects: a Proxy, an object whose toString throws, null', async () => {
    for (const thrown of [
      'new Proxy({}, { get() { throw new Error("gotcha"); }, getPrototypeOf() { return Error.prototype; } })',
      '{ toString() { throw new Error("no string"); }, [Symbol.toPrimitive]() { throw new Error("no primitive"); } }',
      'null',
    ]) {
      const report = await grade(COMPOSITE, {
        solution: `function compositeLayer(x: tf.SymbolicTensor, growthRate: number): tf.SymbolicTensor { throw ${thrown}; }`,
      });
      expectNothingEarned(report);
    }
  });

  test('a Proxy returned to the test, with toJSON, valueOf and Symbol.toPrimitive tricks', async () => {
    const report = await grade(COMPOSITE, {
      solution: [
        'function compositeLayer(x: tf.SymbolicTensor, growthRate: number): tf.SymbolicTensor {',
        '  const anything: any = new Proxy(function () {}, {',
        "    get: (_t, key) => key === 'toJSON' ? () => [null, 8, 8, 4] : key === Symbol.toPrimitive ? () => 200 : key === 'valueOf' ? () => 200 : anything,",
        '    apply: () => anything,',
        '  });',
        '  return anything;',
        '}',
      ].join('\n'),
    });
    expectNothingEarned(report);
  });

  test("nothing powerful is reachable from what the student's cells get (modules, globals, built objects)", async () => {
    // A breadth-first walk over own properties (getters called), prototypes and the values of
    // cardlab, tslab, the compartment's globals, and a model, a tensor and a layer built with them.
    const walk = [
      "import * as tslab from 'tslab';",
      'const found: string[] = [];',
      'const seen = new Set<unknown>();',
      'const input = tf.input({ shape: [4, 4, 3] });',
      'const model = tf.model({ inputs: input, outputs: tf.layers.conv2d({ filters: 2, kernelSize: 3 }).apply(input) as tf.SymbolicTensor });',
      'const tensor = tf.tensor([1, 2, 3]).square();',
      'let caught: unknown; try { tf.layers.dense({} as any); } catch (e) { caught = e; }',
      "const queue: Array<[unknown, string]> = [[require('cardlab'), 'cardlab'], [tslab, 'tslab'], [globalThis, 'globalThis'], [model, 'model'], [tensor, 'tensor'], [caught, 'caught'], [console, 'console']];",
      'while (queue.length > 0 && seen.size < 30000) {',
      '  const [value, where] = queue.shift()!;',
      "  if (value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value)) continue;",
      '  seen.add(value);',
      '  const v = value as any;',
      '  try {',
      "    if (typeof v.pid === 'number' && typeof v.exit === 'function') found.push(`process at ${where}`);",
      "    if (typeof v.resolve === 'function' && v.cache && typeof v === 'function') found.push(`require at ${where}`);",
      "    if (typeof v.runInThisContext === 'function') found.push(`vm at ${where}`);",
      "    if (typeof v.writeSync === 'function' && typeof v.openSync === 'function') found.push(`fs at ${where}`);",
      "    if (v !== globalThis && v.globalThis === v) found.push(`another global object at ${where}`);",
      '  } catch {}',
      '  try { queue.push([Object.getPrototypeOf(v), `${where}.__proto__`]); } catch {}',
      '  let keys: PropertyKey[] = [];',
      '  try { keys = Reflect.ownKeys(v); } catch {}',
      '  for (const key of keys) {',
      '    let d: PropertyDescriptor | undefined;',
      '    try { d = Object.getOwnPropertyDescriptor(v, key); } catch {}',
      '    if (!d) continue;',
      '    const name = `${where}.${String(key)}`;',
      "    if ('value' in d) queue.push([d.value, name]);",
      '    if (d.get) { queue.push([d.get, name + "(get)"]); try { queue.push([d.get.call(v), name]); } catch {} }',
      '    if (d.set) queue.push([d.set, name + "(set)"]);',
      '  }',
      '}',
      'function compositeLayer(x: tf.SymbolicTensor, growthRate: number): tf.SymbolicTensor {',
      "  throw new Error(`reachable: ${found.length ? found.slice(0, 10).join('; ') : 'nothing'} (${seen.size} objects walked)`);",
      '}',
    ].join('\n');
    const report = await grade(COMPOSITE, { solution: walk });
    expectNothingEarned(report);
    expect(report.cells[0].message).toMatch(/^Error: reachable: nothing \(\d+ objects walked\)$/);
    expect(Number(/\((\d+) objects/.exec(report.cells[0].message!)![1])).toBeGreaterThan(1000);
  });

  test('the hidden tests cannot be read from the process (vm, the module cache, stdin) and sent back in a message', async () => {
    const report = await grade(COMPOSITE, {
      solution: [
        'const seen: string[] = [];',
        "try { const vm = require('vm'); const run = vm.runInThisContext; vm.runInThisContext = (code: string, ...rest: any[]) => { seen.push(code); return run(code, ...rest); }; } catch (e) { seen.push(String(e)); }",
        "try { seen.push(require('fs').readFileSync(0, 'utf8')); } catch (e) { seen.push(String(e)); }",
        "try { seen.push(JSON.stringify(Object.keys(require.cache))); } catch (e) { seen.push(String(e)); }",
        'function compositeLayer(x: tf.SymbolicTensor, growthRate: number): tf.SymbolicTensor { throw new Error(seen.join("\\n")); }',
      ].join('\n'),
    });
    expectNothingEarned(report);
    expect(JSON.stringify(report)).not.toMatch(/3×5×2|BEGIN HIDDEN|countParams\(\) !== 4/);
  });
});
