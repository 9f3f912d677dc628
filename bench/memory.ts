/**
 * Memory-efficient DenseNet benchmark (issue 3): one training step of CIFAR
 * DenseNet-BC (k=12, 32×32×3) at L = 40, 70, 100, 130, 190, naive against
 * memory-efficient, each in its own process.
 *
 *   npm run bench                       (cardlab bench all)
 *   npm run build && node dist/bench/memory.js [--batch 8] [--depths 40,70,100,130,190] [--no-big-batch]
 *
 * Prints the table, the linear fit of the efficient peak against depth (slope,
 * R²), the memory ratios and time overheads against the targets (efficient peak
 * at L=100 ≤ 35 % of naive, time overhead ≤ 30 %), then checks that L=100 at
 * batch 64 trains with the efficient model where the naive one exhausts the
 * wasm heap. Writes bench/results/memory.json, memory-figure.json (plotly spec)
 * and memory.html.
 */
import * as fs from 'fs';
import * as path from 'path';
import { benchMemory, ChildResult, formatMemoryTable, linearFit, MemoryRow } from '../src/bench/memory';
import { figureHtml, memoryFigure } from '../src/viz/memory';

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
