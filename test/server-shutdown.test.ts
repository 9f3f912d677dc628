/**
 * A real `cardlab serve` process stopped with SIGTERM while a demo loops: the cell's processes are
 * killed, the warm pool drained, their cgroups (sandbox) or temp folder (trusted) removed. And the
 * server refuses to start without the sandbox unless told the cells are trusted.
 */
import { spawn, type ChildProcess } from 'child_process';
import fs from 'fs';
import http from 'http';
import path from 'path';
import { ownCellCgroups } from '../src/cells/cgroup';
import { sandboxProblem } from '../src/cells/sandbox';
import { assertBuilt } from './helpers/built';
import { notebook, SMALL_DECK, workspace, ROOT, type Workspace } from './helpers/server-fixtures';

const CLI = path.join(ROOT, 'bin', 'cardlab.js');

/** Processes a failed test leaves running are killed after it. */
const afterEachCleanup: Array<() => unknown> = [];
afterEach(() => afterEachCleanup.splice(0).forEach((clean) => clean()));

beforeAll(() => {
  assertBuilt(['cells']);
  const missing = sandboxProblem();
  if (missing) throw new Error(`these tests need the cell sandbox: ${missing} (apt-get install bubblewrap; run as root)`);
});

let ws: Workspace;
beforeAll(() => {
  ws = workspace({ 'small.md': SMALL_DECK }, { 'demo.ipynb': notebook([["import os from 'os'\nconsole.log(os.tmpdir())\nwhile (true) {}", ['small#Sub A']]]) });
});
afterAll(() => ws.cleanup());

/** Starts `cardlab serve` on a free port; resolves with the process and its URL once it listens. */
function serve(extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ server: ChildProcess; url: string; output: () => string }> {
  const server = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--cards', ws.cards, '--notebooks', ws.notebooks, '--data', ws.data, ...extra], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  afterEachCleanup.push(() => server.exitCode === null && server.signalCode === null && server.kill('SIGKILL'));
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /open (http:\/\/127\.0\.0\.1:\d+)\//.exec(output)?.[1];
      if (url) resolve({ server, url, output: () => output });
    };
    server.stdout!.on('data', onData);
    server.stderr!.on('data', onData);
    server.on('exit', (code) => reject(new Error(`cardlab serve exited (${code}) before listening:\n${output}`)));
  });
}

/** Posts a run of the looping cell; resolves with what it printed (its temp folder) once it loops. */
function startLoop(url: string): Promise<{ tmp: string; request: http.ClientRequest }> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${url}/api/cells/demo:0/run`, { method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        const printed = /"name":"stdout","text":"([^"]+)\\n"/.exec(text);
        if (printed) {
          clearTimeout(timer);
          resolve({ tmp: printed[1], request });
        }
      });
    });
    request.on('error', () => undefined);
    request.end('{}');
    const timer = setTimeout(() => reject(new Error('the looping cell did not start')), 60_000);
  });
}

/** Every process whose parent chain leads to `pid` (from /proc). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const name of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parents) if (parent === p) out.push(child), walk(child);
  };
  walk(pid);
  return out;
}

/** Running or sleeping; a zombie (killed, waiting for whoever inherited it to reap it) is gone. */
const alive = (pid: number) => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

/** The processes of `pids` still alive after up to a second. */
async function survivors(pids: number[]): Promise<number[]> {
  for (let waited = 0; waited < 1000 && pids.some(alive); waited += 50) await new Promise((r) => setTimeout(r, 50));
  return pids.filter(alive);
}

async function exited(server: ChildProcess): Promise<number | null> {
  if (server.exitCode !== null) return server.exitCode;
  return new Promise((resolve) => server.on('exit', (code) => resolve(code)));
}

test('SIGTERM kills the running cell and the warm pool, and removes their cgroups', async () => {
  const { server, url } = await serve(['--warm-pool', '1']);
  await startLoop(url);
  const cells = descendants(server.pid!);
  expect(cells.length).toBeGreaterThanOrEqual(2); // the looping run and the warm child (sh/bwrap/node each)
  expect(ownCellCgroups(server.pid!).length).toBeGreaterThanOrEqual(4); // memory + pids, for both
  server.kill('SIGTERM');
  expect(await exited(server)).toBe(0);
  expect(await survivors(cells)).toEqual([]);
  expect(ownCellCgroups(server.pid!)).toEqual([]);
});

test('with --trusted-cells, SIGTERM also removes the run\'s temp folder', async () => {
  const { server, url } = await serve(['--trusted-cells', '--warm-pool', '0']);
  const { tmp } = await startLoop(url);
  expect(fs.existsSync(tmp)).toBe(true);
  const cells = descendants(server.pid!);
  expect(cells.length).toBeGreaterThanOrEqual(1);
  server.kill('SIGTERM');
  expect(await exited(server)).toBe(0);
  expect(await survivors(cells)).toEqual([]);
  expect(fs.existsSync(tmp)).toBe(false);
});

test('SIGTERM to `cardlab autograde` kills the grading child and removes its cgroups', async () => {
  const cell = (source: string, metadata: object = {}) => ({ cell_type: 'code', execution_count: null, metadata, outputs: [], source });
  const nb = (cells: object[]) => ({ cells, metadata: {}, nbformat: 4, nbformat_minor: 5 });
  const graded = cell("if (x !== 1) throw new Error('x is not 1')", { cardlab: { grade: { id: 'x-is-one', points: 1 } } });
  const source = path.join(ws.dir, 'source.ipynb');
  const submission = path.join(ws.dir, 'submission.ipynb');
  fs.writeFileSync(source, JSON.stringify(nb([cell('const x = 1'), graded])));
  fs.writeFileSync(submission, JSON.stringify(nb([cell("const x = 1\nconsole.log('looping')\nwhile (true) {}"), graded])));
  const grading = spawn(process.execPath, [CLI, 'autograde', submission, '--source', source, '--timeout', '120'], { stdio: 'ignore' });
  afterEachCleanup.push(() => grading.exitCode === null && grading.signalCode === null && grading.kill('SIGKILL'));
  // Wait until the grading child runs: its cgroups hold bwrap, bwrap's init in the new PID namespace, and node.
  // (Not the CLI's descendants: its one-off sandbox probe is a bwrap too.)
  const inCellCgroups = () =>
    ownCellCgroups(grading.pid!)
      .filter((dir) => dir.includes(`${path.sep}pids${path.sep}`))
      .flatMap((dir) => fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number));
  let cells: number[] = [];
  for (const deadline = Date.now() + 60_000; Date.now() < deadline && cells.length < 3; ) {
    await new Promise((r) => setTimeout(r, 200));
    cells = inCellCgroups();
  }
  expect(cells).toHaveLength(3);
  expect(ownCellCgroups(grading.pid!)).toHaveLength(2); // memory and pids
  grading.kill('SIGTERM');
  const code = await new Promise((resolve) => grading.on('exit', (c, signal) => resolve(c ?? signal)));
  expect(code).toBe(143);
  expect(await survivors(cells)).toEqual([]);
  expect(ownCellCgroups(grading.pid!)).toEqual([]);
});

test('without bubblewrap the server refuses to start, saying what is missing and how to install it', async () => {
  await expect(serve([], { CARDLAB_BWRAP: '/nonexistent/bwrap' })).rejects.toThrow(
    /exited \(1\) before listening:[\s\S]*refusing to run notebook cells: .*no \/nonexistent\/bwrap.*apt-get install bubblewrap/,
  );
});
