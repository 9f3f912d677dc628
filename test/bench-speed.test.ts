/**
 * The speed benchmark (`cardlab bench speed`, bench/speed.ts): its table and
 * ratio formatting, and the real thing with tiny settings through the built
 * CLI (each backend in a child process; wasm and the unavailable tensorflow
 * backend; the PyTorch reference). PyTorch runs when CARDLAB_BENCH_TORCH=1
 * (needs Debian python3-torch); otherwise the run uses a Python without torch,
 * which must be reported by name and leave the TensorFlow.js figures intact.
 */
import { spawn, spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { formatDurationMs, formatProfiles, formatRatio, formatSpeedTable, SpeedRow, torchRow, withRatios } from '../bench/speed';
import { failureReason, measureInChild, memoryEfficientAvailability, summarizeProfile, wasmHeapSuffix } from '../bench/speed-measure';
import { tf, useBackend } from '../src/tf';
import { requestedWasmThreads } from '../src/backend/wasm-threads';
import { torchEnvironment, torchWaitPolicies, type TorchOutcome } from '../bench/torch';
import { analyzeDenseNet, cifarConfig } from '../src/densenet';
import { DEFAULT_REPLICAS } from '../src/parallel';

const ROOT = path.join(__dirname, '..');
const WITH_TORCH = process.env.CARDLAB_BENCH_TORCH === '1';

function row(overrides: Partial<SpeedRow>): SpeedRow {
  return {
    framework: 'tfjs',
    backend: 'wasm',
    variant: 'naive',
    version: '4.22.0',
    depth: 100,
    growthRate: 12,
    batch: 64,
    repeats: 3,
    threads: null,
    trainableParams: 769162,
    forwardMs: null,
    trainStepMs: null,
    forwardRatio: null,
    trainStepRatio: null,
    ...overrides,
    // All runs finished unless the test says otherwise.
    forwardRunsMs: overrides.forwardRunsMs ?? (overrides.forwardMs ? [overrides.forwardMs, overrides.forwardMs, overrides.forwardMs] : []),
    trainStepRunsMs: overrides.trainStepRunsMs ?? (overrides.trainStepMs ? [overrides.trainStepMs, overrides.trainStepMs, overrides.trainStepMs] : []),
  };
}

describe('formatting', () => {
  test('durations: ms below a second, two decimals below 100 s, whole seconds above', () => {
    expect(formatDurationMs(812.4)).toBe('812 ms');
    expect(formatDurationMs(4523)).toBe('4.52 s');
    expect(formatDurationMs(132_400)).toBe('132 s');
  });

  test('ratios: two decimals below 10, one above', () => {
    expect(formatRatio(4.4123)).toBe('4.41×');
    expect(formatRatio(0.874)).toBe('0.87×');
    expect(formatRatio(12.34)).toBe('12.3×');
  });

  test('withRatios divides each time by PyTorch’s, and leaves null where a time is missing', () => {
    const rows = withRatios([
      row({ framework: 'pytorch', backend: 'cpu', version: '1.13.0', threads: 2, forwardMs: 1000, trainStepMs: 3000 }),
      row({ forwardMs: 4500, trainStepError: 'aborted: out of memory (wasm heap limit, 4 GB)' }),
      row({ variant: 'memory-efficient', trainStepMs: 6000 }),
    ]);
    expect(rows.map((r) => [r.forwardRatio, r.trainStepRatio])).toEqual([
      [1, 1],
      [4.5, null],
      [null, 2],
    ]);
    expect(withRatios([row({ forwardMs: 4500, trainStepMs: 9000 })])[0]).toMatchObject({ forwardRatio: null, trainStepRatio: null });
  });

  test('the table shows times, ratios, failures in place of times, and aligned columns', () => {
    const rows = withRatios([
      row({ framework: 'pytorch', backend: 'cpu', version: '1.13.0a0+gitunknown', threads: 2, forwardMs: 1000, trainStepMs: 3100 }),
      row({ backend: 'tensorflow', version: null, trainableParams: null, error: 'not available: needs @tensorflow/tfjs-node' }),
      row({ forwardMs: 4410, trainStepError: 'aborted: out of memory (wasm heap limit, 4 GB)' }),
      row({ variant: 'memory-efficient', trainStepMs: 12_400 }),
      row({ backend: 'cpu', forwardError: 'timed out after 300 s', trainStepError: 'not run (forward timed out after 300 s)' }),
      row({ backend: 'cpu', forwardMs: 77_400, forwardRunsMs: [88_700, 66_100], trainStepError: 'not run (forward timed out after 300 s)' }),
    ]);
    const lines = formatSpeedTable(rows).split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[0]).toMatch(/^framework\s+backend\s+variant\s+forward\s+÷ PyTorch\s+training step\s+÷ PyTorch$/);
    expect(lines[1]).toMatch(/^PyTorch 1\.13\.0a0\s+cpu, 2 threads\s+naive\s+1\.00 s\s+1\.00×\s+3\.10 s\s+1\.00×$/);
    expect(lines[2]).toMatch(/^TensorFlow\.js\s+tensorflow\s+naive\s+not available\s+—\s+not available\s+—$/);
    expect(lines[3]).toMatch(/wasm\s+naive\s+4\.41 s\s+4\.41×\s+aborted: out of memory \(wasm heap limit, 4 GB\)\s+—$/);
    expect(lines[4]).toMatch(/wasm\s+memory-efficient\s+—\s+—\s+12\.40 s\s+4\.00×$/);
    expect(lines[5]).toMatch(/cpu\s+naive\s+timed out after 300 s\s+—\s+not run \(forward timed out after 300 s\)\s+—$/);
    expect(lines[6]).toMatch(/cpu\s+naive\s+77\.40 s \(2\/3 runs\)\s+77\.4×\s+not run/);
    // Right-aligned figures: the forward column ends under "forward" on every line, and every line is as wide.
    const end = (line: string, text: string) => line.indexOf(text) + text.length;
    expect([end(lines[1], '1.00 s'), end(lines[3], '4.41 s'), end(lines[5], 'timed out after 300 s')]).toEqual(
      Array(3).fill(end(lines[0], 'forward')),
    );
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });

  test('a PyTorch row that failed shows a short reason: its time-out, or "not available" when torch is missing', () => {
    const table = (error: string) => formatSpeedTable([row({ framework: 'pytorch', backend: 'cpu', version: null, threads: 2, trainableParams: null, error })]).split('\n')[1];
    expect(table('timed out after 300 s')).toMatch(/^PyTorch\s+cpu, 2 threads\s+naive\s+timed out after 300 s\s+—\s+timed out after 300 s\s+—$/);
    expect(table('PyTorch is not installed for /usr/bin/python3: install the Debian package python3-torch (apt-get install python3-torch)')).toMatch(
      /naive\s+not available\s+—\s+not available\s+—$/,
    );
  });

  test('a wasm abort is out of memory when it says so, or when the heap had reached the 4 GB limit; other failures keep their message', () => {
    const oom = 'aborted: out of memory (wasm heap limit, 4 GB)';
    expect(failureReason('RuntimeError: Aborted(Cannot enlarge memory arrays to size 4294975488 bytes (OOM).)', 'wasm')).toBe(oom);
    // What the release build of tfjs-backend-wasm actually throws, with the heap size the child adds.
    const bare = 'RuntimeError: Aborted(). Build with -sASSERTIONS for more info.';
    expect(failureReason(bare + wasmHeapSuffix(4 * 2 ** 30 - 64 * 2 ** 20), 'wasm')).toBe(oom);
    expect(failureReason(bare + wasmHeapSuffix(1200 * 2 ** 20), 'wasm')).toBe('aborted: Aborted(). Build with -sASSERTIONS for more info. [wasm heap: 1200 MB]');
    expect(failureReason(bare, 'wasm')).toBe('aborted: Aborted(). Build with -sASSERTIONS for more info.');
    expect(failureReason('Error: kernel Foo is not registered\n    at stack', 'cpu')).toBe('aborted: kernel Foo is not registered');
  });
});

