/**
 * Live demos through the server: notebook cells linked to cards show up with the card, run in the
 * cell runner's sandboxed child process, and stream their outputs as NDJSON as they come. A demo
 * that loops forever is killed at the time limit while the server keeps answering.
 */
import fs from 'fs';
import http from 'http';
import type { AddressInfo } from 'net';
import request from 'supertest';
import { createApp, type CardlabApp } from '../server/app';
import type { CellEvent } from '../src/cells/events';
import { PLOTLY_MIME } from '../src/cells/display';
import { assertBuilt } from './helpers/built';
import { notebook, SMALL_DECK, workspace, type Workspace } from './helpers/server-fixtures';

beforeAll(() => assertBuilt(['cells']));

const DEMO = notebook([
  ["import { displayPlotly } from 'cardlab'\nconsole.log('channels', [3, 13, 23].join(' -> '))\ndisplayPlotly({ data: [{ y: [3, 13, 23] }], layout: { title: 'growth' } })", ['small#Sub A']],
  ["console.log('cloze only')", ['small#^cloze-card']],
  ["console.log('first')\nawait new Promise((r) => setTimeout(r, 1500))\nconsole.log('second')", ['small#Topic']],
  ['while (true) {}', ['small#Sub B']],
  ["console.log('not linked')", []],
  ["console.log('lost')", ['small#No such heading']],
]);

let ws: Workspace;
let cardlab: CardlabApp;
let server: http.Server;
let base: string;

beforeAll(async () => {
  ws = workspace({ 'small.md': SMALL_DECK }, { 'demo.ipynb': DEMO, 'broken.ipynb': { cells: 'no' } });
  // Importing cardlab loads TensorFlow.js: seconds on a busy machine, so a generous limit here
  // (the looping demo gets its own app with a short one).
  cardlab = createApp(ws.config({ cellTimeout: 25_000, maxRuns: 1 }));
  server = http.createServer(cardlab.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  cardlab.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  ws.cleanup();
});

interface Received {
  status: number;
  events: { at: number; event: CellEvent | { type: 'queued'; position: number } | { type: 'run'; runId: string } }[];
}

type StreamEvent = Received['events'][number]['event'] | { type: 'run'; runId: string };

/** Posts a run and records when each NDJSON line arrives (`onEvent` sees each as it comes). */
function run(cellId: string, body: object = {}, at = base, onEvent?: (event: StreamEvent) => unknown): Promise<Received> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${at}/api/cells/${encodeURIComponent(cellId)}/run`, { method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
      const events: Received['events'] = [];
      let pending = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        pending += chunk;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (!line) continue;
          events.push({ at: Date.now(), event: JSON.parse(line) });
          void onEvent?.(JSON.parse(line));
        }
      });
      res.on('end', () => resolve({ status: res.statusCode!, events }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const stdout = (r: Received) =>
  r.events.map((e) => e.event).filter((e): e is Extract<CellEvent, { type: 'stream' }> => e.type === 'stream' && e.name === 'stdout').map((e) => e.text).join('');
const exit = (r: Received) => r.events.at(-1)!.event as Extract<CellEvent, { type: 'exit' }>;

test('a card comes with the cells linked to its heading or block id', async () => {
  const first = (await request(cardlab.app).get('/api/decks/small/next').expect(200)).body.card;
  expect(first.context).toEqual(['small', 'Topic', 'Sub A']);
  expect(first.cells.map((c: { id: string }) => c.id)).toEqual(['demo:0', 'demo:2']); // Sub A, and Topic above it
  expect(first.cells[0].code).toContain('displayPlotly');
  expect(first.cells[0].links).toEqual(['small#Sub A']);
  const problems = (await request(cardlab.app).get('/api/cells').expect(200)).body.problems;
  expect(problems).toEqual([{ notebook: 'broken', error: expect.stringMatching(/not a valid Jupyter notebook/) }]);
  const unresolved = (await request(cardlab.app).get('/api/cells').expect(200)).body.unresolved;
  expect(unresolved).toEqual([{ cell: 'demo:5', link: 'small#No such heading' }]);
});

test('running a cell streams stdout, the plotly figure and the exit as NDJSON', async () => {
  const r = await run('demo:0');
  expect(r.status).toBe(200);
  expect(stdout(r)).toBe('channels 3 -> 13 -> 23\n');
  const display = r.events.map((e) => e.event).find((e) => e.type === 'display') as Extract<CellEvent, { type: 'display' }>;
  expect(display.data[PLOTLY_MIME]).toMatchObject({ data: [{ y: [3, 13, 23] }], layout: { title: 'growth' } });
  expect(exit(r)).toMatchObject({ type: 'exit', ok: true, reason: 'done' });
});

test('outputs arrive as they come, not at the end', async () => {
  const r = await run('demo:2');
  const firstOut = r.events.find((e) => e.event.type === 'stream');
  const end = r.events.at(-1)!;
  expect(stdout(r)).toBe('first\nsecond\n');
  expect(end.at - firstOut!.at).toBeGreaterThanOrEqual(1000);
});

test('the page may run edited code; the notebook file is not changed', async () => {
  const file = `${ws.notebooks}/demo.ipynb`;
  const before = fs.readFileSync(file);
  const r = await run('demo:1', { code: 'const answer: number = 40 + 2\nconsole.log(answer)' });
  expect(stdout(r)).toBe('42\n');
  expect(exit(r).reason).toBe('done');
  expect(fs.readFileSync(file).equals(before)).toBe(true);
  const broken = await run('demo:1', { code: 'const x: number = "text"' });
  expect(broken.events.some((e) => e.event.type === 'error' && e.event.kind === 'compile')).toBe(true);
  expect(exit(broken).reason).toBe('cell-error');
});

test('a demo that loops forever is killed at the time limit while the server stays responsive', async () => {
  const strict = createApp(ws.config({ cellTimeout: 2000 }));
  const strictServer = http.createServer(strict.app);
  await new Promise<void>((resolve) => strictServer.listen(0, '127.0.0.1', resolve));
  const started = Date.now();
  const looping = run('demo:3', {}, `http://127.0.0.1:${(strictServer.address() as AddressInfo).port}`);
  // Wait until the loop is running, then check the server still answers promptly.
  await new Promise((r) => setTimeout(r, 1500));
  const latencies: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = Date.now();
    await request(strictServer).get('/api/decks').expect(200);
    latencies.push(Date.now() - t);
  }
  expect(Math.max(...latencies)).toBeLessThan(1000);
  const r = await looping;
  expect(exit(r)).toMatchObject({ ok: false, reason: 'timeout', message: 'time limit of 2 s exceeded' });
  // Killed at the limit, counted from the hand-over of the job (start-up included), not left running.
  expect(r.events.at(-1)!.at - started).toBeLessThan(5000);
  strict.close();
  strictServer.closeAllConnections();
  await new Promise((resolve) => strictServer.close(resolve));
});

