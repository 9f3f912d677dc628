/**
 * Speed of CIFAR DenseNet-BC (default L=100, k=12, batch 64, 32×32×3): the
 * forward pass and one training step (SGD with Nesterov momentum, weight decay
 * 1e-4: the project's trainStep), on every TensorFlow.js backend, beside the
 * same model in PyTorch (bench/torch_densenet.py) — the figures behind
 * `cardlab bench speed` and bench/speed.ts.
 *
 * Each backend runs in its own child process with a time limit: the wasm
 * backend aborts when its 4 GB heap is exhausted (the naive training step at
 * batch 64 does), and the cpu backend can take many minutes per conv gradient.
 * Either becomes a reported result ("aborted: …", "timed out after N s"), not a
 * crash or a hang of the benchmark. The child reports each phase as soon as it
 * is measured, so a forward time survives a training step that aborts.
 */
import { ChildProcess, fork, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BackendName, initBackend, tf } from '../tf';
import { buildDenseNet, cifarConfig, denseBlockFor } from '../densenet';
import { makeOptimizer, PAPER_WEIGHT_DECAY, trainStep } from '../train';

export type Phase = 'forward' | 'trainStep';
export type Variant = 'naive' | 'memory-efficient';

export const PHASE_NAMES: Record<Phase, string> = { forward: 'forward', trainStep: 'training step' };

/** What one child process measures. */
export interface SpeedSpec {
  backend: BackendName;
  depth: number;
  growthRate: number;
  batch: number;
  /** Timed runs after one warm-up run; the median is reported. */
  repeats: number;
  phases: Phase[];
  memoryEfficient: boolean;
  seed?: number;
}

/** Messages from the child, in order: loaded, then progress/result per phase (or an error), then done. */
export type SpeedMessage =
  | { type: 'loaded'; backend: string; trainableParams: number; tfjsVersion: string }
  | { type: 'progress'; phase: Phase; run: number; of: number; ms: number }
  | { type: 'result'; phase: Phase; ms: number; runsMs: number[] }
  | { type: 'error'; phase: Phase | 'load'; error: string }
  | { type: 'done' };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The CIFAR DenseNet-BC of a depth (θ = 0.5, bottlenecks, 2k stem channels); a depth other than 6n + 4 is an error. */
export function benchConfig(depth: number, growthRate: number, memoryEfficient: boolean) {
  return cifarConfig({ depth, growthRate, bottleneck: true, compression: 0.5, memoryEfficient });
}