describe('kernel profile', () => {
  test('groups kernels by name, longest first, and leaves out entries that are not kernels (a custom-gradient op around its kernels)', async () => {
    await useBackend('cpu');
    const profile = (name: string, ms: number) => ({ name, kernelTimeMs: ms }) as unknown as Awaited<ReturnType<typeof tf.profile>>['kernels'][number];
    const info = { kernels: [profile('Add', 1), profile('Conv2D', 5), profile('Add', 3), profile('efficientDenseBlock', 9)] } as Awaited<ReturnType<typeof tf.profile>>;
    const summary = summarizeProfile(info, 20, 'cpu');
    expect(summary).toEqual({
      wallMs: 20,
      kernelMs: 9,
      kernels: 3,
      top: [
        { kernel: 'Conv2D', ms: 5, share: 5 / 9, calls: 1 },
        { kernel: 'Add', ms: 4, share: 4 / 9, calls: 2 },
      ],
    });
  });
});

describe('PyTorch environment', () => {
  test('PyTorch runs with both OpenMP wait policies unless the caller chose one; the rest of the environment is kept', () => {
    expect(torchWaitPolicies({ PATH: '/usr/bin' })).toEqual(['PASSIVE', 'ACTIVE']);
    expect(torchWaitPolicies({ OMP_WAIT_POLICY: 'ACTIVE' })).toEqual(['ACTIVE']);
    expect(torchEnvironment('ACTIVE', { PATH: '/usr/bin', OMP_WAIT_POLICY: 'PASSIVE' })).toEqual({ PATH: '/usr/bin', OMP_WAIT_POLICY: 'ACTIVE' });
  });

  test("PyTorch's reference is the faster median of each phase, with that run's times and the policy named", () => {
    const run = (forwardMs: number, trainStepMs: number): TorchOutcome => ({
      ok: true, torchVersion: '1.13.0', threads: 2, trainableParams: 100, forwardMs, trainStepMs, forwardRunsMs: [forwardMs, forwardMs + 1], trainStepRunsMs: [trainStepMs, trainStepMs + 1],
    });
    const base = { depth: 100, growthRate: 12, batch: 64, repeats: 2 };
    const row = torchRow([{ policy: 'PASSIVE', outcome: run(1000, 5000) }, { policy: 'ACTIVE', outcome: run(1100, 3500) }], base, 2);
    expect(row).toMatchObject({ forwardMs: 1000, trainStepMs: 3500, forwardRunsMs: [1000, 1001], trainStepRunsMs: [3500, 3501], waitPolicy: { forward: 'PASSIVE', trainStep: 'ACTIVE' } });
    expect(row.byWaitPolicy).toEqual({ PASSIVE: { forwardMs: 1000, trainStepMs: 5000 }, ACTIVE: { forwardMs: 1100, trainStepMs: 3500 } });
    expect(formatSpeedTable(withRatios([row])).split('\n')[1]).toMatch(/cpu, 2 threads, OMP PASSIVE\/ACTIVE +naive +1\.00 s +1\.00× +3\.50 s +1\.00×/);
    const failed = torchRow([{ policy: 'PASSIVE', outcome: { ok: false, error: 'PyTorch is not installed' } }], base, 2);
    expect(failed).toMatchObject({ forwardMs: null, trainStepMs: null, error: 'PyTorch is not installed' });
  });
});

