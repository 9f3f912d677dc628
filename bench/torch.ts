/**
 * The PyTorch reference of the speed benchmark: bench/torch_densenet.py run by
 * Debian's python3-torch, its JSON row read back.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

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
  /** OMP_WAIT_POLICY of the run. */
  waitPolicy: string;
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

export type WaitPolicy = 'PASSIVE' | 'ACTIVE';

/**
 * How PyTorch's OpenMP threads wait for work decides its speed, and which way wins depends on the
 * machine. On a shared, busy machine spinning threads starve each other (load 12 on 2 cores,
 * DenseNet-BC L=40, batch 8: forward 3.5 s and training step 5.9 s with OMP_WAIT_POLICY=ACTIVE,
 * 21 ms and 0.36 s with PASSIVE). On a quiet machine spinning wins (L=100, batch 64, alone: training
 * step 3.3–3.8 s ACTIVE, 4.5–4.8 s unset, 4.7–5.4 s PASSIVE). So the bench runs PyTorch both ways and
 * compares against the faster (`torchWaitPolicies`), unless the caller set OMP_WAIT_POLICY.
 */
export function torchWaitPolicies(env: NodeJS.ProcessEnv = process.env): string[] {
  return env.OMP_WAIT_POLICY ? [env.OMP_WAIT_POLICY] : ['PASSIVE', 'ACTIVE'];
}

/** The environment of one PyTorch run: the caller's, with the OpenMP wait policy. */
export function torchEnvironment(policy: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, OMP_WAIT_POLICY: policy };
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
    const child = spawn(options.python, args, { stdio: ['ignore', 'pipe', 'pipe'], env: torchEnvironment(options.waitPolicy) });
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
