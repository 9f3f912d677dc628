/**
 * The realm a graded notebook runs in (inside the cells child, see grading-child.ts). SES's
 * `lockdown()` freezes every JavaScript intrinsic (Array.prototype, JSON, Function.prototype,
 * Promise, Error…), so nothing the student runs can change what the instructor's tests compute
 * with. The student's cells then run in a Compartment: their own global object, and as the only
 * way out a `require` that gives a curated, frozen view of `cardlab` and `tslab` (no process, fs,
 * vm, module cache, tf engine or environment). cardlab's and tf's functions and classes are frozen
 * in place, so the tests call the same, unpatched code.
 */
import 'ses';
import { inspect, types } from 'util';

/** tf exports that reach the engine, the environment (whose `global` is the process's globalThis), files or the network. */
const DENIED_TF = new Set([
  'ENV', 'env', 'engine', 'backend', 'findBackend', 'findBackendFactory', 'registerBackend', 'removeBackend',
  'registerKernel', 'unregisterKernel', 'registerGradient', 'unregisterGradient', 'copyRegisteredKernels',
  'getKernel', 'getKernelsForBackend', 'getGradient', 'setPlatform', 'enableDebugMode', 'enableProdMode',
  'deprecationWarn', 'disableDeprecationWarnings', 'io', 'browser', 'data', 'util', 'serialization',
  'backend_util', 'device_util', 'kernel_impls', 'webgl', 'webgl_util', 'gpgpu_util', 'test_util',
  'loadLayersModel', 'loadGraphModel', 'loadGraphModelSync', 'default',
]);

/** cardlab exports that write files, start processes or grade. */
const DENIED_CARDLAB = new Set([
  'runCells', 'runCell', 'runNotebook', 'readNotebook', 'writeNotebook', 'gradeCard', 'loadVault', 'undoGrade',
  'writeFileAtomic', 'withFileQueue', 'fileSystemIO', 'saveModel', 'loadModel', 'readMetricsLog', 'autograde',
  'assignNotebook', 'assignFiles', 'loadMnist', 'loadCifar10', 'loadDataset', 'default',
  'ProgressReporter', // holds process.stderr
]);

/**
 * The Error constructor as loaded, before lockdown replaced the global: library classes that
 * extend Error (tf's ValueError, cardlab's errors) have it as their parent. It stays unfrozen
 * (lockdown's own Error forwards `Error.stackTraceLimit` to it; TypeScript sets that), so those
 * classes are moved under lockdown's powerless Error before the student can reach them.
 */
const FERAL_ERROR = globalThis.Error;

let lockedDown = false;

/** Freezes the intrinsics once; cardlab must be loaded (and its backend started) before. */
export function lockdownRealm(): void {
  if (lockedDown) return;
  lockdown({
    errorTaming: 'unsafe', // keep stacks: errors are mapped back to the cell's lines
    stackFiltering: 'verbose',
    overrideTaming: 'severe', // libraries assign over frozen prototype properties (x.toString = …)
    consoleTaming: 'unsafe',
    domainTaming: 'unsafe',
    reporting: 'none',
  });
  lockedDown = true;
}

/** An object that only holds exports (a module's exports, a tf namespace): its getters are read. */
function isNamespace(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === null || proto === Object.prototype;
}

/**
 * Freezes a function (a class) with its prototype chain, its methods and its parent classes, so
 * that instances the tests create behave as the library wrote them. Instances are not frozen.
 */
function freezeCode(fn: Function, seen: Set<object>): void {
  for (let target: unknown = fn; typeof target === 'function' && !seen.has(target); target = Object.getPrototypeOf(target)) {
    seen.add(target);
    if (Object.getPrototypeOf(target) === FERAL_ERROR) Object.setPrototypeOf(target, Object.getPrototypeOf(RangeError));
    freezeOwnCode(target, seen);
    const proto = (target as { prototype?: unknown }).prototype;
    if (proto && typeof proto === 'object') freezePrototypeChain(proto, seen);
  }
}

function freezePrototypeChain(proto: object | null, seen: Set<object>): void {
  for (; proto && !seen.has(proto); proto = Object.getPrototypeOf(proto)) {
    seen.add(proto);
    freezeOwnCode(proto, seen);
  }
}

/** Freezes `target` and the functions among its own properties (methods, accessors, statics). */
function freezeOwnCode(target: object, seen: Set<object>): void {
  for (const key of Reflect.ownKeys(target)) {
    const d = Object.getOwnPropertyDescriptor(target, key)!;
    for (const part of [d.value, d.get, d.set]) if (typeof part === 'function') freezeCode(part, seen);
  }
  Object.freeze(target);
}

/**
 * A frozen copy of a namespace: functions and classes (frozen in place, see freezeCode), nested
 * namespaces (copied the same way) and primitives; denied names and other objects are left out.
 */