/** Fails with the fix when the build the child processes run is missing or older than its sources. */
function assertBuiltFresh(pairs: [string, string][]): void {
  for (const [built, source] of pairs) {
    const b = path.join(ROOT, built);
    if (!fs.existsSync(b) || fs.statSync(b).mtimeMs < fs.statSync(path.join(ROOT, source)).mtimeMs) {
      throw new Error(`${built} is missing or older than ${source}: run \`npm run build\` first (npm test does)`);
    }
  }
}

const BUILT: [string, string][] = [
  ['dist/bench/speed-measure.js', 'bench/speed-measure.ts'],
  ['dist/bench/speed-worker.js', 'bench/speed-worker.ts'],
  ['dist/bench/torch.js', 'bench/torch.ts'],
  ['dist/src/cli/bench-speed.js', 'src/cli/bench-speed.ts'],
  ['dist/src/cli/bench.js', 'src/cli/bench.ts'],
  ['dist/src/viz/speed.js', 'src/viz/speed.ts'],
  ['dist/bench/speed.js', 'bench/speed.ts'],
];

describe('cardlab bench speed with tiny settings (built CLI, child processes)', () => {
  const depth = 10; // one bottleneck layer per block
  let outDir: string;
  let rows: SpeedRow[];
  let stderr: string;
  let status: number | null;

  beforeAll(() => {
    assertBuiltFresh(BUILT);
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cardlab-bench-speed-'));
    let python = '/usr/bin/python3';
    if (!WITH_TORCH) {
      // A real Python that cannot import torch: -S leaves out the site packages where Debian puts it.
      python = path.join(outDir, 'python-without-torch');
      fs.writeFileSync(python, '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n', { mode: 0o755 });
    }
    const args = ['bench', 'speed', '--json', '--depth', String(depth), '--batch', '2', '--repeats', '1',
      '--backends', 'tensorflow,wasm', '--timeout', '150', '--python', python, '--out', outDir];
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'cardlab.js'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 400_000 });
    status = r.status;
    stderr = r.stderr;
    rows = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as SpeedRow);
  }, 420_000);

  afterAll(() => {
    if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
  });

  const efficient = memoryEfficientAvailability().ok;

  test('exits 0 and prints one JSON row per framework, backend and variant', () => {
    expect({ status, stderrTail: status === 0 ? '' : stderr.slice(-2000) }).toEqual({ status: 0, stderrTail: '' });
    expect(rows.map((r) => `${r.framework}/${r.backend}/${r.variant}`)).toEqual([
      'pytorch/cpu/naive',
      'tfjs/tensorflow/naive',
      'tfjs/wasm/naive',
      ...(efficient ? ['tfjs/wasm/memory-efficient', 'tfjs/wasm/data-parallel'] : []),
    ]);
    const keys = ['framework', 'backend', 'variant', 'version', 'depth', 'growthRate', 'batch', 'repeats', 'threads', 'trainableParams',
      'forwardMs', 'trainStepMs', 'forwardRunsMs', 'trainStepRunsMs', 'forwardRatio', 'trainStepRatio'];
    for (const r of rows) {
      const own = r.variant === 'data-parallel' ? [...keys, 'replicas'] : keys;
      expect(Object.keys(r).filter((k) => !/Error$|^error$|Profile$/.test(k)).sort()).toEqual([...own].sort());
      expect(r).toMatchObject({ depth, growthRate: 12, batch: 2, repeats: 1 });
    }
  });

  test('wasm: forward and training step are positive times, on the model with the analytic parameter count', () => {
    const wasm = rows.find((r) => r.backend === 'wasm' && r.variant === 'naive')!;
    expect(wasm).toMatchObject({ framework: 'tfjs', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    // The threaded build: as many XNNPACK threads as asked for (default: the cores), capped at the cores.
    expect(wasm.threads).toBe(Math.min(requestedWasmThreads(), os.availableParallelism()));
    expect(wasm.error ?? wasm.forwardError ?? wasm.trainStepError).toBeUndefined();
    expect(wasm.forwardMs).toBeGreaterThan(0);
    expect(wasm.trainStepMs).toBeGreaterThan(0);
    const config = cifarConfig({ depth, growthRate: 12, bottleneck: true, compression: 0.5 });
    expect(wasm.trainableParams).toBe(analyzeDenseNet(config).trainableParams);
    expect(stderr).toMatch(/\[wasm\] forward warm-up: [\d.]+ m?s/);
    expect(stderr).toMatch(/\[wasm\] training step run 1\/1: [\d.]+ m?s/);
  });

  test('each measured tfjs phase has a kernel profile: real wasm kernels whose shares add up to at most 1', () => {
    const wasm = rows.filter((r) => r.backend === 'wasm');
    const profiles = wasm.flatMap((r) => [r.forwardProfile, r.trainStepProfile]).filter((p) => p !== undefined);
    expect(profiles.length).toBe(wasm.flatMap((r) => [r.forwardMs, r.trainStepMs]).filter((ms) => ms !== null).length);
    for (const p of profiles) {
      expect(p!.kernelMs).toBeGreaterThan(0);
      expect(p!.top.length).toBeGreaterThan(0);
      const shares = p!.top.reduce((a, k) => a + k.share, 0);
      expect(shares).toBeLessThanOrEqual(1 + 1e-9);
      expect(p!.top.map((k) => k.ms)).toEqual([...p!.top.map((k) => k.ms)].sort((a, b) => b - a));
    }
    // The training step runs the conv weight gradient that cardlab registers on wasm.
    expect(wasm[0].trainStepProfile!.top.map((k) => k.kernel)).toContain('Conv2DBackpropFilter');
    expect(formatProfiles(rows)).toMatch(/wasm naive training step: .* in [\d,]+ kernels of .* wall: \w+ \d+% \(\d+×\)/);
  });

  test('wasm data-parallel: a training-step row over single-threaded replicas (one per core, at most one per row), with the first replica\'s profile', () => {
    if (!efficient) return expect(rows.find((r) => r.variant === 'data-parallel')).toBeUndefined();
    const row = rows.find((r) => r.variant === 'data-parallel')!;
    // Batch 2: at most 2 replicas, each needs a row.
    const replicas = Math.min(DEFAULT_REPLICAS, 2);
    expect(row).toMatchObject({ backend: 'wasm', replicas, threads: 1, forwardMs: null });
    expect(row.trainStepError).toBeUndefined();
    expect(row.trainStepMs).toBeGreaterThan(0);
    expect(row.trainStepProfile!.top.map((k) => k.kernel)).toContain('Conv2DBackpropFilter');
    expect(stderr).toMatch(new RegExp(`\\[wasm data-parallel\\] wasm \\(${replicas} replicas × 1 thread\\) loaded`));
    expect(formatSpeedTable(rows)).toMatch(new RegExp(`wasm, ${replicas} replicas × 1 thread +data-parallel +— +— +[\\d.]+ m?s`));
  });

  test('the memory-efficient DenseNet gets a training-step row when it exists, a note when not', () => {
    const row = rows.find((r) => r.variant === 'memory-efficient');
    if (efficient) {
      expect(row!.trainStepMs).toBeGreaterThan(0);
      expect(row!.forwardMs).toBeNull();
    } else {
      expect(row).toBeUndefined();
      expect(JSON.parse(fs.readFileSync(path.join(outDir, 'speed.json'), 'utf8')).notes.join('\n')).toMatch(/memory-efficient DenseNet: not measured/);
    }
  });

  test('tensorflow: reported as not available, naming @tensorflow/tfjs-node, when it does not load', () => {
    const tfRow = rows.find((r) => r.backend === 'tensorflow')!;
    if (tfRow.error) {
      expect(tfRow.error).toMatch(/^not available: .*@tensorflow\/tfjs-node/);
      expect([tfRow.forwardMs, tfRow.trainStepMs]).toEqual([null, null]);
    } else {
      expect(tfRow.forwardMs).toBeGreaterThan(0);
      expect(tfRow.trainStepMs).toBeGreaterThan(0);
    }
  });

  if (WITH_TORCH) {
    test('PyTorch (python3-torch): same parameter count, positive times, and the ratios are tfjs ÷ PyTorch', () => {
      const torch = rows[0];
      expect(torch.error).toBeUndefined();
      expect(torch).toMatchObject({ threads: 2, forwardRatio: 1, trainStepRatio: 1 });
      expect(torch.forwardMs).toBeGreaterThan(0);
      expect(torch.trainStepMs).toBeGreaterThan(0);
      const wasm = rows.find((r) => r.backend === 'wasm' && r.variant === 'naive')!;
      expect(torch.trainableParams).toBe(wasm.trainableParams);
      expect(wasm.forwardRatio).toBeCloseTo(wasm.forwardMs! / torch.forwardMs!, 10);
      expect(wasm.trainStepRatio).toBeCloseTo(wasm.trainStepMs! / torch.trainStepMs!, 10);
    });
  } else {
    test('without PyTorch: an error naming the Debian package python3-torch, and the tfjs figures without ratios', () => {
      const torch = rows[0];
      expect(torch.error).toMatch(/PyTorch is not installed .*python3-torch/);
      expect([torch.forwardMs, torch.trainStepMs]).toEqual([null, null]);
      const wasm = rows.find((r) => r.backend === 'wasm' && r.variant === 'naive')!;
      expect(wasm.forwardMs).toBeGreaterThan(0);
      expect([wasm.forwardRatio, wasm.trainStepRatio]).toEqual([null, null]);
    });
  }

  test('writes the rows, a plotly figure spec and a standalone HTML chart', () => {
    const saved = JSON.parse(fs.readFileSync(path.join(outDir, 'speed.json'), 'utf8'));
    expect(saved.rows).toEqual(rows);
    expect(saved.settings).toMatchObject({ depth, batch: 2, repeats: 1, timeoutSeconds: 150 });
    const figure = JSON.parse(fs.readFileSync(path.join(outDir, 'speed-figure.json'), 'utf8'));
    expect(figure.data.map((t: { name: string }) => t.name)).toEqual(['forward', 'training step']);
    const wasmIndex = rows.findIndex((r) => r.backend === 'wasm' && r.variant === 'naive');
    expect(figure.data[0].y[wasmIndex]).toBeCloseTo(rows[wasmIndex].forwardMs! / 1000, 10);
    const html = fs.readFileSync(path.join(outDir, 'speed.html'), 'utf8');
    expect(html).toContain('Plotly.newPlot');
    expect(html).not.toMatch(/<script src=/); // plotly inlined: opens offline
  });
});

