/**
 * Memory and time of one training step of CIFAR DenseNet-BC (k=12, 32×32×3),
 * naive against memory-efficient: the figures behind `cardlab bench memory`
 * and bench/memory.ts.
 *
 * Peak memory is tf.profile's peakBytes: the largest total size of live
 * tensors after any kernel of the step (weights, optimizer slots and data
 * included), on any backend. Each measurement runs in its own child process,
 * so that a run which exhausts the wasm backend's 4 GB heap (it aborts the
 * whole wasm module) becomes a reported result, "aborted: out of memory", and
 * the heap and RSS figures of one run do not carry over to the next.
 */
import { fork } from 'child_process';
import * as path from 'path';
import { BackendName, initBackend, tf } from '../tf';
import { buildDenseNet, cifarConfig, paperDepth } from '../densenet';
import { makeOptimizer, PAPER_WEIGHT_DECAY, trainStep } from '../train';

export interface StepSpec {
  /** Paper depth L of the CIFAR DenseNet-BC. */
  depth: number;
  batch: number;
  memoryEfficient: boolean;
  growthRate?: number;
  backend?: BackendName;
  /** Steps timed after the profiled (warm-up) one; the median is reported. */
  timedSteps?: number;
  seed?: number;
}

export interface StepMeasurement {
  backend: string;
  /** tf.profile peakBytes of the first training step. */
  peakBytes: number;
  /** Median wall time of the timed steps. */
  ms: number;
  loss: number;
  /** Size of the wasm heap after the steps (it only grows), when the backend is wasm. */
  wasmHeapBytes: number | null;
  /** Peak resident set size of the measuring process. */
  maxRssBytes: number;
}

/** What a measurement that could not finish reports instead of figures. */
export const OUT_OF_MEMORY = 'aborted: out of memory';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** One profiled training step then `timedSteps` timed ones, in this process. */
export async function measureTrainingStep(spec: StepSpec): Promise<StepMeasurement> {
  const backend = await initBackend(spec.backend);
  const { depth, batch, memoryEfficient, growthRate = 12, timedSteps = 2, seed = 1 } = spec;
  const config = cifarConfig({ depth, growthRate, bottleneck: true, compression: 0.5, memoryEfficient });
  if (paperDepth(config) !== depth) throw new Error(`no CIFAR DenseNet-BC has depth ${depth} (L = 6n + 4)`);
  const model = buildDenseNet(config, { seed });
  const x = tf.randomNormal([batch, ...config.inputShape], 0, 1, 'float32', seed);
  const y = tf.tidy(() => tf.oneHot(tf.randomUniform([batch], 0, config.classes, 'int32', seed) as tf.Tensor1D, config.classes));
  const optimizer = makeOptimizer('sgd', 0.1);
  const step = () => trainStep(model, x, y, { optimizer, weightDecay: PAPER_WEIGHT_DECAY });
  try {
    let loss = NaN;
    const profile = await tf.profile(async () => {
      loss = (await step()).loss;
    });
    const times: number[] = [];
    for (let i = 0; i < timedSteps; i++) {
      const start = performance.now();
      loss = (await step()).loss;
      times.push(performance.now() - start);
    }
    const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm;
    return {
      backend,
      peakBytes: profile.peakBytes,
      ms: times.length > 0 ? median(times) : NaN,
      loss,
      wasmHeapBytes: backend === 'wasm' && wasm?.HEAPU8 ? wasm.HEAPU8.byteLength : null,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
    };
  } finally {
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  }
}

export type ChildResult = { ok: true; result: StepMeasurement } | { ok: false; error: string };

