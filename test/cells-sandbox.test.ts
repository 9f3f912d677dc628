/**
 * The cell sandbox against a hostile cell: each attack the issue found (and a few more of each
 * class) run as a real cell, first with the operating system's layer alone (bubblewrap and the
 * cgroups; Node's permission model off), then as runs really are (both layers), and must fail
 * with a clear error. Needs Debian's bubblewrap and writable cgroup v1 memory and pids
 * controllers (root); without them these tests fail, naming what is missing.
 */
import fs from 'fs';
import http from 'http';
import os from 'os';
import path from 'path';
import type { AddressInfo } from 'net';
import { runCell as startCell, PROJECT_ROOT, type RunOptions, type RunResult } from '../src/cells/runner';
import { sandboxProblem, sandboxTmpDir, SandboxUnavailableError } from '../src/cells/sandbox';
import { ownCellCgroups } from '../src/cells/cgroup';
import { WarmPool } from '../src/cells/pool';
import { childScript } from '../src/cells/runner';
import type { CellEvent } from '../src/cells/events';
import { assertBuilt } from './helpers/built';

beforeAll(() => {
  assertBuilt(['cells']);
  const missing = sandboxProblem();
  if (missing) throw new Error(`these tests need the cell sandbox: ${missing} (apt-get install bubblewrap; run as root)`);
});

const runCell = (cell: string, options?: RunOptions) => startCell(cell, options).result;

function stdout(result: RunResult): string {
  return result.events
    .filter((e): e is Extract<CellEvent, { type: 'stream' }> => e.type === 'stream' && e.name === 'stdout')
    .map((e) => e.text)
    .join('');
}
const exitOf = (result: RunResult) => result.events.at(-1) as Extract<CellEvent, { type: 'exit' }>;

/** A cell that tries each action and prints `{ name: 'ok: …' | '<error code>: <message>' }` as JSON. */
function probeCell(attempts: Record<string, string>): string {
  return [
    "import fs from 'fs'",
    "import net from 'net'",
    'const results: Record<string, string> = {}',
    'async function attempt(name: string, action: () => unknown) {',
    "  try { results[name] = 'ok: ' + String(await action()).slice(0, 80) }",
    "  catch (e) { results[name] = `${(e as { code?: string }).code ?? 'error'}: ${(e as Error).message}` }",
    '}',
    ...Object.entries(attempts).map(([name, code]) => `await attempt(${JSON.stringify(name)}, () => ${code})`),
    'console.log(JSON.stringify(results))',
  ].join('\n');
}

async function probe(attempts: Record<string, string>, options: RunOptions = {}): Promise<Record<string, string>> {
  const result = await runCell(probeCell(attempts), { timeLimitMs: 60_000, ...options });
  if (!result.ok) throw new Error(`the probe cell failed: ${JSON.stringify(result.events.slice(-4))}`);
  return JSON.parse(stdout(result));
}

const LAYERS: [string, RunOptions][] = [
  ['the OS layer alone', { permissionModel: false }],
  ['both layers', {}],
];

describe('network', () => {
  let server: http.Server;
  let port: number;
  let requests = 0;
  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      requests++;
      res.end('the review server answered');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  test.each(LAYERS)('a cell cannot connect to a server listening on 127.0.0.1, nor leave the machine (%s)', async (_name, options) => {
    const connect = (host: string, p: number) =>
      `new Promise((resolve, reject) => { const s = net.connect(${p}, ${JSON.stringify(host)}, () => { s.end(); resolve('connected') }); s.on('error', reject) })`;
    const seen = await probe(
      {
        loopback: connect('127.0.0.1', port),
        http: `fetch('http://127.0.0.1:${port}/').then((r) => r.text())`,
        outside: connect('10.0.0.1', 80),
      },
      options,
    );
    expect(seen.loopback).toMatch(/^ECONNREFUSED: connect ECONNREFUSED 127\.0\.0\.1/);
    expect(seen.http).toMatch(/^error: fetch failed/);
    expect(seen.outside).toMatch(/^ENETUNREACH: connect ENETUNREACH 10\.0\.0\.1:80/);
    expect(requests).toBe(0);
  });
});