describe('time limit', () => {
  test('a backend run over its time limit is reported as timed out, with the phases it did not reach', async () => {
    assertBuiltFresh(BUILT);
    // The cpu backend needs minutes for this forward pass (32×32 convs at batch 64): 5 s is never enough.
    const started = Date.now();
    const outcome = await measureInChild(
      { backend: 'cpu', depth: 100, growthRate: 12, batch: 64, repeats: 1, phases: ['forward', 'trainStep'], memoryEfficient: false },
      { timeoutMs: 5000, worker: path.join(ROOT, 'dist', 'bench', 'speed-worker.js') },
    );
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(outcome).toMatchObject({
      timedOut: true,
      ms: {},
      errors: { forward: 'timed out after 5 s', trainStep: 'not run (forward timed out after 5 s)' },
    });
  }, 60_000);

  test('a phase cut short by the time limit after some timed runs reports their median and the runs', async () => {
    assertBuiltFresh(BUILT);
    // 100,000 forward passes of a tiny model: far more than fit in 15 s, yet each takes milliseconds.
    const outcome = await measureInChild(
      { backend: 'wasm', depth: 10, growthRate: 12, batch: 2, repeats: 100_000, phases: ['forward', 'trainStep'], memoryEfficient: false },
      { timeoutMs: 15_000, worker: path.join(ROOT, 'dist', 'bench', 'speed-worker.js') },
    );
    const runs = outcome.runsMs.forward ?? [];
    expect(outcome.timedOut).toBe(true);
    expect(runs.length).toBeGreaterThan(0);
    expect(runs.length).toBeLessThan(100_000);
    const sorted = [...runs].sort((a, b) => a - b);
    expect(outcome.ms.forward).toBeGreaterThanOrEqual(sorted[0]);
    expect(outcome.ms.forward).toBeLessThanOrEqual(sorted[sorted.length - 1]);
    expect(outcome.errors).toEqual({ trainStep: 'not run (forward timed out after 15 s)' });
  }, 60_000);
});

describe('a speed worker whose bench is killed', () => {
  test('stops instead of training on, orphaned', async () => {
    // A bench (this script) that measures a tiny DenseNet a hundred thousand times, killed mid-way.
    const bench = `
      const { measureInChild } = require(${JSON.stringify(path.join(ROOT, 'dist/bench/speed-measure.js'))});
      measureInChild({ backend: 'cpu', depth: 10, growthRate: 4, batch: 1, repeats: 100000, phases: ['forward'], memoryEfficient: false },
        { timeoutMs: 600000, onMessage: (m) => { if (m.type === 'progress' && m.run === 2) console.log('running') } });`;
    const parent = spawn(process.execPath, ['-e', bench], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      parent.stdout!.on('data', (chunk: Buffer) => chunk.includes('running') && resolve());
      parent.on('exit', () => reject(new Error('the bench ended before its worker ran')));
    });
    const workers = fs.readFileSync(`/proc/${parent.pid}/task/${parent.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    expect(workers).toHaveLength(1);
    parent.kill('SIGKILL');
    const alive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    for (const deadline = Date.now() + 15_000; alive(workers[0]) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 100));
    expect(alive(workers[0])).toBe(false);
  }, 60_000);
});

