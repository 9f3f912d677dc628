/**
 * `cardlab bench …`: benchmarks that print figures. Each benchmark is a
 * subcommand of the `bench` group; `bench all` runs the full reports.
 */
import { Command, InvalidArgumentError } from 'commander';
import { BACKENDS, BackendName } from '../tf';
import { registerSpeedCommand } from './bench-speed';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

function depthList(value: string): number[] {
  const depths = value.split(',').map((s) => s.trim());
  return depths.map((d) => {
    const n = Number(d);
    // CIFAR DenseNet-BC: three blocks of n bottleneck layers, L = 6n + 4.
    if (!Number.isInteger(n) || n < 10 || (n - 4) % 6 !== 0) {
      throw new InvalidArgumentError(`"${d}" is not a CIFAR DenseNet-BC depth (L = 6n + 4, e.g. 40, 100, 190)`);
    }
    return n;
  });
}

function backendName(value: string): BackendName {
  if (!(BACKENDS as readonly string[]).includes(value)) throw new InvalidArgumentError(`backend must be one of ${BACKENDS.join(', ')}`);
  return value as BackendName;
}

export function registerBenchCommands(program: Command): void {
  const bench = program.command('bench').description('benchmarks that print figures');

  bench
    .command('memory')
    .description('peak tensor memory and time of one training step of CIFAR DenseNet-BC (k=12), naive vs memory-efficient')
    .option('--depths <list>', 'comma-separated depths L = 6n + 4', depthList, [40, 100])
    .option('--batch <n>', 'batch size', positiveInt, 8)
    .option('--growth <k>', 'growth rate', positiveInt, 12)
    .option('--backend <name>', `force a backend (${BACKENDS.join(', ')}); default: the best that loads`, backendName)
    .option('--steps <n>', 'timed steps after the profiled one (median reported)', positiveInt, 2)
    .option('--json', 'print one JSON object per depth')
    .action(async (opts: { depths: number[]; batch: number; growth: number; backend?: BackendName; steps: number; json?: boolean }) => {
      // Lazy: benchmarks live in bench/, loaded only when one runs.
      const { benchMemory, formatMemoryTable } = await import('../../bench/memory');
      const rows = await benchMemory(opts.depths, {
        batch: opts.batch,
        growthRate: opts.growth,
        backend: opts.backend,
        timedSteps: opts.steps,
        onProgress: opts.json
          ? undefined
          : (depth, variant, r) => console.error(`L=${depth} ${variant}: ${r.ok ? `${(r.result.peakBytes / 2 ** 20).toFixed(0)} MB, ${r.result.ms.toFixed(0)} ms` : r.error}`),
      });
      if (opts.json) {
        for (const row of rows) console.log(JSON.stringify(row));
      } else {
        console.log(formatMemoryTable(rows));
      }
    });

  registerSpeedCommand(bench);

  bench
    .command('demo-latency')
    .description('live demos through the HTTP API: request to end of stream, cold vs warm pool (median/min/max)')
    .option('--runs <n>', 'runs of each kind per cell', positiveInt, 5)
    .option('--json', 'print the report as one JSON object')
    .action(async (opts: { runs: number; json?: boolean }) => {
      const { runDemoLatencyReport } = await import('../../bench/demo-latency');
      await runDemoLatencyReport({ runs: opts.runs, json: opts.json });
    });

  bench
    .command('cards-grade')
    .description('grades/s on one big deck file: the old three-parse path, gradeCard in process, and the server (POST /api/review)')
    .option('--cards <n>', 'cards in the deck file', positiveInt, 10_000)
    .option('--grades <n>', 'grades per path (the old path does at most 10)', positiveInt, 200)
    .option('--json', 'print one JSON object per path')
    .action(async (opts: { cards: number; grades: number; json?: boolean }) => {
      // Lazy: the report lives in bench/ with the other benchmark scripts.
      const { runCardsGradeReport } = await import('../../bench/cards-grade');
      await runCardsGradeReport({ cards: opts.cards, grades: opts.grades, json: opts.json });
      const { settleFileChecks } = await import('../cards/deck-file');
      await settleFileChecks();
    });

  bench
    .command('autograde')
    .description('time of one autograde with the submission confined, side by side with the same cells run unconfined')
    .option('--reps <n>', 'runs of each (median reported)', positiveInt, 3)
    .option('--json', 'print one JSON object')
    .action(async (opts: { reps: number; json?: boolean }) => {
      const { runAutogradeReport } = await import('../../bench/autograde');
      await runAutogradeReport(opts);
    });

  bench
    .command('all')
    .description('run every benchmark report (speed: L=100 batch 64 on each backend and PyTorch; memory: L = 40…190; charts under bench/results/)')
    .action(async () => {
      // Lazy: the reports live in bench/ with the other benchmark scripts.
      const { runSpeedReport } = await import('../../bench/speed');
      await runSpeedReport({});
      console.log('');
      const { runMemoryReport } = await import('../../bench/memory');
      await runMemoryReport({});
    });
}
