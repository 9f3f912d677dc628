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
import { formatRatio, speedFigure, type KernelProfile, type SpeedRow, type Variant } from '../src/viz/speed';
import { figureHtml } from '../src/viz/memory';
import { benchConfig, ChildOutcome, measureInChild, memoryEfficientAvailability, Phase, PHASE_NAMES } from './speed-measure';
import { DEFAULT_REPLICAS } from '../src/parallel';
import { runTorch, torchWaitPolicies, type TorchOutcome } from './torch';

export type { SpeedRow };
export { formatRatio };

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
  /** wasm: replicas of the data-parallel row (1: no such row). */
  replicas?: number;
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
  replicas: DEFAULT_REPLICAS,
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
    replicas: o.replicas,
    log,
  });

  if (o.json) {
    for (const row of rows) print(JSON.stringify(row));
  } else {
    print(`\nDenseNet-BC (L=${o.depth}, k=${o.growthRate}), batch ${o.batch}, 32×32×3 — median of ${o.repeats} run(s) after a warm-up; ÷ PyTorch = time ÷ PyTorch's time (PyTorch: the faster of its runs with OpenMP threads waiting passively and spinning)`);
    print(formatSpeedTable(rows));
    const profiles = formatProfiles(rows);
    if (profiles) print(`\n${profiles}`);
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

export interface SpeedBenchOptions {
  depth: number;
  growthRate: number;
  batch: number;
  repeats: number;
  /** Default: every backend tf.ts knows; those that do not load get a row saying why. */
  backends: BackendName[];
  timeoutMs: number;
  /** PyTorch reference; false to skip it. */
  torch: false | { python: string; script: string; threads: number };
  /** Add a training-step row for the memory-efficient DenseNet when it exists. */
  memoryEfficient: boolean;
  /** wasm: add a row for the memory-efficient step data-parallel over this many replicas (0 or 1: none). */
  replicas?: number;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
  /** Seconds between "still running" lines during a long phase (0 = none). */
  heartbeatSeconds?: number;
  worker?: string;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Runs PyTorch (if asked) then each backend (naive, then memory-efficient), one process each, in sequence. */
export async function benchSpeed(options: SpeedBenchOptions): Promise<{ rows: SpeedRow[]; notes: string[] }> {
  const log = options.log ?? (() => {});
  const base = { depth: options.depth, growthRate: options.growthRate, batch: options.batch, repeats: options.repeats };
  benchConfig(options.depth, options.growthRate, false); // a wrong depth fails here, before any process starts
  const rows: SpeedRow[] = [];
  const notes: string[] = [];

  // A heartbeat so that a long phase (minutes on the cpu backend) visibly keeps working:
  // a line when nothing was printed for `heartbeatSeconds`.
  const every = (options.heartbeatSeconds ?? 30) * 1000;
  let activity = '';
  let since = Date.now();
  let lastLine = Date.now();
  const say = (line: string) => {
    lastLine = Date.now();
    log(line);
  };
  const setActivity = (label: string) => {
    activity = label;
    since = Date.now();
  };
  const heartbeat =
    every > 0
      ? setInterval(() => {
          if (activity && Date.now() - lastLine >= every) say(`  … ${activity}: still running (${seconds(Date.now() - since)})`);
        }, Math.min(every, 5000))
      : undefined;
  heartbeat?.unref();

  try {
    if (options.torch) {
      const t = options.torch;
      const policies = torchWaitPolicies();
      const results: { policy: string; outcome: TorchOutcome }[] = [];
      for (const policy of policies) {
        say(`[pytorch] forward and training step, ${t.threads} threads, OMP_WAIT_POLICY=${policy}, ${options.repeats} repeat(s) after a warm-up (${t.python} ${path.basename(t.script)})`);
        setActivity(`[pytorch ${policy}] running`);
        const started = Date.now();
        const r = await runTorch({ ...base, python: t.python, script: t.script, threads: t.threads, timeoutMs: options.timeoutMs, waitPolicy: policy });
        setActivity('');
        say(r.ok ? `[pytorch ${policy}] forward ${formatDurationMs(r.forwardMs)}, training step ${formatDurationMs(r.trainStepMs)} (${seconds(Date.now() - started)} in all)` : `[pytorch ${policy}] ${r.error}`);
        results.push({ policy, outcome: r });
        if (!r.ok) break; // a missing torch fails the same way under every policy
      }
      const row = torchRow(results, base, t.threads);
      if (policies.length > 1 && row.waitPolicy) say(`[pytorch] reference: the faster of each, forward ${row.waitPolicy.forward}, training step ${row.waitPolicy.trainStep}`);
      rows.push(row);
      if (row.error) notes.push(`PyTorch: ${row.error}; the TensorFlow.js figures below have no ratios.`);
    }

    const efficient = options.memoryEfficient ? memoryEfficientAvailability() : { ok: false as const, reason: '' };
    if (options.memoryEfficient && !efficient.ok) notes.push(`memory-efficient DenseNet: not measured (${efficient.reason})`);

    // Each replica needs a row of the batch.
    const replicas = Math.min(options.replicas ?? 0, options.batch);
    for (const backend of options.backends) {
      const variants: Variant[] = efficient.ok ? ['naive', 'memory-efficient'] : ['naive'];
      if (efficient.ok && backend === 'wasm' && replicas > 1) variants.push('data-parallel');
      // A backend whose naive forward pass did not finish in time will not finish a training step
      // either; one whose naive training step timed out may still (wasm: the naive step thrashes
      // near its 4 GB, the memory-efficient one is the variant that fits).
      let forwardTimedOut = false;
      for (const variant of variants) {
        const phases: Phase[] = variant === 'naive' ? ['forward', 'trainStep'] : ['trainStep'];
        const tag = `[${backend}${variant === 'naive' ? '' : ` ${variant}`}]`;
        if (variant !== 'naive' && forwardTimedOut) {
          rows.push(tfjsRow(backend, variant, base, null, { trainStepError: 'skipped: the naive forward pass timed out' }));
          say(`${tag} skipped: the naive forward pass timed out`);
          continue;
        }
        say(`${tag} starting (time limit ${Math.round(options.timeoutMs / 1000)} s)`);
        setActivity(`${tag} loading`);
        const outcome = await measureInChild(
          {
            backend,
            depth: options.depth,
            growthRate: options.growthRate,
            batch: options.batch,
            repeats: options.repeats,
            phases,
            memoryEfficient: variant !== 'naive',
            ...(variant === 'data-parallel' ? { replicas } : {}),
          },
          {
            timeoutMs: options.timeoutMs,
            worker: options.worker,
            onMessage: (m) => {
              if (m.type === 'loaded') {
                const threads = m.threads ? ` (${m.replicas ? `${m.replicas} replicas × ` : ''}${m.threads} thread${m.threads === 1 ? '' : 's'})` : '';
                say(`${tag} ${m.backend}${threads} loaded, ${m.trainableParams.toLocaleString('en-US')} trainable parameters`);
                setActivity(`${tag} ${PHASE_NAMES[phases[0]]} warm-up`);
              } else if (m.type === 'progress') {
                const label = m.run === 0 ? 'warm-up' : `run ${m.run}/${m.of}`;
                say(`${tag} ${PHASE_NAMES[m.phase]} ${label}: ${formatDurationMs(m.ms)}`);
                const next = m.run < m.of ? `${PHASE_NAMES[m.phase]} run ${m.run + 1}/${m.of}` : undefined;
                if (next) setActivity(`${tag} ${next}`);
              } else if (m.type === 'result') {
                const following = phases[phases.indexOf(m.phase) + 1];
                setActivity(following ? `${tag} ${PHASE_NAMES[following]} warm-up` : '');
              }
            },
          },
        );
        setActivity('');
        if (outcome.unavailable) {
          say(`${tag} not available: ${outcome.unavailable}`);
          notes.push(`${backend}: not available (${outcome.unavailable})`);
          rows.push(tfjsRow(backend, variant, base, outcome, { error: `not available: ${outcome.unavailable}` }));
          break; // the memory-efficient variant would not load either
        }
        for (const p of phases) if (outcome.errors[p]) say(`${tag} ${PHASE_NAMES[p]}: ${outcome.errors[p]}`);
        for (const p of phases) {
          const runs = outcome.runsMs[p] ?? [];
          if (outcome.ms[p] !== undefined && runs.length < options.repeats) {
            notes.push(`${backend} ${variant} ${PHASE_NAMES[p]}: the time limit (${Math.round(options.timeoutMs / 1000)} s) cut it short; the figure is the median of ${runs.length} of ${options.repeats} runs`);
          }
          const detail = outcome.details[p];
          if (detail) notes.push(`${backend} ${variant} ${PHASE_NAMES[p]}: ${detail.length > 400 ? `${detail.slice(0, 397)}...` : detail}`);
        }
        forwardTimedOut = variant === 'naive' && outcome.timedOut && outcome.ms.forward === undefined;
        const row = tfjsRow(backend, variant, base, outcome, {
          ...(outcome.errors.forward ? { forwardError: outcome.errors.forward } : {}),
          ...(outcome.errors.trainStep ? { trainStepError: outcome.errors.trainStep } : {}),
        });
        rows.push(row);
      }
    }
  } finally {
    if (heartbeat) clearInterval(heartbeat);
  }
  return { rows: withRatios(rows), notes };
}

/**
 * PyTorch's row from its runs under each OpenMP wait policy: per phase the faster median (and that
 * run's times), so the ratios compare against PyTorch at its best on this machine, whatever its load.
 */
export function torchRow(results: { policy: string; outcome: TorchOutcome }[], base: { depth: number; growthRate: number; batch: number; repeats: number }, threads: number): SpeedRow {
  const ok = results.flatMap(({ policy, outcome }) => (outcome.ok ? [{ policy, ...outcome }] : []));
  const failed = results.find((r) => !r.outcome.ok)?.outcome as { error: string } | undefined;
  const empty = { forwardRatio: null, trainStepRatio: null };
  if (ok.length === 0) {
    return { framework: 'pytorch', backend: 'cpu', variant: 'naive', version: null, ...base, threads, trainableParams: null, forwardMs: null, trainStepMs: null, forwardRunsMs: [], trainStepRunsMs: [], ...empty, error: failed?.error ?? 'did not run' };
  }
  const fastest = (key: 'forwardMs' | 'trainStepMs') => ok.reduce((best, r) => (r[key] < best[key] ? r : best));
  const forward = fastest('forwardMs');
  const step = fastest('trainStepMs');
  return {
    framework: 'pytorch',
    backend: 'cpu',
    variant: 'naive',
    version: forward.torchVersion,
    ...base,
    threads: forward.threads,
    trainableParams: forward.trainableParams,
    forwardMs: forward.forwardMs,
    trainStepMs: step.trainStepMs,
    forwardRunsMs: forward.forwardRunsMs,
    trainStepRunsMs: step.trainStepRunsMs,
    ...empty,
    waitPolicy: { forward: forward.policy, trainStep: step.policy },
    byWaitPolicy: Object.fromEntries(ok.map((r) => [r.policy, { forwardMs: r.forwardMs, trainStepMs: r.trainStepMs }])),
  };
}

/**
 * The rows with forwardRatio and trainStepRatio set to time ÷ PyTorch's time
 * (PyTorch's own row gets 1); null where either time is missing.
 */
export function withRatios(rows: SpeedRow[]): SpeedRow[] {
  const torch = rows.find((r) => r.framework === 'pytorch');
  const ratio = (ms: number | null, ref: number | null | undefined) => (ms !== null && ref ? ms / ref : null);
  return rows.map((r) => ({ ...r, forwardRatio: ratio(r.forwardMs, torch?.forwardMs), trainStepRatio: ratio(r.trainStepMs, torch?.trainStepMs) }));
}

function tfjsRow(
  backend: BackendName,
  variant: Variant,
  base: { depth: number; growthRate: number; batch: number; repeats: number },
  outcome: ChildOutcome | null,
  errors: Pick<SpeedRow, 'error' | 'forwardError' | 'trainStepError'>,
): SpeedRow {
  return {
    framework: 'tfjs',
    backend,
    variant,
    version: outcome?.tfjsVersion ?? null,
    ...base,
    threads: outcome?.threads ?? null,
    ...(outcome?.replicas ? { replicas: outcome.replicas } : {}),
    trainableParams: outcome?.trainableParams ?? null,
    forwardMs: outcome?.ms.forward ?? null,
    trainStepMs: outcome?.ms.trainStep ?? null,
    forwardRunsMs: outcome?.runsMs.forward ?? [],
    trainStepRunsMs: outcome?.runsMs.trainStep ?? [],
    forwardRatio: null,
    trainStepRatio: null,
    ...(outcome?.profiles.forward ? { forwardProfile: outcome.profiles.forward } : {}),
    ...(outcome?.profiles.trainStep ? { trainStepProfile: outcome.profiles.trainStep } : {}),
    ...errors,
  };
}

/** "812 ms", "4.52 s", "132 s". */
export function formatDurationMs(ms: number): string {
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  if (ms < 100_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${(ms / 1000).toFixed(0)} s`;
}

/** A whole-row failure in a few words (the full reason goes in the notes). */
function shortRowError(error: string): string {
  if (/^not available|not installed|not found|is missing/.test(error)) return 'not available';
  return error.length <= 48 ? error : 'failed (see notes)';
}

/** ", OMP ACTIVE" (or ", OMP PASSIVE/ACTIVE" when forward and step were fastest under different policies). */
function waitLabel(r: SpeedRow): string {
  if (!r.waitPolicy) return '';
  const { forward, trainStep } = r.waitPolicy;
  return `, OMP ${forward === trainStep ? forward : `${forward}/${trainStep}`}`;
}

/** "wasm, 2 threads"; "wasm, 2 replicas × 1 thread" for a data-parallel row. */
function tfjsBackendLabel(r: SpeedRow): string {
  if (!r.threads) return r.backend;
  const threads = `${r.threads} thread${r.threads === 1 ? '' : 's'}`;
  return r.replicas ? `${r.backend}, ${r.replicas} replicas × ${threads}` : `${r.backend}, ${threads}`;
}

/** The rows as a text table: time and ratio to PyTorch for the forward pass and the training step. */
export function formatSpeedTable(rows: SpeedRow[]): string {
  const header = ['framework', 'backend', 'variant', 'forward', '÷ PyTorch', 'training step', '÷ PyTorch'];
  const time = (r: SpeedRow, ms: number | null, runs: number[], error: string | undefined) => {
    if (r.error) return shortRowError(r.error);
    if (error) return error;
    if (ms === null) return '—';
    // Cut short by the time limit: say how many runs the median is of.
    return runs.length < r.repeats ? `${formatDurationMs(ms)} (${runs.length}/${r.repeats} runs)` : formatDurationMs(ms);
  };
  const lines = rows.map((r) => [
    r.framework === 'pytorch' ? `PyTorch${r.version ? ` ${r.version.replace(/\+.*$/, '')}` : ''}` : 'TensorFlow.js',
    r.framework === 'pytorch' ? `cpu, ${r.threads} threads${waitLabel(r)}` : tfjsBackendLabel(r),
    r.variant,
    time(r, r.forwardMs, r.forwardRunsMs, r.forwardError),
    r.forwardRatio === null ? '—' : formatRatio(r.forwardRatio),
    time(r, r.trainStepMs, r.trainStepRunsMs, r.trainStepError),
    r.trainStepRatio === null ? '—' : formatRatio(r.trainStepRatio),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const numeric = new Set([3, 4, 5, 6]);
  return [header, ...lines]
    .map((cells) => cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd())
    .join('\n');
}

/** "Conv2D 41%, FusedBatchNorm 12% (×300), …": the top kernels of a profile, with their share of the kernel time. */
export function formatProfile(profile: KernelProfile): string {
  const kernels = profile.top.map((k) => `${k.kernel} ${(100 * k.share).toFixed(0)}% (${k.calls}×)`).join(', ');
  return `${formatDurationMs(profile.kernelMs)} in ${profile.kernels.toLocaleString('en-US')} kernels of ${formatDurationMs(profile.wallMs)} wall: ${kernels}`;
}

/** One line per profiled tfjs phase: where an extra run of it spent its kernel time. */
export function formatProfiles(rows: SpeedRow[]): string {
  const lines: string[] = [];
  for (const r of rows) {
    if (r.framework !== 'tfjs') continue;
    for (const [phase, profile] of [['forward', r.forwardProfile], ['training step', r.trainStepProfile]] as const) {
      if (profile) lines.push(`  ${r.backend} ${r.variant} ${phase}: ${formatProfile(profile)}`);
    }
  }
  return lines.length ? `kernel time (tf.profile of one more run; share of the kernel time, calls):\n${lines.join('\n')}` : '';
}
