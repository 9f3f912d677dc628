/**
 * Grading inside the cells child (child.ts hands a job with `grading` here). The student's cells
 * and the instructor's tests run in one process, but not in one trust domain:
 *
 * - The realm is locked down (confine.ts) before any student code runs: intrinsics, cardlab's and
 *   tf's code are frozen.
 * - The student's cells run in one SES Compartment with tslab's semantics (tslab's converter:
 *   TypeScript checking, top-level await, declarations shared between cells). Their only way out
 *   is a `require` giving frozen views of `cardlab` and `tslab`: no process, fs, vm, module cache,
 *   event pipe or tf engine.
 * - Each test runs in a fresh Compartment of its own. Its names are the real modules' (the source
 *   notebook's imports, prepended on its first line) over the student's declarations: a student
 *   who binds a fake `tf` changes nothing the test calls.
 * - The verdict is written by this trusted code, after the test's code returned, with the run's
 *   key, which nothing in a compartment can read; autograde counts only such verdicts.
 */
import { createRequire } from 'module';
import path from 'path';
import type { CellEvent, CellJob } from '../cells/events';
import { compileErrorText } from '../cells/error-lines';
import { confineLibraries, formatValues, lockdownRealm } from './confine';

/** tslab's converter (what the child's recording converter offers). */
interface Converter {
  convert(
    prevDecl: string,
    src: string,
  ): {
    output?: string;
    declOutput?: string;
    diagnostics: Array<{ start: { line: number; character: number }; messageText: string }>;
    hasToplevelAwait?: boolean;
    lastExpressionVar?: string;
  };
}

export interface GradingHost {
  emit(event: CellEvent): void;
  converter: Converter;
  /** The notebook's folder: `cardlab` resolves from there. */
  cwd: string;
  /** Tells the child which cell runs (its output hooks, script names and error lines follow it). */
  enterCell(index: number): void;
  /** A thrown value as an error event's fields, at the cells' lines (without running the value's code). */
  describeError(err: unknown): { kind: 'runtime'; message: string; line?: number; column?: number; text: string };
}

type Exports = Record<string | symbol, unknown>;

/** tslab's `exports` (executor.ts createExports): imported names stay rewritable, getters are read once. */
function createExports(): { target: Exports; proxy: Exports } {
  const target: Exports = {};
  const proxy = new Proxy(target, {
    defineProperty: (_t, prop, attrs) => {
      if (prop === '__esModule') return true;
      target[prop] = attrs.get ? attrs.get() : attrs.value;
      return true;
    },
  });
  return { target, proxy };
}

/**
 * Plain data snapshot of the student's declarations: what a test sees under their names. A name
 * that is a global of the tests' compartment (JSON, Error, Object, console…) is left out: tslab
 * compiles a test's `JSON.stringify` to `exports.JSON.stringify` once a cell declared `JSON`, and
 * a student's `const JSON = …` must not become the test's. (The test then fails to find it.)
 */
function studentNames(target: Exports, globalNames: ReadonlySet<string | symbol>): Exports {
  const names: Exports = {};
  for (const key of Reflect.ownKeys(target)) {
    if (globalNames.has(key)) continue;
    const d = Object.getOwnPropertyDescriptor(target, key);
    // defineProperty, not assignment: a declaration named `__proto__` must not set the prototype.
    if (d && 'value' in d) Object.defineProperty(names, key, { value: d.value, writable: true, enumerable: true, configurable: true });
  }
  return names;
}

/**
 * The `exports` a test runs with: reads give the student's declarations only; what the test
 * writes (its imports' getters to the real modules, its own declarations) is dropped. A test calls
 * `exports.f(…)`, so the student's `f` gets this object as `this`: it must hold nothing trusted.
 */
function testExports(names: Exports): Exports {
  const has = (key: string | symbol) => Object.prototype.hasOwnProperty.call(names, key);
  return new Proxy(Object.create(null) as Exports, {
    get: (_t, key) => (has(key) ? names[key] : undefined),
    set: () => true,
    defineProperty: () => true,
    deleteProperty: () => true,
    has: (_t, key) => has(key),
    ownKeys: () => Reflect.ownKeys(names),
    getOwnPropertyDescriptor: (_t, key) =>
      has(key) ? { value: names[key], writable: true, enumerable: true, configurable: true } : undefined,
  });
}

