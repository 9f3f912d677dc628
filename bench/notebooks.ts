/**
 * How long a notebook takes to run top to bottom: through real Jupyter (nbconvert + the tslab
 * kernel, what the notebook tests do) and through cardlab's cell runner (one child process, what
 * the tests and the server use), and how long the runner's child takes to start (the TypeScript
 * converter) — the fixed cost of every live demo.
 *
 *   npm run build && node dist/bench/notebooks.js [--reps 3] [--json] [notebook.ipynb ...]
 *
 * Without files: the test fixture test/fixtures/notebooks/good.ipynb and notebooks/*.ipynb.
 * Figures are wall-clock milliseconds, the best of --reps runs (the machine may be shared).
 */
import fs from 'fs';
import path from 'path';
import { executeWithJupyter, describeFailures } from '../src/cells/jupyter';
import { runNotebook, PROJECT_ROOT } from '../src/cells/runner';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

function notebooks(): string[] {
  const given = process.argv.slice(2).filter((a) => a.endsWith('.ipynb'));
  if (given.length) return given.map((f) => path.resolve(f));
  const dir = path.join(PROJECT_ROOT, 'notebooks');
  const own = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.ipynb')).sort().map((f) => path.join(dir, f)) : [];
  return [path.join(PROJECT_ROOT, 'test', 'fixtures', 'notebooks', 'good.ipynb'), ...own];
}

async function main(): Promise<void> {
  const reps = Number(arg('--reps', '3'));
  const json = process.argv.includes('--json');
  for (const file of notebooks()) {
    let jupyterMs = Infinity;
    let runnerMs = Infinity;
    let startupMs = Infinity;
    for (let rep = 0; rep < reps; rep++) {
      const jupyter = await executeWithJupyter(file);
      if (!jupyter.ok) throw new Error(describeFailures(file, jupyter.failures));
      jupyterMs = Math.min(jupyterMs, jupyter.ms);
      const ours = await runNotebook(file).result;
      if (!ours.ok) throw new Error(`${file}: the runner ended with ${ours.reason}`);
      runnerMs = Math.min(runnerMs, ours.ms);
      const ready = ours.events.find((e) => e.type === 'ready');
      if (ready?.type === 'ready') startupMs = Math.min(startupMs, ready.ms);
    }
    const name = path.relative(PROJECT_ROOT, file);
    if (json) console.log(JSON.stringify({ notebook: name, jupyterMs, runnerMs, runnerStartupMs: startupMs }));
    else console.log(`${name}: jupyter ${jupyterMs} ms, cell runner ${runnerMs} ms (child start ${startupMs} ms)`);
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
