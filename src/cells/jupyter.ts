/**
 * Real Jupyter for notebook tests: Debian's nbconvert drives the tslab kernel, exactly as a
 * student's JupyterLab would run the notebook.
 *
 * tslab answers a failing cell with status "error" but no error output (no ename, no evalue: the
 * message is only on stderr), so nbconvert alone says little more than "<Error>:". The notebook is
 * therefore executed with --allow-errors and the executed copy is inspected: a cell with an error
 * output or any stderr text is a failure, reported with its index and that text.
 */
import { spawn, spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { readNotebook, cellSource, Notebook } from './notebook';
import { DEBIAN_PYTHON, JUPYTER_PYTHON_ENV, KERNEL_NAME, findJupyterPython, jupyterEnv, writeKernelSpec } from './kernelspec';

/**
 * Jupyter's Python: the one the `jupyter` scripts on PATH run (see kernelspec.ts), not simply the
 * first python3 on PATH (which may be a separate build without Jupyter); CARDLAB_JUPYTER_PYTHON
 * overrides it.
 */
export function jupyterPython(): string {
  if (process.env[JUPYTER_PYTHON_ENV]) return process.env[JUPYTER_PYTHON_ENV]!;
  return (cachedPython ??= findJupyterPython('nbclient')?.python ?? DEBIAN_PYTHON);
}
let cachedPython: string | undefined;

export const JUPYTER_DEBIAN_PACKAGES = ['jupyter-notebook', 'jupyter-nbconvert', 'python3-nbclient'];

/** This checkout's kernelspec first on JUPYTER_PATH, node_modules/.bin first on PATH (see kernelspec.ts). */
export function kernelEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return jupyterEnv(base);
}

function python(code: string): { ok: boolean; out: string; err: string } {
  const run = spawnSync(jupyterPython(), ['-c', code], { encoding: 'utf8', env: kernelEnv() });
  return { ok: run.status === 0, out: run.stdout ?? '', err: run.error ? String(run.error) : (run.stderr ?? '') };
}

/** Throws, naming the Debian packages, when Jupyter's nbconvert or nbclient cannot be imported. */
export function assertJupyterInstalled(): void {
  const check = python('import nbconvert, nbclient, jupyter_client');
  if (!check.ok) {
    throw new Error(
      `Jupyter is missing for ${jupyterPython()} (${check.err.trim().split('\n').pop()}): ` +
        `install the Debian packages ${JUPYTER_DEBIAN_PACKAGES.join(' ')} (scripts/setup.sh does)`,
    );
  }
}

/** The registered kernelspecs: name → argv. */
function kernelSpecs(): Record<string, string[]> {
  const list = python(
    'import json\nfrom jupyter_client.kernelspec import KernelSpecManager\n' +
      'm = KernelSpecManager()\nprint(json.dumps({n: m.get_kernel_spec(n).argv for n in m.find_kernel_specs()}))',
  );
  if (!list.ok) throw new Error(`cannot list Jupyter kernels: ${list.err}`);
  return JSON.parse(list.out) as Record<string, string[]>;
}

/**
 * Writes this checkout's tslab kernelspec (kernelspec.ts) and checks that Jupyter, started with
 * `kernelEnv`, resolves the kernel name to it. Idempotent and offline.
 */
export function ensureTslabKernel(): void {
  assertJupyterInstalled();
  const file = writeKernelSpec();
  const argv = kernelSpecs()[KERNEL_NAME];
  if (argv?.[0] !== process.execPath) {
    throw new Error(`Jupyter does not pick up the kernelspec ${file} (it resolves "${KERNEL_NAME}" to ${JSON.stringify(argv)})`);
  }
}

export interface CellFailure {
  /** Position among all the notebook's cells. */
  index: number;
  source: string;
  /** The error output or stderr text: what the student would see under the cell. */
  text: string;
}

export interface JupyterRun {
  ok: boolean;
  failures: CellFailure[];
  /** The executed notebook (with outputs), when nbconvert wrote one. */
  executed?: Notebook;
  /** nbconvert's own log, for failures that are not a cell's (kernel died, timeout). */
  log: string;
  ms: number;
}

export interface JupyterOptions {
  /** nbconvert's per-cell timeout. */
  cellTimeoutSeconds?: number;
  /** Extra environment for the kernel (the notebooks' size knob, for example). */
  env?: NodeJS.ProcessEnv;
}

function textOf(value: unknown): string {
  return Array.isArray(value) ? value.join('') : String(value ?? '');
}

/** The failures in an executed notebook: error outputs and stderr streams, per cell. */
export function failuresIn(executed: Notebook): CellFailure[] {
  const failures: CellFailure[] = [];
  executed.cells.forEach((cell, index) => {
    if (cell.cell_type !== 'code') return;
    const texts = cell.outputs.flatMap((output) => {
      const o = output as { output_type: string; name?: string; text?: unknown; ename?: string; evalue?: string; traceback?: string[] };
      if (o.output_type === 'error') return [`${o.ename}: ${o.evalue}\n${(o.traceback ?? []).join('\n')}`];
      if (o.output_type === 'stream' && o.name === 'stderr') return [textOf(o.text)];
      return [];
    });
    if (texts.length > 0) failures.push({ index, source: cellSource(cell), text: texts.join('') });
  });
  return failures;
}

/**
 * Executes a notebook with `jupyter nbconvert --to notebook --execute` on the tslab kernel, in the
 * notebook's folder (as Jupyter runs it), without touching the file; reports every failing cell.
 */
export async function executeWithJupyter(file: string, options: JupyterOptions = {}): Promise<JupyterRun> {
  ensureTslabKernel();
  const started = Date.now();
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cardlab-nbconvert-'));
  try {
    const args = [
      '-m', 'nbconvert', '--to', 'notebook', '--execute', '--allow-errors',
      '--ExecutePreprocessor.kernel_name=tslab',
      `--ExecutePreprocessor.timeout=${options.cellTimeoutSeconds ?? 600}`,
      `--output-dir=${outDir}`, '--output=executed', path.resolve(file),
    ];
    const child = spawn(jupyterPython(), args, { env: kernelEnv({ ...process.env, ...options.env }) });
    let log = '';
    child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    const executedFile = path.join(outDir, 'executed.ipynb');
    const executed = fs.existsSync(executedFile) ? readNotebook(executedFile) : undefined;
    const failures = executed ? failuresIn(executed) : [];
    if (exitCode !== 0 && failures.length === 0) {
      failures.push({ index: -1, source: '', text: `nbconvert exited with ${exitCode}: ${log.trim().split('\n').slice(-15).join('\n')}` });
    }
    return { ok: failures.length === 0, failures, executed, log, ms: Date.now() - started };
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}

/** One line per failure, for test messages. */
export function describeFailures(file: string, failures: CellFailure[]): string {
  return failures
    .map((f) => (f.index < 0 ? `${file}: ${f.text}` : `${file}: cell ${f.index} failed:\n${f.source}\n--- output ---\n${f.text}`))
    .join('\n\n');
}
