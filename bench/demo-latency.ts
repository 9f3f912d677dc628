/**
 * Live-demo latency through the real HTTP API: from `POST /api/cells/:id/run` to the end of its
 * NDJSON stream, for a trivial cell and for a cell that computes with cardlab's TensorFlow.js,
 * measured side by side in one run on two `cardlab serve` processes (sandboxed, as users run them):
 *
 * - cold: a server with `--warm-pool 0`, so every run starts its sandboxed child from scratch;
 * - first after start: the first run on a server with the default pool (one child), sent as soon
 *   as it listens: its pool child is still warming up, so the run starts cold (the warming child is
 *   stopped while the run goes on, see pool.ts);
 * - warm: a run handed to a pre-started child (the benchmark waits until the pool reports one warm).
 *
 * Cold and warm runs alternate, so load from elsewhere on the machine hits both alike; a cold run
 * is timed while the other server's pool child waits, warm (it would otherwise share the cores).
 * Targets (issue 10): warm ≤ 300 ms, cold ≤ 2 s, on a quiet machine.
 *
 *   cardlab bench demo-latency [--runs 5] [--json]
 */
import { spawn, type ChildProcess } from 'child_process';
import fs from 'fs';
import http from 'http';
import os from 'os';
import path from 'path';
import { PROJECT_ROOT } from '../src/cells/runner';

export interface DemoLatencyOptions {
  /** Runs of each kind (cold, warm) for each cell. */
  runs?: number;
  json?: boolean;
  log?: (line: string) => void;
}

export interface LatencyFigures {
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
}

export interface DemoLatencyReport {
  cells: Record<string, { cold: LatencyFigures; firstAfterStart: LatencyFigures; warm: LatencyFigures }>;
  loadAverage: number[];
  cpus: number;
}

const CELLS: Record<string, string> = {
  trivial: 'console.log(1 + 1)',
  tfjs: "import { tf } from 'cardlab'\nconsole.log(tf.tensor([1, 2, 3]).square().sum().dataSync()[0])",
};

const DECK = ['---', 'tags: [flashcards]', '---', '# Demo', ...Object.keys(CELLS).map((name) => `## ${name}\n${name} question::answer\n`)].join('\n');

function notebookWith(cells: Record<string, string>): object {
  return {
    cells: Object.entries(cells).map(([name, source]) => ({
      cell_type: 'code',
      execution_count: null,
      metadata: { cardlab: { cards: [`latency#${name}`] } },
      outputs: [],
      source,
    })),
    metadata: { kernelspec: { display_name: 'TypeScript', language: 'typescript', name: 'tslab' } },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

interface Server {
  process: ChildProcess;
  url: string;
}

function serve(dirs: { cards: string; notebooks: string; data: string }, warmPool: number): Promise<Server> {
  const child = spawn(
    process.execPath,
    [path.join(PROJECT_ROOT, 'bin', 'cardlab.js'), 'serve', '--port', '0', '--cards', dirs.cards, '--notebooks', dirs.notebooks, '--data', dirs.data, '--warm-pool', String(warmPool), '--max-runs', '4'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CARDLAB_NOTEBOOK_SIZE: 'quick' } },
  );
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /open (http:\/\/127\.0\.0\.1:\d+)\//.exec(output)?.[1];
      if (url) resolve({ process: child, url });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`cardlab serve exited (${code}):\n${output}`)));
  });
}

