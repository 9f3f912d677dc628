/**
 * `cardlab bench speed`: forward and training-step time of DenseNet-BC on every
 * TensorFlow.js backend beside PyTorch (the report is bench/speed.ts).
 */
import { Command, InvalidArgumentError } from 'commander';
import { BACKENDS, BackendName } from '../tf';
import { cifarBlockLayers } from '../densenet';
import type { SpeedReportOptions } from '../../bench/speed';
import { DEFAULT_REPLICAS } from '../parallel';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

function bcDepth(value: string): number {
  const n = Number(value);
  try {
    cifarBlockLayers(n, true);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
  return n;
}

function backendList(value: string): BackendName[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  const wrong = names.filter((n) => !(BACKENDS as readonly string[]).includes(n));
  if (names.length === 0 || wrong.length > 0) {
    throw new InvalidArgumentError(`${wrong.length ? `unknown backend ${wrong.map((w) => `"${w}"`).join(', ')}: ` : ''}use a comma-separated list of ${BACKENDS.join(', ')}`);
  }
  return [...new Set(names)] as BackendName[];
}

interface SpeedCliOptions {
  depth: number;
  growth: number;
  batch: number;
  repeats: number;
  backends: BackendName[];
  timeout: number;
  torch: boolean;
  python: string;
  threads: number;
  memoryEfficient: boolean;
  replicas: number;
  json?: boolean;
  out?: string;
}

/** The report's options from the command line's. */
export function speedReportOptions(opts: SpeedCliOptions): SpeedReportOptions {
  return {
    depth: opts.depth,
    growthRate: opts.growth,
    batch: opts.batch,
    repeats: opts.repeats,
    backends: opts.backends,
    timeoutSeconds: opts.timeout,
    torch: opts.torch,
    python: opts.python,
    threads: opts.threads,
    memoryEfficient: opts.memoryEfficient,
    replicas: opts.replicas,
    json: opts.json,
    outDir: opts.out,
  };
}

export function registerSpeedCommand(bench: Command): void {
  bench
    .command('speed')
    .description(
      'forward and training-step time of CIFAR DenseNet-BC on every TensorFlow.js backend (one process each) beside PyTorch; ' +
        'prints the ratios, writes bench/results/speed.{json,html}',
    )
    .option('--depth <L>', 'DenseNet-BC depth L = 6n + 4', bcDepth, 100)
    .option('--growth <k>', 'growth rate', positiveInt, 12)
    .option('--batch <n>', 'batch size', positiveInt, 64)
    .option('--repeats <n>', 'timed runs after one warm-up (median reported)', positiveInt, 3)
    .option('--backends <list>', 'comma-separated backends; those that do not load are reported', backendList, [...BACKENDS])
    .option('--timeout <seconds>', 'time limit of each backend run (and of PyTorch)', positiveInt, 300)
    .option('--no-torch', 'skip the PyTorch reference (bench/torch_densenet.py)')
    .option('--python <path>', 'python with PyTorch (Debian python3-torch)', '/usr/bin/python3')
    .option('--threads <n>', 'PyTorch threads', positiveInt, 2)
    .option('--no-memory-efficient', 'skip the memory-efficient DenseNet training-step rows')
    .option('--replicas <n>', 'wasm: also time the memory-efficient step data-parallel over n replicas (one thread each; 1 = no such row)', positiveInt, DEFAULT_REPLICAS)
    .option('--json', 'print one JSON row per line instead of the table')
    .option('--out <dir>', 'where to write speed.json, speed-figure.json, speed.html (default bench/results)')
    .action(async (opts: SpeedCliOptions) => {
      // Lazy: the report lives in bench/ with the other benchmark scripts.
      const { runSpeedReport } = await import('../../bench/speed');
      await runSpeedReport(speedReportOptions(opts));
    });
}
