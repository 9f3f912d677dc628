/**
 * One tfjs speed measurement in a child process (bench/speed-worker.ts) with a
 * time limit: the forward pass and one training step (SGD with Nesterov
 * momentum, weight decay 1e-4: the project's trainStep) of CIFAR DenseNet-BC.
 *
 * Each backend runs in its own child process with a time limit: the wasm
 * backend aborts when its 4 GB heap is exhausted (the naive training step at
 * batch 64 does), and the cpu backend can take many minutes per conv gradient.
 * Either becomes a reported result ("aborted: …", "timed out after N s"), not a
 * crash or a hang of the benchmark. The child reports each phase as soon as it
 * is measured, so a forward time survives a training step that aborts.
 */
import { ChildProcess, fork } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BackendName, initBackend, tf, wasmThreads } from '../src/tf';
import { buildDenseNet, cifarConfig, denseBlockFor } from '../src/densenet';
import { makeOptimizer, PAPER_WEIGHT_DECAY, trainStep } from '../src/train';
import { WASM_MEMORY_LIMIT_BYTES } from '../src/backend/wasm-memory';
import { WASM_THREADS_ENV } from '../src/backend/wasm-threads';
import { DataParallelTrainer } from '../src/parallel';
import type { KernelProfile, Variant } from '../src/viz/speed';

export type { Variant };
export type Phase = 'forward' | 'trainStep';

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
  /** Data-parallel over this many wasm replicas (worker threads, one thread each); default: one process. */
  replicas?: number;
  seed?: number;
  /** Kernels listed in each phase's profile (default 8). */
  profileTop?: number;
}

/** Messages from the child, in order: loaded, then progress/result per phase (or an error), then done. */
export type SpeedMessage =
  | { type: 'loaded'; backend: string; trainableParams: number; tfjsVersion: string; threads: number | null; replicas?: number }
  | { type: 'progress'; phase: Phase; run: number; of: number; ms: number }
  | { type: 'result'; phase: Phase; ms: number; runsMs: number[] }
  | { type: 'profile'; phase: Phase; profile: KernelProfile }
  | { type: 'error'; phase: Phase | 'load'; error: string }
  | { type: 'done' };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The kernels of a tf.profile run grouped by name, longest total first. Entries that are not kernels
 * of the backend (a tf.customGrad op such as the memory-efficient block is profiled as one entry
 * around the kernels it runs, which are listed themselves) are left out, so no time counts twice.
 */