/** Whether the memory-efficient DenseNet can be built (issue 3); the reason when not. */
export function memoryEfficientAvailability(): { ok: true } | { ok: false; reason: string } {
  try {
    denseBlockFor(benchConfig(10, 12, true));
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

/**
 * Measures in this process, sending each message to `send` as it happens.
 * Forward: model.predict (inference mode, like PyTorch's eval + no_grad),
 * waited on with data(). Training step: forward in training mode, softmax
 * cross-entropy, gradients, weight decay and the SGD-Nesterov update.
 */
export async function measureSpeed(spec: SpeedSpec, send: (message: SpeedMessage) => void): Promise<void> {
  let phase: Phase | 'load' = 'load';
  try {
    const backend = await initBackend(spec.backend);
    const config = benchConfig(spec.depth, spec.growthRate, spec.memoryEfficient);
    const seed = spec.seed ?? 1;
    const model = buildDenseNet(config, { seed });
    const trainableParams = model.trainableWeights.reduce((sum, w) => sum + tf.util.sizeFromShape(w.shape as number[]), 0);
    send({ type: 'loaded', backend, trainableParams, tfjsVersion: tf.version_core });
    const x = tf.randomNormal([spec.batch, ...config.inputShape], 0, 1, 'float32', seed);
    const y = tf.tidy(() => tf.oneHot(tf.randomUniform([spec.batch], 0, config.classes, 'int32', seed) as tf.Tensor1D, config.classes));
    const optimizer = makeOptimizer('sgd', 0.1);
    const runs: Record<Phase, () => Promise<void>> = {
      forward: async () => {
        const out = model.predict(x) as tf.Tensor;
        await out.data();
        out.dispose();
      },
      trainStep: async () => {
        await trainStep(model, x, y, { optimizer, weightDecay: PAPER_WEIGHT_DECAY });
      },
    };
    try {
      for (const p of spec.phases) {
        phase = p;
        const times: number[] = [];
        // Run 0 is the warm-up (kernel set-up, weight uploads, optimizer slots): not counted.
        for (let run = 0; run <= spec.repeats; run++) {
          const start = performance.now();
          await runs[p]();
          const ms = performance.now() - start;
          if (run > 0) times.push(ms);
          send({ type: 'progress', phase: p, run, of: spec.repeats, ms });
        }
        send({ type: 'result', phase: p, ms: median(times), runsMs: times });
      }
    } finally {
      // Best effort: after a wasm abort the module is dead and disposing throws; keep the first error.
      try {
        tf.dispose([x, y]);
        optimizer.dispose();
        model.dispose();
      } catch {
        // the process ends right after
      }
    }
  } catch (err) {
    let error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    const heap = (tf.getBackend() === 'wasm' ? (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8 : undefined)?.byteLength;
    if (heap) error += wasmHeapSuffix(heap);
    send({ type: 'error', phase, error });
  }
}

/** What one child run gives: the phases it measured, and why the others are missing. */
export interface ChildOutcome {
  backend: BackendName;
  /** Set when the backend could not load (or the model could not be built). */
  unavailable?: string;
  trainableParams: number | null;
  tfjsVersion: string | null;
  /** Median of the timed runs; after a time limit, of the runs that finished. */
  ms: Partial<Record<Phase, number>>;
  /** Each timed run (warm-up excluded). */
  runsMs: Partial<Record<Phase, number[]>>;
  errors: Partial<Record<Phase, string>>;
  /** The error messages behind `errors`, as thrown or printed (for the notes). */
  details: Partial<Record<Phase, string>>;
  timedOut: boolean;
}

/** The wasm backend's heap cannot grow past 4 GB (wasm32). */
export const WASM_HEAP_LIMIT_BYTES = 4 * 2 ** 30;

/** Appended to a wasm failure by the child: the heap size when it failed. */
export function wasmHeapSuffix(heapBytes: number): string {
  return ` [wasm heap: ${Math.round(heapBytes / 2 ** 20)} MB]`;
}

/**
 * A short reason for a failed phase, e.g. "aborted: out of memory (wasm heap limit, 4 GB)".
 * A release wasm build aborts on a failed allocation with a bare "Aborted()"; it counts as out of
 * memory when the heap had grown to within 512 MB of the 4 GB limit (the child reports the size).
 */
export function failureReason(message: string, backend: string): string {
  const heapMb = Number(/\[wasm heap: (\d+) MB\]/.exec(message)?.[1] ?? NaN);
  const nearLimit = heapMb * 2 ** 20 >= WASM_HEAP_LIMIT_BYTES - 512 * 2 ** 20;
  const explicit = /out of memory|Cannot enlarge memory|allocation failed|Array buffer allocation|Invalid typed array length|\(OOM\)/i.test(message);
  if (explicit || (backend === 'wasm' && /Aborted\(/.test(message) && nearLimit)) {
    return `aborted: out of memory${backend === 'wasm' ? ' (wasm heap limit, 4 GB)' : ''}`;
  }
  const first = message.split('\n')[0].replace(/^(Error|RuntimeError): /, '');
  return `aborted: ${first.length > 160 ? `${first.slice(0, 157)}...` : first}`;
}

export interface ChildRunOptions {
  timeoutMs: number;
  onMessage?: (message: SpeedMessage) => void;
  /** Worker module; default speed-worker.js next to this file (the compiled build). */
  worker?: string;
}

/** Runs `measureSpeed` in a fresh node process with a time limit; never rejects. */
export function measureInChild(spec: SpeedSpec, options: ChildRunOptions): Promise<ChildOutcome> {
  const outcome: ChildOutcome = { backend: spec.backend, trainableParams: null, tfjsVersion: null, ms: {}, runsMs: {}, errors: {}, details: {}, timedOut: false };
  const worker = options.worker ?? path.join(__dirname, 'speed-worker.js');
  if (!fs.existsSync(worker)) {
    return Promise.resolve({ ...outcome, unavailable: `${worker} is missing: run \`npm run build\` first` });
  }
  return new Promise((resolve) => {
    const child: ChildProcess = fork(worker, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    let current: Phase | 'load' = 'load';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const timer = setTimeout(() => {
      outcome.timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('message', (message: SpeedMessage) => {
      options.onMessage?.(message);
      switch (message.type) {
        case 'loaded':
          outcome.trainableParams = message.trainableParams;
          outcome.tfjsVersion = message.tfjsVersion;
          current = spec.phases[0];
          break;
        case 'progress':
          current = message.phase;
          if (message.run > 0) (outcome.runsMs[message.phase] ??= []).push(message.ms);
          break;
        case 'result':
          outcome.ms[message.phase] = message.ms;
          outcome.runsMs[message.phase] = message.runsMs;
          current = spec.phases[spec.phases.indexOf(message.phase) + 1] ?? current;
          break;
        case 'error':
          if (message.phase === 'load') outcome.unavailable = message.error.replace(/^Error: /, '');
          else {
            outcome.errors[message.phase] = failureReason(message.error, spec.backend);
            outcome.details[message.phase] = message.error;
            current = message.phase;
          }
          break;
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Phases that never reported: the run timed out, or the process died (a wasm abort can take it down).
      const missing = spec.phases.filter((p) => outcome.ms[p] === undefined && outcome.errors[p] === undefined);
      if (!outcome.unavailable && missing.length > 0) {
        const exited = `process exited (${signal ?? `code ${code}`})${stderr.trim() ? `: ${stderr.trim()}` : ''}`;
        const why = outcome.timedOut ? `timed out after ${Math.round(options.timeoutMs / 1000)} s` : failureReason(exited, spec.backend);
        if (current === 'load' && !outcome.timedOut) {
          outcome.unavailable = why;
        } else {
          const reached = current === 'load' ? spec.phases[0] : current;
          const failed = outcome.errors[reached] ?? why;
          // Out of time after some timed runs of a phase: their median is still a figure (the row lists the runs).
          const partial = outcome.timedOut ? (outcome.runsMs[reached] ?? []) : [];
          for (const p of missing) {
            if (p === reached && partial.length > 0) outcome.ms[p] = median(partial);
            else outcome.errors[p] = p === reached ? why : `not run (${PHASE_NAMES[reached]} ${failed})`;
          }
          if (!outcome.timedOut && outcome.details[reached] === undefined) outcome.details[reached] = exited;
        }
      }
      resolve(outcome);
    });
    child.send(spec);
  });
}

/** The PyTorch reference: its row, or why it could not run. */
export type TorchOutcome =
  | {
      ok: true;
      torchVersion: string;
      threads: number;
      trainableParams: number;
      forwardMs: number;
      trainStepMs: number;
      forwardRunsMs: number[];
      trainStepRunsMs: number[];
    }
  | { ok: false; error: string };

export interface TorchOptions {
  python: string;
  script: string;
  depth: number;
  growthRate: number;
  batch: number;
  repeats: number;
  threads: number;
  timeoutMs: number;
}

export const TORCH_PACKAGE = 'python3-torch';

/** A line of bench/torch_densenet.py's output. */
interface TorchJsonRow {
  torch: string;
  threads: number;
  trainableParams: number;
  forwardMs: number;
  trainStepMs: number;
  forwardRunsMs?: number[];
  trainStepRunsMs?: number[];
}

/**
 * PyTorch's OpenMP threads wait for work passively unless the caller says otherwise: on a shared,
 * busy machine spinning threads starve each other (load 12 on 2 cores, DenseNet-BC L=40, batch 8,
 * 2 threads: forward 3.5 s and training step 5.9 s with OMP_WAIT_POLICY=ACTIVE, 21 ms and 0.36 s
 * with PASSIVE), while on a quiet machine passive waiting costs a wake-up of microseconds per
 * parallel region.
 */
export function torchEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, OMP_WAIT_POLICY: env.OMP_WAIT_POLICY ?? 'PASSIVE' };
}

/** Runs bench/torch_densenet.py; a missing python or torch is a clear error naming the Debian package. */
export function runTorch(options: TorchOptions): Promise<TorchOutcome> {
  if (!fs.existsSync(options.script)) return Promise.resolve({ ok: false, error: `the PyTorch script ${options.script} is missing` });
  const args = [
    options.script,
    '--depths', String(options.depth),
    '--growth', String(options.growthRate),
    '--batch', String(options.batch),
    '--threads', String(options.threads),
    '--repeats', String(options.repeats),
  ];
  return new Promise((resolve) => {
    const child = spawn(options.python, args, { stdio: ['ignore', 'pipe', 'pipe'], env: torchEnvironment() });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({
        ok: false,
        error:
          err.code === 'ENOENT'
            ? `${options.python} not found: install Python 3 and PyTorch (Debian: apt-get install ${TORCH_PACKAGE})`
            : `${options.python}: ${err.message}`,
      });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return resolve({ ok: false, error: `timed out after ${Math.round(options.timeoutMs / 1000)} s` });
      if (/No module named '?torch'?/.test(stderr)) {
        return resolve({ ok: false, error: `PyTorch is not installed for ${options.python}: install the Debian package ${TORCH_PACKAGE} (apt-get install ${TORCH_PACKAGE})` });
      }
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        const row = JSON.parse(line) as TorchJsonRow;
        if (code === 0 && row.forwardMs > 0 && row.trainStepMs > 0) {
          const { threads, trainableParams, forwardMs, trainStepMs } = row;
          const runs = { forwardRunsMs: row.forwardRunsMs ?? [forwardMs], trainStepRunsMs: row.trainStepRunsMs ?? [trainStepMs] };
          return resolve({ ok: true, torchVersion: row.torch, threads, trainableParams, forwardMs, trainStepMs, ...runs });
        }
      } catch {
        // falls through to the error below
      }
      resolve({ ok: false, error: `${path.basename(options.script)} failed (${signal ?? `exit code ${code}`}): ${stderr.trim().split('\n').slice(-2).join(' | ') || 'no output'}` });
    });
  });
}

/** One JSON row of `cardlab bench speed`: null figures with an error when that part could not run. */
export interface SpeedRow {
  framework: 'tfjs' | 'pytorch';
  /** tfjs backend name, or "cpu" for PyTorch. */
  backend: string;
  variant: Variant;
  /** tfjs core or torch version (null when the run did not start). */
  version: string | null;
  depth: number;
  growthRate: number;
  batch: number;
  repeats: number;
  /** PyTorch's intra-op threads; null for tfjs (wasm and cpu run single-threaded in Node). */
  threads: number | null;
  trainableParams: number | null;
  /** Median milliseconds after one warm-up; null when not measured. */
  forwardMs: number | null;
  trainStepMs: number | null;
  /** Each timed run; fewer than `repeats` when the time limit cut the phase short. */
  forwardRunsMs: number[];
  trainStepRunsMs: number[];
  /** This row's time ÷ PyTorch's (null without both). */
  forwardRatio: number | null;
  trainStepRatio: number | null;
  /** Why the framework/backend could not run at all. */
  error?: string;
  forwardError?: string;
  trainStepError?: string;
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
      say(
        `[pytorch] forward and training step, ${t.threads} threads (OMP_WAIT_POLICY=${torchEnvironment().OMP_WAIT_POLICY}), ` +
          `${options.repeats} repeat(s) after a warm-up (${t.python} ${path.basename(t.script)})`,
      );
      setActivity('[pytorch] running');
      const started = Date.now();
      const r = await runTorch({ ...base, python: t.python, script: t.script, threads: t.threads, timeoutMs: options.timeoutMs });
      setActivity('');
      say(r.ok ? `[pytorch] forward ${formatDurationMs(r.forwardMs)}, training step ${formatDurationMs(r.trainStepMs)} (${seconds(Date.now() - started)} in all)` : `[pytorch] ${r.error}`);
      rows.push({
        framework: 'pytorch',
        backend: 'cpu',
        variant: 'naive',
        version: r.ok ? r.torchVersion : null,
        ...base,
        threads: r.ok ? r.threads : t.threads,
        trainableParams: r.ok ? r.trainableParams : null,
        forwardMs: r.ok ? r.forwardMs : null,
        trainStepMs: r.ok ? r.trainStepMs : null,
        forwardRunsMs: r.ok ? r.forwardRunsMs : [],
        trainStepRunsMs: r.ok ? r.trainStepRunsMs : [],
        forwardRatio: null,
        trainStepRatio: null,
        ...(r.ok ? {} : { error: r.error }),
      });
      if (!r.ok) notes.push(`PyTorch: ${r.error}; the TensorFlow.js figures below have no ratios.`);
    }

    const efficient = options.memoryEfficient ? memoryEfficientAvailability() : { ok: false as const, reason: '' };
    if (options.memoryEfficient && !efficient.ok) notes.push(`memory-efficient DenseNet: not measured (${efficient.reason})`);

    for (const backend of options.backends) {
      const variants: Variant[] = efficient.ok ? ['naive', 'memory-efficient'] : ['naive'];
      let naiveTimedOut = false;
      for (const variant of variants) {
        const phases: Phase[] = variant === 'naive' ? ['forward', 'trainStep'] : ['trainStep'];
        const tag = `[${backend}${variant === 'naive' ? '' : ` ${variant}`}]`;
        if (variant === 'memory-efficient' && naiveTimedOut) {
          rows.push(tfjsRow(backend, variant, base, null, { trainStepError: 'skipped: the naive run timed out' }));
          say(`${tag} skipped: the naive run timed out`);
          continue;
        }
        say(`${tag} starting (time limit ${Math.round(options.timeoutMs / 1000)} s)`);
        setActivity(`${tag} loading`);
        const outcome = await measureInChild(
          { backend, depth: options.depth, growthRate: options.growthRate, batch: options.batch, repeats: options.repeats, phases, memoryEfficient: variant === 'memory-efficient' },
          {
            timeoutMs: options.timeoutMs,
            worker: options.worker,
            onMessage: (m) => {
              if (m.type === 'loaded') {
                say(`${tag} ${m.backend} loaded, ${m.trainableParams.toLocaleString('en-US')} trainable parameters`);
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
        naiveTimedOut = variant === 'naive' && outcome.timedOut;
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
    threads: null,
    trainableParams: outcome?.trainableParams ?? null,
    forwardMs: outcome?.ms.forward ?? null,
    trainStepMs: outcome?.ms.trainStep ?? null,
    forwardRunsMs: outcome?.runsMs.forward ?? [],
    trainStepRunsMs: outcome?.runsMs.trainStep ?? [],
    forwardRatio: null,
    trainStepRatio: null,
    ...errors,
  };
}

/** "812 ms", "4.52 s", "132 s". */
export function formatDurationMs(ms: number): string {
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  if (ms < 100_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${(ms / 1000).toFixed(0)} s`;
}

/** "4.41×", "12.3×", "0.87×". */
export function formatRatio(ratio: number): string {
  return `${ratio.toFixed(ratio < 10 ? 2 : 1)}×`;
}

/** A whole-row failure in a few words (the full reason goes in the notes). */
function shortRowError(error: string): string {
  if (/^not available|not installed|not found|is missing/.test(error)) return 'not available';
  return error.length <= 48 ? error : 'failed (see notes)';
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
    r.framework === 'pytorch' ? `cpu, ${r.threads} threads` : r.backend,
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