describe('reads', () => {
  const parent = path.dirname(PROJECT_ROOT);
  const dataDir = path.join(PROJECT_ROOT, `.cardlab-sandbox-test-${process.pid}`);
  const parentFile = path.join(parent, `.cardlab-sandbox-test-${process.pid}.txt`);
  let notebookDir: string;
  beforeAll(() => {
    fs.mkdirSync(dataDir);
    fs.writeFileSync(path.join(dataDir, 'coursework.sqlite'), 'password hashes');
    fs.writeFileSync(parentFile, 'next to the project');
    // A notebook folder holding links that point into the project.
    notebookDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cardlab-sandbox-nb-'));
    fs.symlinkSync(path.join(PROJECT_ROOT, 'coursework'), path.join(notebookDir, 'coursework-link'));
    fs.symlinkSync(PROJECT_ROOT, path.join(notebookDir, 'project-link'));
  });
  afterAll(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(parentFile, { force: true });
    fs.rmSync(notebookDir, { recursive: true, force: true });
  });

  const hiddenTests = path.join(PROJECT_ROOT, 'coursework', '01-composite-layer.ipynb');
  const read = (file: string) => `fs.readFileSync(${JSON.stringify(file)}, 'utf8').length`;
  const attempts = () => ({
    hiddenTestsThroughDist: read(path.join(PROJECT_ROOT, 'packages', 'cardlab', 'dist', '..', 'coursework', '01-composite-layer.ipynb')),
    hiddenTestsThroughModules: read(path.join(PROJECT_ROOT, 'node_modules', 'cardlab', 'dist', '..', '..', 'coursework', '01-composite-layer.ipynb')),
    hiddenTests: read(hiddenTests),
    deck: read(path.join(PROJECT_ROOT, 'cards', 'DenseNet.md')),
    dataDir: read(path.join(dataDir, 'coursework.sqlite')),
    projectParent: read(parentFile),
    listParent: `fs.readdirSync(${JSON.stringify(parent)}).join(',')`,
    linkToCoursework: read(path.join(notebookDir, 'coursework-link', '01-composite-layer.ipynb')),
    linkToProject: read(path.join(notebookDir, 'project-link', 'cards', 'DenseNet.md')),
    procRoot: read(`/proc/1/root${hiddenTests}`),
    procSelfRoot: read(`/proc/self/root${hiddenTests}`),
    procParent: `fs.readdirSync('/proc').filter((n) => /^\\d+$/.test(n)).join(',')`,
    hostFile: read('/etc/passwd'),
    code: `JSON.parse(fs.readFileSync(${JSON.stringify(path.join(PROJECT_ROOT, 'package.json'))}, 'utf8')).name`,
  });

  test.each(LAYERS)('the hidden tests, decks, data folder and the project parent are not there (%s)', async (_name, options) => {
    const seen = await probe(attempts(), { cwd: notebookDir, ...options });
    const absent = options.permissionModel === false ? /^ENOENT: / : /^(ENOENT|ERR_ACCESS_DENIED): /;
    for (const name of ['hiddenTestsThroughDist', 'hiddenTestsThroughModules', 'hiddenTests', 'deck', 'dataDir', 'projectParent', 'linkToCoursework', 'linkToProject', 'procRoot', 'procSelfRoot', 'hostFile']) {
      expect([name, seen[name]]).toEqual([name, expect.stringMatching(absent)]);
    }
    if (options.permissionModel === false) {
      // The project's parent holds the project folder and nothing else (but the notebook folder when
      // that is there too, as with a checkout under /tmp); /proc shows only the sandbox.
      const mounted = [PROJECT_ROOT, notebookDir].filter((dir) => path.dirname(dir) === parent).map((dir) => path.basename(dir));
      expect(seen.listParent.replace(/^ok: /, '').split(',').sort()).toEqual(mounted.sort());
      expect(seen.procParent).toMatch(/^ok: 1,\d+$/);
    } else {
      expect(seen.listParent).toMatch(/^ERR_ACCESS_DENIED: /);
    }
    // What cells need is there.
    expect(seen.code).toBe('ok: cardlab');
  });
});