export function summarizeProfile(info: { kernels: readonly { name: string; kernelTimeMs: unknown }[] }, wallMs: number, backend: string, top = 8): KernelProfile {
  const byName = new Map<string, { ms: number; calls: number }>();
  let kernelMs = 0;
  let kernels = 0;
  for (const k of info.kernels) {
    if (!tf.getKernel(k.name, backend)) continue;
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const entry = byName.get(k.name) ?? { ms: 0, calls: 0 };
    entry.ms += ms;
    entry.calls += 1;
    byName.set(k.name, entry);
    kernelMs += ms;
    kernels += 1;
  }
  const sorted = [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, top);
  return {
    wallMs,
    kernelMs,
    kernels,
    top: sorted.map(([kernel, { ms, calls }]) => ({ kernel, ms, share: kernelMs > 0 ? ms / kernelMs : 0, calls })),
  };
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
    const profileTop = spec.profileTop ?? 8;
    const config = benchConfig(spec.depth, spec.growthRate, spec.memoryEfficient);
    const seed = spec.seed ?? 1;
    const model = buildDenseNet(config, { seed });
    const trainableParams = model.trainableWeights.reduce((sum, w) => sum + tf.util.sizeFromShape(w.shape as number[]), 0);
    const x = tf.randomNormal([spec.batch, ...config.inputShape], 0, 1, 'float32', seed);
    const y = tf.tidy(() => tf.oneHot(tf.randomUniform([spec.batch], 0, config.classes, 'int32', seed) as tf.Tensor1D, config.classes));
    const optimizer = makeOptimizer('sgd', 0.1);
    // Data-parallel: the replicas hold their own copies of the model and optimizer; they start from this model's weights.
    const trainer = spec.replicas
      ? await DataParallelTrainer.start({ config, model, optimizer: { name: 'sgd', learningRate: 0.1 }, weightDecay: PAPER_WEIGHT_DECAY, replicas: spec.replicas })
      : undefined;
    const loaded = { type: 'loaded', backend, trainableParams, tfjsVersion: tf.version_core, threads: backend === 'wasm' ? wasmThreads() : null } as const;
    send(trainer ? { ...loaded, threads: 1, replicas: trainer.replicaCount } : loaded);
    const runs: Record<Phase, () => Promise<void>> = {
      forward: async () => {
        const out = model.predict(x) as tf.Tensor;
        await out.data();
        out.dispose();
      },
      trainStep: async () => {
        if (trainer) await trainer.step(x, y);
        else await trainStep(model, x, y, { optimizer, weightDecay: PAPER_WEIGHT_DECAY });
      },
    };
    /** One more run under tf.profile (a data-parallel step's profile is its first replica's). */
    const profiled = async (p: Phase) => {
      const start = performance.now();
      if (trainer && p === 'trainStep') {
        const { kernels } = await trainer.profileStep(x, y);
        return summarizeProfile({ kernels }, performance.now() - start, backend, profileTop);
      }
      const info = await tf.profile(runs[p]);
      return summarizeProfile(info, performance.now() - start, backend, profileTop);
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
          // A turn of the event loop between runs (outside the timing): IPC, and the worker's
          // 'disconnect' when its bench is gone, are handled even when a run never waits on I/O.
          await new Promise((resolve) => setImmediate(resolve));
        }
        send({ type: 'result', phase: p, ms: median(times), runsMs: times });
        // One more run under tf.profile: where the kernel time goes (not part of the figure above).
        send({ type: 'profile', phase: p, profile: await profiled(p) });
      }
    } finally {
      // Best effort: after a wasm abort the module is dead and disposing throws; keep the first error.
      try {
        tf.dispose([x, y]);
        optimizer.dispose();
        model.dispose();
        await trainer?.close();
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
  /** The wasm backend's threads (null on the others). */
  threads: number | null;
  /** Data-parallel replicas, when the run had them. */
  replicas?: number;
  /** Median of the timed runs; after a time limit, of the runs that finished. */
  ms: Partial<Record<Phase, number>>;
  /** Each timed run (warm-up excluded). */
  runsMs: Partial<Record<Phase, number[]>>;
  /** The profiled run after the timed ones. */
  profiles: Partial<Record<Phase, KernelProfile>>;
  errors: Partial<Record<Phase, string>>;
  /** The error messages behind `errors`, as thrown or printed (for the notes). */
  details: Partial<Record<Phase, string>>;
  timedOut: boolean;
}


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
  const nearLimit = heapMb * 2 ** 20 >= WASM_MEMORY_LIMIT_BYTES - 512 * 2 ** 20;
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
  const outcome: ChildOutcome = { backend: spec.backend, trainableParams: null, tfjsVersion: null, threads: null, ms: {}, runsMs: {}, profiles: {}, errors: {}, details: {}, timedOut: false };
  const worker = options.worker ?? path.join(__dirname, 'speed-worker.js');
  if (!fs.existsSync(worker)) {
    return Promise.resolve({ ...outcome, unavailable: `${worker} is missing: run \`npm run build\` first` });
  }
  return new Promise((resolve) => {
    // A data-parallel run's main thread only hands out batches: no XNNPACK pool of its own beside the replicas.
    const env = spec.replicas ? { ...process.env, [WASM_THREADS_ENV]: '1' } : process.env;
    const child: ChildProcess = fork(worker, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env });
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
          outcome.threads = message.threads ?? null;
          if (message.replicas) outcome.replicas = message.replicas;
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
        case 'profile':
          outcome.profiles[message.phase] = message.profile;
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