/** Whether a failure message is the backend running out of memory (wasm aborts; JS heap; allocation). */
export function isOutOfMemory(message: string): boolean {
  return /Aborted\(|out of memory|Cannot enlarge memory|allocation failed|Array buffer allocation|RangeError: Invalid typed array length/i.test(message);
}

/** Runs `measureTrainingStep` in a fresh node process; an abort or a crash becomes `{ ok: false }`. */
export function measureInChildProcess(spec: StepSpec, timeoutMs = 30 * 60_000): Promise<ChildResult> {
  return new Promise((resolve) => {
    const worker = path.join(__dirname, 'memory-worker.js');
    const child = fork(worker, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    let settled: ChildResult | undefined;
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-65536);
    });
    const timer = setTimeout(() => {
      settled = { ok: false, error: `aborted: took longer than ${Math.round(timeoutMs / 1000)} s` };
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('message', (message: ChildResult) => {
      settled = message;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (settled?.ok) return resolve(settled);
      // A wasm abort prints "Aborted()" and may surface as a later, unrelated error (e.g. a TypeError
      // from tfjs cleaning up), or kill the process; SIGKILL is also the kernel's OOM killer.
      const failure = `${settled?.error ?? ''}\n${stderr}`;
      if (isOutOfMemory(failure) || (!settled && signal === 'SIGKILL')) return resolve({ ok: false, error: OUT_OF_MEMORY });
      if (settled) return resolve(settled);
      resolve({ ok: false, error: `measurement process exited (${signal ?? `code ${code}`}): ${stderr.trim().split('\n').slice(-3).join(' | ')}` });
    });
    child.send(spec);
  });
}

/** One row of `cardlab bench memory`: null figures with an `…Error` when that variant could not run. */
export interface MemoryRow {
  depth: number;
  batch: number;
  backend: string | null;
  naivePeakBytes: number | null;
  efficientPeakBytes: number | null;
  naiveMs: number | null;
  efficientMs: number | null;
  naiveWasmHeapBytes: number | null;
  efficientWasmHeapBytes: number | null;
  naiveMaxRssBytes: number | null;
  efficientMaxRssBytes: number | null;
  naiveError?: string;
  efficientError?: string;
}

export interface MemoryBenchOptions {
  batch: number;
  growthRate?: number;
  backend?: BackendName;
  timedSteps?: number;
  timeoutMs?: number;
  /** Called after each variant, e.g. to print progress. */
  onProgress?: (depth: number, variant: 'naive' | 'efficient', result: ChildResult) => void;
}

export async function benchMemory(depths: number[], options: MemoryBenchOptions): Promise<MemoryRow[]> {
  const rows: MemoryRow[] = [];
  for (const depth of depths) {
    const run = async (memoryEfficient: boolean) => {
      const result = await measureInChildProcess(
        { depth, batch: options.batch, memoryEfficient, growthRate: options.growthRate, backend: options.backend, timedSteps: options.timedSteps },
        options.timeoutMs,
      );
      options.onProgress?.(depth, memoryEfficient ? 'efficient' : 'naive', result);
      return result;
    };
    const efficient = await run(true);
    const naive = await run(false);
    const figures = (r: ChildResult) => (r.ok ? r.result : undefined);
    const n = figures(naive);
    const e = figures(efficient);
    rows.push({
      depth,
      batch: options.batch,
      backend: e?.backend ?? n?.backend ?? null,
      naivePeakBytes: n?.peakBytes ?? null,
      efficientPeakBytes: e?.peakBytes ?? null,
      naiveMs: n?.ms ?? null,
      efficientMs: e?.ms ?? null,
      naiveWasmHeapBytes: n?.wasmHeapBytes ?? null,
      efficientWasmHeapBytes: e?.wasmHeapBytes ?? null,
      naiveMaxRssBytes: n?.maxRssBytes ?? null,
      efficientMaxRssBytes: e?.maxRssBytes ?? null,
      ...(naive.ok ? {} : { naiveError: naive.error }),
      ...(efficient.ok ? {} : { efficientError: efficient.error }),
    });
  }
  return rows;
}

/** Least-squares line y = slope·x + intercept, with R². */
export function linearFit(xs: number[], ys: number[]): { slope: number; intercept: number; r2: number } {
  if (xs.length !== ys.length || xs.length < 2) throw new Error('a linear fit needs at least two points');
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const r2 = syy === 0 ? 1 : (sxy * sxy) / (sxx * syy);
  return { slope, intercept, r2 };
}

const mib = (v: number | null) => (v === null ? '—' : `${(v / 2 ** 20).toFixed(0)} MB`);
const sec = (v: number | null) => (v === null ? '—' : `${(v / 1000).toFixed(2)} s`);

/** The rows as a text table: peak tensor memory, its ratio, step time, its overhead, process memory. */
export function formatMemoryTable(rows: MemoryRow[]): string {
  const header = ['L', 'batch', 'naive peak', 'efficient peak', 'eff/naive', 'naive step', 'efficient step', 'time overhead', 'naive heap/RSS', 'efficient heap/RSS'];
  // The process view: wasm heap size (it only grows) or, on other backends, peak RSS.
  const heap = (wasm: number | null, rss: number | null) => (wasm ?? rss) === null ? '—' : `${mib(wasm ?? rss)}${wasm === null ? ' RSS' : ''}`;
  const lines = rows.map((r) => [
    String(r.depth),
    String(r.batch),
    r.naiveError ?? mib(r.naivePeakBytes),
    r.efficientError ?? mib(r.efficientPeakBytes),
    r.naivePeakBytes && r.efficientPeakBytes ? `${((100 * r.efficientPeakBytes) / r.naivePeakBytes).toFixed(1)}%` : '—',
    r.naiveError ? '—' : sec(r.naiveMs),
    r.efficientError ? '—' : sec(r.efficientMs),
    r.naiveMs && r.efficientMs ? `${((100 * (r.efficientMs - r.naiveMs)) / r.naiveMs).toFixed(0)}%` : '—',
    heap(r.naiveWasmHeapBytes, r.naiveMaxRssBytes),
    heap(r.efficientWasmHeapBytes, r.efficientMaxRssBytes),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  return [header, ...lines].map((cells) => cells.map((c, i) => c.padStart(widths[i])).join('  ')).join('\n');
}