export async function runGradingJob(job: CellJob, host: GradingHost): Promise<boolean> {
  const grading = job.grading!;
  const requireFromNotebook = createRequire(path.join(host.cwd, 'src.js'));
  // cardlab (and tf's backend) must be loaded before lockdown; a notebook that never names it
  // (a plain-TypeScript assignment) does without the second or two that costs.
  const usesCardlab = [...job.cells, grading.trustedImports].some((code) => code.includes('cardlab'));
  const cardlab = usesCardlab ? (requireFromNotebook('cardlab') as Record<string, unknown> & { initBackend(): Promise<unknown> }) : undefined;
  const tslab = require('tslab') as Record<string, unknown>;
  await cardlab?.initBackend();
  lockdownRealm();
  const studentModules = confineLibraries(cardlab, tslab);
  if (cardlab) Object.freeze(cardlab);

  let cell = 0;
  const stream = (name: 'stdout' | 'stderr') => (...values: unknown[]) =>
    host.emit({ type: 'stream', cell, name, text: formatValues(values) + '\n' });
  const console_ = harden({
    log: stream('stdout'), info: stream('stdout'), debug: stream('stdout'), table: stream('stdout'), dir: stream('stdout'),
    error: stream('stderr'), warn: stream('stderr'), trace: stream('stderr'),
  });
  const reportAsync = (err: unknown) => runtimeError(err, cell);
  const guard = (fn: unknown, args: unknown[]) => () => {
    try {
      if (typeof fn === 'function') (fn as (...a: unknown[]) => unknown)(...args);
    } catch (err) {
      reportAsync(err);
    }
  };
  const timers = new Map<number, NodeJS.Timeout | NodeJS.Immediate>();
  let timerId = 0;
  const keep = (handle: NodeJS.Timeout | NodeJS.Immediate) => {
    timers.set(++timerId, handle);
    return timerId;
  };
  const clear = (id: unknown) => {
    const handle = timers.get(id as number);
    if (!handle) return;
    timers.delete(id as number);
    if ('hasRef' in handle && typeof (handle as NodeJS.Timeout).refresh === 'function') clearTimeout(handle as NodeJS.Timeout);
    else clearImmediate(handle as NodeJS.Immediate);
  };
  /** Globals of every compartment: frozen functions closing over trusted code, handing out numbers, not Node's handles. */
  const globals = harden({
    console: console_,
    Math, // the start compartment's: Math.random works
    Date, // and Date.now()
    setTimeout: (fn: unknown, ms?: number, ...args: unknown[]) => keep(setTimeout(guard(fn, args), ms)),
    setInterval: (fn: unknown, ms?: number, ...args: unknown[]) => keep(setInterval(guard(fn, args), ms)),
    setImmediate: (fn: unknown, ...args: unknown[]) => keep(setImmediate(guard(fn, args))),
    clearTimeout: clear,
    clearInterval: clear,
    clearImmediate: clear,
    queueMicrotask: (fn: unknown) => queueMicrotask(guard(fn, [])),
    TextEncoder,
    TextDecoder,
  });
  const newCompartment = () => new (Compartment as unknown as new (globals: object) => Compartment)({ ...globals });

  const studentRequire = harden((name: string) => {
    if (name === 'cardlab' && studentModules.cardlab) return studentModules.cardlab;
    if (name === 'tslab') return studentModules.tslab;
    throw new Error(`a graded notebook can import only 'cardlab' and 'tslab', not '${name}'`);
  });
  const trustedRequire = (name: string) => {
    if (name === 'cardlab' && cardlab) return cardlab;
    if (name === 'tslab') return tslab;
    throw new Error(`the tests can import only 'cardlab' and 'tslab', not '${name}'`);
  };

  const student = newCompartment();
  const globalNames = new Set<string | symbol>(Reflect.ownKeys(newCompartment().globalThis));
  const studentExports = createExports();
  let prevDecl = '';
  let allOk = true;

  function runtimeError(err: unknown, index: number): string {
    const error = host.describeError(err);
    host.emit({ type: 'error', cell: index, ...error });
    return error.message;
  }

  /** Converts and runs one cell in `compartment`; resolves to the failure message, or null. */
  async function run(index: number, source: string, compartment: Compartment, exports: Exports, req: unknown, test: boolean): Promise<string | null> {
    const converted = host.converter.convert(prevDecl, source);
    if (converted.diagnostics.length > 0) {
      const messages = converted.diagnostics.map((d) => {
        const line = d.start.line + 1;
        const column = d.start.character + 1;
        host.emit({ type: 'error', cell: index, kind: 'compile', message: d.messageText, line, column, text: compileErrorText(index, line, column, d.messageText) });
        return `line ${line}: ${d.messageText}`;
      });
      return messages.slice(0, 3).join('\n');
    }
    if (!test) prevDecl = converted.declOutput ?? '';
    const output = converted.output;
    if (!output) return null;
    try {
      const prefix = converted.hasToplevelAwait ? '(async function(exports, require) { ' : '(function(exports, require) { ';
      const fn = compartment.evaluate(`${prefix}${output}\n})`) as (exports: Exports, req: unknown) => unknown;
      const returned = fn(exports, req);
      if (converted.hasToplevelAwait) await (returned as Promise<unknown>);
    } catch (err) {
      return runtimeError(err, index);
    }
    const last = converted.lastExpressionVar;
    if (!test && last && exports[last] != null) {
      host.emit({ type: 'result', cell: index, text: formatValues([studentExports.target[last]]) + '\n' });
      delete studentExports.target[last];
    }
    return null;
  }

  for (const [index, source] of job.cells.entries()) {
    cell = index;
    const isTest = grading.tests[index] === true;
    // The trusted imports go on the test's first line, so that its line numbers stay the cell's.
    const code = isTest && grading.trustedImports ? `${grading.trustedImports} ${source}` : source;
    host.enterCell(index);
    host.emit({ type: 'cell-start', cell: index });
    const started = Date.now();
    let failure: string | null;
    if (isTest) {
      const names = studentNames(studentExports.target, globalNames);
      failure = await run(index, code, newCompartment(), testExports(names), trustedRequire, true);
      host.emit({ type: 'verdict', cell: index, passed: failure === null, message: failure, key: grading.key });
    } else {
      failure = await run(index, code, student, studentExports.proxy, studentRequire, false);
    }
    host.emit({ type: 'cell-end', cell: index, ok: failure === null, ms: Date.now() - started });
    allOk &&= failure === null;
  }
  return allOk;
}