describe('folders to hide inside the notebook folder', () => {
  test('decks and the data folder kept with the notebooks are empty for cells; a folder holding the project is refused', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cardlab-sandbox-vault-'));
    try {
      fs.mkdirSync(path.join(dir, 'cards'));
      fs.writeFileSync(path.join(dir, 'cards', 'deck.md'), 'a deck');
      fs.mkdirSync(path.join(dir, '.cardlab'));
      fs.writeFileSync(path.join(dir, '.cardlab', 'coursework.sqlite'), 'submissions');
      fs.writeFileSync(path.join(dir, 'data.csv'), 'the notebook reads this');
      const seen = await probe(
        {
          deck: `fs.readFileSync(${JSON.stringify(path.join(dir, 'cards', 'deck.md'))}, 'utf8')`,
          data: `fs.readFileSync(${JSON.stringify(path.join(dir, '.cardlab', 'coursework.sqlite'))}, 'utf8')`,
          listCards: `fs.readdirSync(${JSON.stringify(path.join(dir, 'cards'))}).length`,
          own: `fs.readFileSync('data.csv', 'utf8')`,
        },
        { cwd: dir, hidden: [path.join(dir, 'cards'), path.join(dir, '.cardlab')], permissionModel: false },
      );
      expect(seen).toEqual({ deck: expect.stringMatching(/^ENOENT: /), data: expect.stringMatching(/^ENOENT: /), listCards: 'ok: 0', own: 'ok: the notebook reads this' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(() => startCell('1', { cwd: path.dirname(PROJECT_ROOT) })).toThrow(/cells cannot run in .*: that folder holds the project itself/);
    expect(ownCellCgroups()).toEqual([]);
  });
});

describe('memory', () => {
  const LIMIT_MB = 320;
  // Each cell prints once it runs, so the kill is the allocation's, not the start-up's.
  const hogs: [string, string][] = [
    ['Buffers', 'const kept: Buffer[] = []\nwhile (true) kept.push(Buffer.alloc(16 * 1024 * 1024, 1))'],
    ['wasm memory', 'const memory = new (globalThis as any).WebAssembly.Memory({ initial: 1, maximum: 65536 })\nwhile (true) { memory.grow(256); new Uint8Array(memory.buffer).fill(1) }'],
    ['the V8 heap', 'const hoard: object[] = []\nwhile (true) hoard.push({ n: hoard.length, s: String(hoard.length) })'],
  ];
  test.each(hogs)('%s are killed at the memory limit, with reason memory', async (_name, hog) => {
    const result = await runCell(`console.log('running')\n${hog}`, { memoryLimitMb: LIMIT_MB, timeLimitMs: 60_000 });
    expect(stdout(result)).toBe('running\n');
    expect(result.reason).toBe('memory');
    expect(exitOf(result)).toMatchObject({ ok: false, reason: 'memory', message: `memory limit of ${LIMIT_MB} MB exceeded` });
  });

  test('a cell computing on the tfjs wasm backend works under the default limit', async () => {
    const cell = [
      "import { tf, initBackend } from 'cardlab'",
      "await initBackend('wasm')",
      'const x = tf.randomNormal([64, 32, 32, 16]) as tf.Tensor4D',
      "const y = tf.conv2d(x, tf.ones([3, 3, 16, 16]) as tf.Tensor4D, 1, 'same')",
      "console.log(tf.getBackend(), y.shape.join('x'))",
    ].join('\n');
    const result = await runCell(cell, { timeLimitMs: 60_000 });
    expect(stdout(result)).toBe('wasm 64x32x32x16\n');
    expect(result.reason).toBe('done');
  });
});

describe('time', () => {
  test('writing "ready" events does not move the time limit', async () => {
    const cell = [
      "import fs from 'fs'",
      "setInterval(() => fs.writeSync(3, JSON.stringify({ type: 'ready', ms: 0 }) + '\\n'), 300)",
      'await new Promise(() => {})',
    ].join('\n');
    // A warm child, so the cell surely runs (and forges) within the limit on a busy machine.
    const cwd = path.join(PROJECT_ROOT, 'notebooks');
    const pool = new WarmPool({ size: 1, script: childScript(), projectRoot: PROJECT_ROOT, cwd, memoryLimitMb: 2048 });
    try {
      pool.fill();
      for (const deadline = Date.now() + 90_000; pool.warm === 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
      const started = Date.now();
      const result = await startCell(cell, { timeLimitMs: 8000, pool, cwd }).result;
      const elapsed = Date.now() - started;
      expect(result.events.filter((e) => e.type === 'ready').length).toBeGreaterThan(5); // the forged ones came
      expect(exitOf(result)).toMatchObject({ reason: 'timeout', message: 'time limit of 8 s exceeded' });
      expect(elapsed).toBeGreaterThanOrEqual(8000);
      expect(elapsed).toBeLessThan(10_000);
    } finally {
      pool.close();
    }
  });

  test('start-up counts: a limit shorter than a cold start kills the run at the limit', async () => {
    const started = Date.now();
    const result = await runCell("import { tf } from 'cardlab'\nconsole.log(tf.version)", { timeLimitMs: 500 });
    expect(result.reason).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  test('a forged exit event is not taken for the end of the run', async () => {
    const cell = [
      "import fs from 'fs'",
      "fs.writeSync(3, JSON.stringify({ type: 'exit', ok: true, reason: 'done', exitCode: 0, signal: null, ms: 1 }) + '\\n')",
      "throw new Error('the real end')",
    ].join('\n');
    const result = await runCell(cell);
    expect(result.events.filter((e) => e.type === 'exit')).toHaveLength(1);
    expect(exitOf(result)).toMatchObject({ ok: false, reason: 'cell-error' });
  });
});

describe('environment', () => {
  test('a cell gets a fixed environment: no token, no secret of the parent', async () => {
    process.env.CARDLAB_TOKEN = 'server-token-must-not-leak';
    process.env.SECRET_FOR_SANDBOX_TEST = 'hidden';
    process.env.CARDLAB_NOTEBOOK_SIZE = 'quick';
    try {
      const result = await runCell('console.log(JSON.stringify(process.env))');
      const env = JSON.parse(stdout(result));
      expect(env).not.toHaveProperty('CARDLAB_TOKEN');
      expect(env).not.toHaveProperty('SECRET_FOR_SANDBOX_TEST');
      expect(env.CARDLAB_NOTEBOOK_SIZE).toBe('quick');
      expect(Object.keys(env).sort()).toEqual(expect.arrayContaining(['HOME', 'PATH', 'TMPDIR']));
      expect(Object.keys(env).filter((name) => !['HOME', 'PATH', 'PWD', 'TMPDIR', 'LANG', 'CARDLAB_NOTEBOOK_SIZE', 'CARDLAB_BACKEND'].includes(name))).toEqual([]);
    } finally {
      delete process.env.CARDLAB_TOKEN;
      delete process.env.SECRET_FOR_SANDBOX_TEST;
      delete process.env.CARDLAB_NOTEBOOK_SIZE;
    }
  });
});

describe('without the sandbox', () => {
  test('a missing bubblewrap is a refusal naming it and how to install it', () => {
    expect(() => startCell('console.log(1)', { sandbox: { bwrapPath: '/nonexistent/bwrap' } })).toThrow(SandboxUnavailableError);
    expect(() => startCell('console.log(1)', { sandbox: { bwrapPath: '/nonexistent/bwrap' } })).toThrow(
      /refusing to run notebook cells: .*bubblewrap is not installed \(no \/nonexistent\/bwrap\).*apt-get install bubblewrap.*CARDLAB_UNSANDBOXED=1/,
    );
  });

  test('missing cgroups are a refusal too', () => {
    expect(() => startCell('console.log(1)', { sandbox: { cgroupRoot: '/nonexistent/cgroup' } })).toThrow(/cannot create a memory cgroup under \/nonexistent\/cgroup/);
  });

  test('trusted runs are possible when asked for explicitly', async () => {
    const result = await runCell("console.log('trusted')", { unsandboxed: true, sandbox: { bwrapPath: '/nonexistent/bwrap' } });
    expect(stdout(result)).toBe('trusted\n');
  });
});

describe('warm pool', () => {
  test('each run gets a fresh warm child: nothing of the previous run is left', async () => {
    const cwd = path.join(PROJECT_ROOT, 'notebooks');
    const pool = new WarmPool({ size: 1, script: childScript(), projectRoot: PROJECT_ROOT, cwd, memoryLimitMb: 2048 });
    try {
      pool.fill();
      // Only a child that finished warming up is handed out.
      const warmed = async () => {
        for (const deadline = Date.now() + 90_000; pool.warm === 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
      };
      await warmed();
      const leave = startCell("import fs from 'fs'\nimport os from 'os'\n(globalThis as any).leftOver = 'global'\nfs.writeFileSync(os.tmpdir() + '/left-over.txt', 'file')\nconsole.log('left')", { pool, cwd });
      expect(leave.warm).toBe(true);
      expect(stdout(await leave.result)).toBe('left\n');
      await warmed();
      const look = startCell("import fs from 'fs'\nimport os from 'os'\nconsole.log(String((globalThis as any).leftOver), fs.existsSync(os.tmpdir() + '/left-over.txt'))", { pool, cwd });
      expect(look.warm).toBe(true);
      expect(stdout(await look.result)).toBe('undefined false\n');
    } finally {
      pool.close();
    }
  });
});

/**
 * One field of /proc/<id>/stat (numbered after the command name: 0 is the state, 16 the nice value)
 * for every process (`cgroup.procs`) or thread (`tasks`) in this process's cell cgroups.
 */
function cellStatField(list: 'cgroup.procs' | 'tasks', field: number): string[] {
  const out: string[] = [];
  for (const dir of ownCellCgroups().filter((d) => d.includes('/memory/'))) {
    for (const id of fs.readFileSync(path.join(dir, list), 'utf8').split('\n').filter(Boolean)) {
      try {
        const stat = fs.readFileSync(`/proc/${id}/stat`, 'utf8');
        out.push(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[field]);
      } catch {
        // it ended
      }
    }
  }
  return out;
}
const cellThreadNiceness = () => cellStatField('tasks', 16).map(Number);
/** The scheduler state (R, S, T…) of every process in this process's cell cgroups. */
const cellProcessStates = () => cellStatField('cgroup.procs', 0);

describe('a warm child while it waits', () => {
  test('yields the CPU to runs and to the server (every thread at nice 10); the run it is handed runs at normal priority', async () => {
    const cwd = path.join(PROJECT_ROOT, 'notebooks');
    const pool = new WarmPool({ size: 1, script: childScript(), projectRoot: PROJECT_ROOT, cwd, memoryLimitMb: 2048 });
    try {
      pool.fill();
      for (const deadline = Date.now() + 90_000; pool.warm === 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
      const waiting = cellThreadNiceness();
      expect(waiting.length).toBeGreaterThan(5); // node's threads, bwrap, the shell
      expect(new Set(waiting)).toEqual(new Set([10]));
      const run = startCell("import os from 'os'\nconsole.log(os.getPriority())", { pool, cwd });
      expect(run.warm).toBe(true);
      expect(stdout(await run.result)).toBe('0\n');
    } finally {
      pool.close();
    }
  });
});

describe('a pool child still warming up while a run goes on', () => {
  test('is stopped for the run (no CPU taken from it) and goes on warming after it', async () => {
    const cwd = path.join(PROJECT_ROOT, 'notebooks');
    const pool = new WarmPool({ size: 1, script: childScript(), projectRoot: PROJECT_ROOT, cwd, memoryLimitMb: 2048 });
    try {
      pool.fill();
      expect(pool.warm).toBe(0);
      // A cold run (the pool has no warm child yet) that sleeps long enough to look at the pool.
      let states: string[] = [];
      const run = startCell("console.log('started')\nawait new Promise((r) => setTimeout(r, 1500))", {
        pool,
        cwd,
        onEvent: (e) => {
          if (e.type === 'stream') states = cellProcessStates();
        },
      });
      expect(run.warm).toBe(false);
      expect(stdout(await run.result)).toBe('started\n');
      // The run's own processes run (R/S); the pool child's are stopped (T).
      expect(states.filter((s) => s === 'T').length).toBeGreaterThanOrEqual(1);
      expect(states.some((s) => s !== 'T')).toBe(true);
      for (const deadline = Date.now() + 90_000; pool.warm === 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
      expect(pool.warm).toBe(1);
      expect(cellProcessStates()).not.toContain('T');
    } finally {
      pool.close();
    }
  });
});

describe('a warm child that waited long', () => {
  test('is still valid: waiting longer than the time limit does not count against its run', async () => {
    const cwd = path.join(PROJECT_ROOT, 'notebooks');
    const pool = new WarmPool({ size: 1, script: childScript(), projectRoot: PROJECT_ROOT, cwd, memoryLimitMb: 2048 });
    try {
      pool.fill();
      for (const deadline = Date.now() + 90_000; pool.warm === 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 6000)); // longer than the run's own limit below
      const run = startCell("console.log('still fine')", { pool, cwd, timeLimitMs: 5000 });
      expect(run.warm).toBe(true);
      const result = await run.result;
      expect(stdout(result)).toBe('still fine\n');
      expect(result.reason).toBe('done');
    } finally {
      pool.close();
    }
  });
});

describe('notebooks outside the project', () => {
  test("a notebook folder under /tmp imports 'cardlab'", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cardlab-nbs-'));
    try {
      const result = await runCell("import { notebookSize } from 'cardlab'\nconsole.log(typeof notebookSize)", { cwd: dir, timeLimitMs: 60_000 });
      expect(result.events.filter((e) => e.type === 'error')).toEqual([]);
      expect(stdout(result)).toBe('function\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('under /tmp, the private temp folder moves away, so Node\'s permission model still denies writing the notebook folder', async () => {
    const dir = fs.realpathSync(fs.mkdtempSync(path.join('/tmp', 'cardlab-nbs-')));
    expect(sandboxTmpDir({ projectRoot: PROJECT_ROOT, cwd: dir })).toBe('/cardlab-tmp');
    try {
      const cell = [
        "import fs from 'fs'",
        "import os from 'os'",
        "const attempt = (f: () => void) => { try { f(); return 'ok' } catch (e) { return (e as { code: string }).code } }",
        `console.log(os.tmpdir(), attempt(() => fs.writeFileSync(os.tmpdir() + '/x', 'x')), attempt(() => fs.writeFileSync(${JSON.stringify(dir)} + '/x', 'x')))`,
      ].join('\n');
      const result = await runCell(cell, { cwd: dir });
      expect(stdout(result)).toBe('/cardlab-tmp ok ERR_ACCESS_DENIED\n');
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('no cgroup is left behind by the runs above', () => {
  expect(ownCellCgroups()).toEqual([]);
});
