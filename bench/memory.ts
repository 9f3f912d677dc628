/**
 * Memory-efficient DenseNet benchmark (issue 3): one training step of CIFAR
 * DenseNet-BC (k=12, 32×32×3), naive against memory-efficient, each in its own
 * process (bench/memory-worker.ts), so that a run which exhausts the wasm
 * backend's 4 GB heap (it aborts the whole wasm module) becomes a reported
 * result, "aborted: out of memory", and the heap and RSS figures of one run do
 * not carry over to the next. The figures behind `cardlab bench memory` and
 * the report `runMemoryReport` (`cardlab bench all`).
 */
import { fork } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { BackendName } from '../src/tf';
import type { StepMeasurement, StepSpec } from '../src/train/measure';
import { figureHtml, memoryFigure, type MemoryRow } from '../src/viz/memory';

export type { MemoryRow };

/** What a measurement that could not finish reports instead of figures. */
export const OUT_OF_MEMORY = 'aborted: out of memory';

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

export interface MemoryReportOptions {
  depths?: number[];
  batch?: number;
  /** The batch-64 check at L=100 (slow: minutes). */
  bigBatch?: boolean;
  outDir?: string;
}

const DEFAULT_DEPTHS = [40, 70, 100, 130, 190];
/** dist/bench/memory.js → the project root. */
const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

export async function runMemoryReport(options: MemoryReportOptions): Promise<MemoryRow[]> {
  const depths = options.depths ?? DEFAULT_DEPTHS;
  const batch = options.batch ?? 8;
  const outDir = options.outDir ?? path.join(PROJECT_ROOT, 'bench', 'results');
  const progressAt = (b: number) => (depth: number, variant: string, r: ChildResult) =>
    console.error(`  L=${depth} batch ${b} ${variant}: ${r.ok ? `${(r.result.peakBytes / 2 ** 20).toFixed(0)} MB, ${r.result.ms.toFixed(0)} ms` : r.error}`);

  console.log(`Memory-efficient DenseNet-BC (k=12): one training step, batch ${batch}, 32×32×3`);
  const rows = await benchMemory(depths, { batch, onProgress: progressAt(batch) });
  console.log(formatMemoryTable(rows));

  const measured = rows.filter((r) => r.efficientPeakBytes !== null);
  let fit: ReturnType<typeof linearFit> | undefined;
  if (measured.length >= 2) {
    fit = linearFit(
      measured.map((r) => r.depth),
      measured.map((r) => r.efficientPeakBytes!),
    );
    console.log(
      `\nefficient peak ≈ ${(fit.slope / 2 ** 20).toFixed(2)} MB per layer of depth · L + ${(fit.intercept / 2 ** 20).toFixed(0)} MB  (R² = ${fit.r2.toFixed(4)})`,
    );
  }
  const both = rows.filter((r) => r.naivePeakBytes !== null && r.efficientPeakBytes !== null);
  if (both.length) console.log(`efficient/naive peak: ${both.map((r) => `L=${r.depth} ${pct(r.efficientPeakBytes! / r.naivePeakBytes!)}`).join(', ')}`);
  const timed = rows.filter((r) => r.naiveMs !== null && r.efficientMs !== null);
  if (timed.length) console.log(`time overhead: ${timed.map((r) => `L=${r.depth} ${pct(r.efficientMs! / r.naiveMs! - 1)}`).join(', ')}`);
  const at100 = rows.find((r) => r.depth === 100);
  if (at100?.naivePeakBytes && at100.efficientPeakBytes && at100.naiveMs && at100.efficientMs) {
    const ratio = at100.efficientPeakBytes / at100.naivePeakBytes;
    const overhead = at100.efficientMs / at100.naiveMs - 1;
    console.log(`targets at L=100: peak ${pct(ratio)} of naive (≤ 35%: ${ratio <= 0.35 ? 'met' : 'NOT met'}), time overhead ${pct(overhead)} (≤ 30%: ${overhead <= 0.3 ? 'met' : 'NOT met'})`);
  }
  const aborted = rows.filter((r) => r.naiveError).map((r) => `L=${r.depth}: ${r.naiveError}`);
  if (aborted.length) console.log(`naive: ${aborted.join('; ')}`);

  let bigBatch: MemoryRow[] = [];
  if (options.bigBatch ?? true) {
    console.log('\nL=100 at batch 64 (wasm, 4 GB heap):');
    bigBatch = await benchMemory([100], { batch: 64, backend: 'wasm', timedSteps: 1, onProgress: progressAt(64) });
    console.log(formatMemoryTable(bigBatch));
  }

  fs.mkdirSync(outDir, { recursive: true });
  const figure = memoryFigure(rows, fit);
  fs.writeFileSync(path.join(outDir, 'memory.json'), JSON.stringify({ rows, fit, bigBatch }, null, 2));
  fs.writeFileSync(path.join(outDir, 'memory-figure.json'), JSON.stringify(figure));
  const plotly = fs.readFileSync(require.resolve('plotly.js-dist-min'), 'utf8');
  fs.writeFileSync(path.join(outDir, 'memory.html'), figureHtml(figure, plotly, 'DenseNet-BC memory benchmark'));
  console.log(`\nwrote ${path.relative(process.cwd(), path.join(outDir, 'memory.html'))} (and memory.json, memory-figure.json)`);
  return rows;
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (require.main === module) {
  const depths = argValue('--depths')?.split(',').map(Number);
  const batch = argValue('--batch') ? Number(argValue('--batch')) : undefined;
  runMemoryReport({ depths, batch, bigBatch: !process.argv.includes('--no-big-batch') }).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