test('a client that goes away stops its run', async () => {
  const ready = await new Promise<http.ClientRequest>((resolve, reject) => {
    const req = http.request(`${base}/api/cells/demo:3/run`, { method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (chunk.includes('"type":"cell-start"')) resolve(req);
      });
    });
    req.on('error', () => undefined);
    req.end('{}');
    setTimeout(() => reject(new Error('the run did not start')), 50_000);
  });
  expect(cardlab.slots.running).toBe(1);
  ready.destroy();
  const deadline = Date.now() + 5000;
  while (cardlab.slots.running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(cardlab.slots.running).toBe(0); // killed long before its 25 s limit
});

test('runs beyond the concurrency limit wait in the queue and are told so', async () => {
  const [a, b] = await Promise.all([run('demo:1'), run('demo:1')]);
  const queued = [a, b].filter((r) => r.events[1].event.type === 'queued');
  expect(queued).toHaveLength(1);
  expect(queued[0].events[1].event).toEqual({ type: 'queued', position: 1 });
  for (const r of [a, b]) expect(exit(r).reason).toBe('done');
});

test('the first event names the run; stopping it kills the child within a second and ends the stream with "stopped"', async () => {
  let runId = '';
  let stoppedAt = 0;
  const running = run('demo:3', {}, base, async (event) => {
    if (event.type === 'run') runId = event.runId;
    if (event.type === 'cell-start') {
      stoppedAt = Date.now();
      const answer = await request(cardlab.app).post(`/api/cells/runs/${runId}/stop`).expect(200);
      expect(answer.body).toEqual({ stopped: true, runId });
    }
  });
  const r = await running;
  expect(r.events[0].event).toEqual({ type: 'run', runId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  expect(exit(r)).toMatchObject({ ok: false, reason: 'stopped', message: 'stopped' });
  expect(r.events.at(-1)!.at - stoppedAt).toBeLessThan(1000);
  expect(cardlab.cellRuns.running).toBe(0);
  // Over: stopping again is a 404; a malformed id a 400.
  await request(cardlab.app).post(`/api/cells/runs/${runId}/stop`).expect(404);
  await request(cardlab.app).post('/api/cells/runs/not-a-run/stop').expect(400);
});

test('a run waiting in the queue can be stopped too', async () => {
  let busyHasSlot!: () => void;
  const slotTaken = new Promise<void>((resolve) => (busyHasSlot = resolve));
  const busy = run('demo:2', {}, base, (event) => event.type === 'run' && busyHasSlot());
  await slotTaken; // the slot is taken right after the run id is sent (maxRuns is 1 here)
  let waitingId = '';
  const waiting = run('demo:1', {}, base, async (event) => {
    if (event.type === 'run') waitingId = event.runId;
    if (event.type === 'queued') await request(cardlab.app).post(`/api/cells/runs/${waitingId}/stop`).expect(200);
  });
  const w = await waiting;
  expect(w.events.map((e) => e.event.type)).toEqual(['run', 'queued', 'exit']);
  expect(exit(w)).toMatchObject({ reason: 'stopped' });
  expect(exit(await busy).reason).toBe('done');
});

test('unknown cells are 404, bad bodies 400', async () => {
  await request(cardlab.app).post('/api/cells/demo:4/run').send({}).expect(404); // not linked to any card
  await request(cardlab.app).post('/api/cells/demo:0/run').send({ code: ['x'] }).expect(400);
  await request(cardlab.app).post('/api/cells/demo:0/run').send({ code: 'x', other: 1 }).expect(400);
});