/** Request to end of stream, in ms; fails unless the run ended `done`. */
function timeRun(url: string, cellId: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/api/cells/${encodeURIComponent(cellId)}/run`, { method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        const ms = performance.now() - started;
        const exit = body.trim().split('\n').map((line) => JSON.parse(line)).at(-1);
        if (exit?.type !== 'exit' || exit.reason !== 'done') reject(new Error(`${cellId} did not run: ${body.slice(-500)}`));
        else resolve(ms);
      });
    });
    req.on('error', reject);
    req.end('{}');
  });
}

async function waitForWarmChild(url: string): Promise<void> {
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; ) {
    const state = await new Promise<{ pool: { warm: number } }>((resolve, reject) =>
      http.get(`${url}/api/cells`, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(JSON.parse(body)));
      }).on('error', reject),
    );
    if (state.pool.warm > 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no pool child got warm within 2 minutes');
}

function figures(ms: number[]): LatencyFigures {
  const sorted = [...ms].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { runs: ms.length, medianMs: Math.round(median), minMs: Math.round(sorted[0]), maxMs: Math.round(sorted.at(-1)!) };
}

async function stop(server: Server | undefined): Promise<void> {
  if (!server || server.process.exitCode !== null) return;
  const gone = new Promise((resolve) => server.process.once('exit', resolve));
  server.process.kill('SIGTERM');
  await gone;
}

export async function runDemoLatencyReport(options: DemoLatencyOptions = {}): Promise<DemoLatencyReport> {
  const runs = options.runs ?? 5;
  const log = options.log ?? ((line: string) => console.error(line));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cardlab-bench-latency-'));
  const dirs = { cards: path.join(dir, 'cards'), notebooks: path.join(dir, 'notebooks'), data: path.join(dir, 'data') };
  for (const d of Object.values(dirs)) fs.mkdirSync(d);
  fs.writeFileSync(path.join(dirs.cards, 'latency.md'), DECK);
  fs.writeFileSync(path.join(dirs.notebooks, 'latency.ipynb'), JSON.stringify(notebookWith(CELLS)));
  const ids = Object.keys(CELLS).map((name, index) => [name, `latency:${index}`] as const);

  let cold: Server | undefined;
  let warm: Server | undefined;
  const report: DemoLatencyReport = { cells: {}, loadAverage: os.loadavg(), cpus: os.cpus().length };
  try {
    cold = await serve(dirs, 0);
    const samples: Record<string, { cold: number[]; first: number[]; warm: number[] }> = {};
    for (const [name] of ids) samples[name] = { cold: [], first: [], warm: [] };
    for (let round = 0; round < runs; round++) {
      for (const [name, id] of ids) {
        // First run after start: a fresh server with a pool, asked at once.
        await stop(warm);
        warm = await serve(dirs, 1);
        samples[name].first.push(await timeRun(warm.url, id));
        // The other server's pool child warms up after that run: cold runs are timed once it waits.
        await waitForWarmChild(warm.url);
        samples[name].cold.push(await timeRun(cold.url, id));
        samples[name].warm.push(await timeRun(warm.url, id));
        const last = (k: 'cold' | 'first' | 'warm') => Math.round(samples[name][k].at(-1)!);
        log(`round ${round + 1}/${runs} ${name}: cold ${last('cold')} ms, first after start ${last('first')} ms, warm ${last('warm')} ms`);
      }
    }
    for (const [name] of ids) {
      report.cells[name] = { cold: figures(samples[name].cold), firstAfterStart: figures(samples[name].first), warm: figures(samples[name].warm) };
    }
  } finally {
    await stop(cold);
    await stop(warm);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  report.loadAverage = report.loadAverage.map((l, i) => Math.round(((l + os.loadavg()[i]) / 2) * 100) / 100);
  if (options.json) console.log(JSON.stringify(report));
  else console.log(formatDemoLatency(report));
  return report;
}

export function formatDemoLatency(report: DemoLatencyReport): string {
  const lines = ['cell     kind               runs  median    min     max   (ms, request to end of stream)'];
  for (const [name, kinds] of Object.entries(report.cells)) {
    for (const [kind, f] of [['cold', kinds.cold], ['first after start', kinds.firstAfterStart], ['warm', kinds.warm]] as const) {
      lines.push(`${name.padEnd(8)} ${kind.padEnd(18)} ${String(f.runs).padStart(4)} ${String(f.medianMs).padStart(7)} ${String(f.minMs).padStart(6)} ${String(f.maxMs).padStart(7)}`);
    }
    lines.push(`${name.padEnd(8)} cold / warm (median): ${(kinds.cold.medianMs / kinds.warm.medianMs).toFixed(1)}×`);
  }
  lines.push(`load average ${report.loadAverage.join(' ')} on ${report.cpus} cores; targets: warm ≤ 300 ms, cold ≤ 2000 ms (quiet machine)`);
  return lines.join('\n');
}
