/**
 * Speed benchmark (issue 2): forward and training-step time of CIFAR
 * DenseNet-BC (L=100, k=12) for a batch of 64 on 32×32×3, on every
 * TensorFlow.js backend (each in its own process, with a time limit), beside
 * the same model in PyTorch (bench/torch_densenet.py, Debian python3-torch,
 * 2 threads) in the same run, with the ratios tfjs ÷ PyTorch.
 *
 *   npm run bench                       (cardlab bench all)
 *   npx cardlab bench speed [--depth 100] [--batch 64] [--repeats 3] [--backends wasm,cpu] [--timeout 300] [--json]
 *
 * Prints the table (and, with --json, one JSON row per line instead), progress
 * on stderr; writes bench/results/speed.json, speed-figure.json (plotly spec)
 * and speed.html (standalone, plotly inlined).
 */
import * as fs from 'fs';
import * as path from 'path';
import { BACKENDS, BackendName } from '../src/tf';
import { benchSpeed, formatSpeedTable, SpeedRow } from '../src/bench/speed';
import { speedFigure } from '../src/viz/speed';
import { figureHtml } from '../src/viz/memory';

export interface SpeedReportOptions {
  depth?: number;
  growthRate?: number;
  batch?: number;
  repeats?: number;
  backends?: BackendName[];
  /** Per backend run, in seconds. */
  timeoutSeconds?: number;
  /** false: no PyTorch reference. */
  torch?: boolean;
  python?: string;
  threads?: number;
  memoryEfficient?: boolean;
  /** Print JSON rows (one per line) instead of the table. */
  json?: boolean;
  outDir?: string;
  /** Where progress lines go (default stderr). */
  log?: (line: string) => void;
  /** Where the table or JSON rows go (default stdout). */
  print?: (text: string) => void;
}

export const SPEED_DEFAULTS = {
  depth: 100,
  growthRate: 12,
  batch: 64,
  repeats: 3,
  timeoutSeconds: 300,
  python: '/usr/bin/python3',
  threads: 2,
} as const;

/** The folder holding package.json above this file (bench/ in the sources, dist/bench/ when built). */
function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

/** Options given as undefined (commander leaves absent ones so) keep the defaults. */
function withoutUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export async function runSpeedReport(options: SpeedReportOptions = {}): Promise<SpeedRow[]> {
  const root = projectRoot();
  const o = { ...SPEED_DEFAULTS, ...withoutUndefined(options) };
  const log = o.log ?? ((line: string) => console.error(line));
  const print = o.print ?? ((text: string) => console.log(text));
  const outDir = o.outDir ?? path.join(root, 'bench', 'results');

  log(`Speed: DenseNet-BC (L=${o.depth}, k=${o.growthRate}), batch ${o.batch}, 32×32×3; median of ${o.repeats} run(s) after a warm-up`);
  const { rows, notes } = await benchSpeed({
    depth: o.depth,
    growthRate: o.growthRate,
    batch: o.batch,
    repeats: o.repeats,
    backends: o.backends ?? [...BACKENDS],
    timeoutMs: o.timeoutSeconds * 1000,
    torch: o.torch === false ? false : { python: o.python, script: path.join(root, 'bench', 'torch_densenet.py'), threads: o.threads },
    memoryEfficient: o.memoryEfficient ?? true,
    log,
  });

  if (o.json) {
    for (const row of rows) print(JSON.stringify(row));
  } else {
    print(`\nDenseNet-BC (L=${o.depth}, k=${o.growthRate}), batch ${o.batch}, 32×32×3 — median of ${o.repeats} run(s) after a warm-up; ÷ PyTorch = time ÷ PyTorch's time`);
    print(formatSpeedTable(rows));
    if (notes.length) print(`\n${notes.map((n) => `note: ${n}`).join('\n')}`);
  }

  fs.mkdirSync(outDir, { recursive: true });
  const figure = speedFigure(rows);
  const settings = { depth: o.depth, growthRate: o.growthRate, batch: o.batch, repeats: o.repeats, timeoutSeconds: o.timeoutSeconds };
  fs.writeFileSync(path.join(outDir, 'speed.json'), JSON.stringify({ date: new Date().toISOString(), settings, rows, notes }, null, 2));
  fs.writeFileSync(path.join(outDir, 'speed-figure.json'), JSON.stringify(figure));
  const plotly = fs.readFileSync(require.resolve('plotly.js-dist-min'), 'utf8');
  fs.writeFileSync(path.join(outDir, 'speed.html'), figureHtml(figure, plotly, 'DenseNet-BC speed benchmark'));
  log(`wrote ${path.join(outDir, 'speed.html')} (and speed.json, speed-figure.json)`);
  return rows;
}

if (require.main === module) {
  // `node dist/bench/speed.js [options]` is `cardlab bench speed [options]`.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { main } = require('../src/cli') as typeof import('../src/cli');
  main([process.argv[0], 'cardlab', 'bench', 'speed', ...process.argv.slice(2)]).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