function frozenView(namespace: object, denied: Set<string>, seen: Set<object>, views: Map<object, object>): object {
  const known = views.get(namespace);
  if (known) return known;
  const view: Record<string, unknown> = Object.create(null);
  views.set(namespace, view);
  for (const key of Object.keys(namespace)) {
    if (denied.has(key)) continue;
    let value: unknown;
    try {
      value = (namespace as Record<string, unknown>)[key];
    } catch {
      continue;
    }
    if (typeof value === 'function') {
      freezeCode(value, seen);
      view[key] = value;
    } else if (value !== null && typeof value === 'object') {
      if (isNamespace(value) && !types.isProxy(value)) view[key] = frozenView(value, key === 'tf' ? DENIED_TF : new Set(), seen, views);
    } else {
      view[key] = value;
    }
  }
  return Object.freeze(view);
}

/**
 * Every class tf can build from a name (the layers, optimizers, initializers… of the serialization
 * registry): instances the tests get from tf, such as a Conv2D layer, have these prototypes.
 */
function registeredClasses(tf: Record<string, unknown>): Function[] {
  try {
    const serialization = tf.serialization as { SerializationMap: { getMap(): { classNameMap: Record<string, [Function]> } } };
    return Object.values(serialization.SerializationMap.getMap().classNameMap).map(([cls]) => cls);
  } catch {
    return [];
  }
}

/**
 * Freezes the prototype chains of everything a small model built by tf reaches (graph nodes,
 * weights, initializers…): classes tf does not export, that a student reaches through an
 * instance (`Object.getPrototypeOf(layer.inboundNodes[0])`), and that tests call into. Only
 * prototypes are frozen, never the instances (tf keeps writing its state).
 */
function freezeReachablePrototypes(tf: Record<string, any>, seen: Set<object>): void {
  const input = tf.input({ shape: [4, 4, 3] });
  let y = tf.layers.batchNormalization({}).apply(input);
  y = tf.layers.activation({ activation: 'relu' }).apply(y);
  y = tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', useBias: false }).apply(y);
  y = tf.layers.averagePooling2d({ poolSize: 2 }).apply(y);
  y = tf.layers.dense({ units: 2 }).apply(tf.layers.flatten().apply(y));
  const model = tf.model({ inputs: input, outputs: y });
  const tensor = tf.tensor([1, 2, 3]);
  const variable = tf.variable(tf.zeros([2]));
  const visited = new Set<unknown>();
  const queue: unknown[] = [model, tensor, variable];
  while (queue.length > 0 && visited.size < 50_000) {
    const value = queue.pop();
    if (value === null || (typeof value !== 'object' && typeof value !== 'function') || visited.has(value)) continue;
    if (value === globalThis || value === process || ArrayBuffer.isView(value)) continue;
    visited.add(value);
    freezePrototypeChain(Object.getPrototypeOf(value), seen);
    for (const key of Reflect.ownKeys(value)) {
      const d = Object.getOwnPropertyDescriptor(value, key);
      if (d && 'value' in d) queue.push(d.value);
    }
  }
  tensor.dispose();
  variable.dispose();
  model.dispose();
}

export interface StudentModules {
  /** Undefined when the notebook does not use cardlab (it is then not loaded). */
  cardlab: object | undefined;
  tslab: object;
}

/**
 * Freezes cardlab's and tf's code in place (the tests keep using the real modules) and returns
 * the views the student's `require` hands out. Call after lockdownRealm().
 */
export function confineLibraries(cardlab: Record<string, unknown> | undefined, tslab: Record<string, unknown>): StudentModules {
  const seen = new Set<object>();
  const views = new Map<object, object>();
  let studentCardlab: object | undefined;
  if (cardlab) {
    const tf = cardlab.tf as Record<string, unknown>;
    for (const cls of registeredClasses(tf)) freezeCode(cls, seen);
    freezeReachablePrototypes(tf, seen);
    // The full tf namespace is frozen too (the tests' `tf` is the real one): its getters stay, its code is frozen.
    frozenView(tf, new Set(), seen, new Map());
    studentCardlab = frozenView(cardlab, DENIED_CARDLAB, seen, views);
  }
  const studentTslab = Object.freeze({
    display: frozenView(tslab.display as object, new Set(), seen, views),
    newDisplay: tslab.newDisplay,
  });
  if (typeof tslab.newDisplay === 'function') freezeCode(tslab.newDisplay as Function, seen);
  return { cardlab: studentCardlab, tslab: studentTslab };
}

/** Formats a value the way console.log does, without calling the value's own inspect hooks. */
export function formatValues(values: unknown[]): string {
  return values
    .map((v) => {
      try {
        return typeof v === 'string' ? v : inspect(v, { customInspect: false, showProxy: true, getters: false });
      } catch {
        return '[unprintable]';
      }
    })
    .join(' ');
}
