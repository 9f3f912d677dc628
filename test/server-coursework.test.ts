/**
 * Coursework through the server (supertest, in process) on a temp data folder and a temp
 * coursework/ with one small assignment: the database and its migrations, accounts and sessions,
 * authorization, the whole flow (students submit → autograded in the sandbox → gradebook and CSV),
 * and submissions that loop or allocate without bound.
 */
import { spawn } from 'child_process';
import fs from 'fs';
import http from 'http';
import type { AddressInfo } from 'net';
import path from 'path';
import Database from 'better-sqlite3';
import request from 'supertest';
import { createApp, type CardlabApp } from '../server/app';
import { Accounts, hashPassword, scryptHighWater, SCRYPT_IN_FLIGHT, verifyPassword } from '../server/accounts';
import { courseworkTools, csvField, Grader, MAX_QUEUED_PER_STUDENT, QueueFullError, SESSION_COOKIE, type CourseworkTools } from '../server/coursework';
import { DB_FILE, MIGRATIONS, SCHEMA_VERSION, openDb } from '../server/db';
import { runCli } from './helpers/cli';
import { workspace, type Workspace } from './helpers/server-fixtures';

/** The instructor's source: a solution region in one cell, a graded test cell with hidden tests. */
const SOURCE = {
  cells: [
    { cell_type: 'markdown', id: 'intro', metadata: {}, source: 'Implement `double`.' },
    {
      cell_type: 'code',
      execution_count: null,
      id: 'impl',
      metadata: {},
      outputs: [],
      source: 'function double(x: number): number {\n  // BEGIN SOLUTION\n  return 2 * x;\n  // END SOLUTION\n}\n',
    },
    {
      cell_type: 'code',
      execution_count: null,
      id: 'test-double',
      metadata: { cardlab: { grade: { id: 'double', points: 2 } } },
      outputs: [],
      source:
        "if (double(2) !== 4) throw new Error('double(2) should be 4');\n" +
        '// BEGIN HIDDEN TESTS\n' +
        "if (double(21) !== 42) throw new Error('SECRET-HIDDEN-CHECK double(21) should be 42');\n" +
        '// END HIDDEN TESTS\n',
    },
  ],
  metadata: {},
  nbformat: 4,
  nbformat_minor: 5,
};
const STUB = 'throw new Error("not implemented");';

let ws: Workspace;
let cardlab: CardlabApp;
let coursework: string;

function start(options: Parameters<Workspace['config']>[0] = {}): CardlabApp {
  ws = workspace({});
  coursework = path.join(ws.dir, 'coursework');
  fs.mkdirSync(coursework);
  fs.writeFileSync(path.join(coursework, 'double.ipynb'), JSON.stringify(SOURCE));
  // The time limit counts the child's start-up too (seconds on a busy machine); tslab alone needs ~170 MB.
  cardlab = createApp(ws.config({ coursework, cellTimeout: 30_000, cellMemory: 512, ...options }));
  return cardlab;
}

afterEach(async () => {
  await cardlab?.grader.idle();
  cardlab?.close();
  ws?.cleanup();
});

async function addUserWithCli(name: string, role: string, password: string): Promise<void> {
  const file = path.join(ws.dir, `${name}.password`);
  fs.writeFileSync(file, password + '\n');
  await runCli('coursework', 'add-user', '--role', role, '--name', name, '--password-file', file, '--data', ws.data);
}

async function signIn(name: string, password: string) {
  const agent = request.agent(cardlab.app);
  await agent.post('/api/login').send({ name, password }).expect(200);
  return agent;
}

async function instructorAndStudents() {
  await addUserWithCli('prof', 'instructor', 'prof-password');
  const prof = await signIn('prof', 'prof-password');
  for (const name of ['alice', 'bob']) {
    const res = await prof.post('/api/users').send({ name, password: `${name}-password` }).expect(201);
    expect(res.body).toMatchObject({ name, role: 'student' });
  }
  return { prof, alice: await signIn('alice', 'alice-password'), bob: await signIn('bob', 'bob-password') };
}

/** The released notebook with the stub replaced by `body`. */
function answer(student: { cells: Array<{ source: string | string[] }> }, body: string) {
  const copy = JSON.parse(JSON.stringify(student));
  const impl = copy.cells.find((c: { source: string[] }) => c.source.join('').includes(STUB));
  impl.source = impl.source.join('').replace(STUB, body);
  return copy;
}

/** A minimal RFC 4180 reader (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') row.push(field), (field = '');
    else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field), rows.push(row), (row = []), (field = ''), i++;
    } else field += ch;
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (field !== '' || row.length) throw new Error('last row has no CRLF');
  return rows;
}

async function mine(agent: ReturnType<typeof request.agent>) {
  return (await agent.get('/api/submissions/mine').expect(200)).body;
}

describe('the database', () => {
  test('created with its schema on first start, in the data folder', () => {
    start();
    expect(fs.existsSync(path.join(ws.data, DB_FILE))).toBe(true);
    expect(cardlab.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const tables = (cardlab.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    expect(tables).toEqual(['sessions', 'submissions', 'users']);
  });

  test('an older database is migrated and keeps its accounts; a newer one is refused', async () => {
    ws = workspace({});
    fs.mkdirSync(ws.data);
    const file = path.join(ws.data, DB_FILE);
    const old = new Database(file);
    MIGRATIONS[0](old); // version 1: accounts only, no submissions yet
    old.pragma('user_version = 1');
    old.prepare('INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)').run('prof', 'instructor', await hashPassword('prof-password'), '2026-01-01');
    old.close();

    const db = openDb(ws.data);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(await new Accounts(db).authenticate('prof', 'prof-password')).toMatchObject({ name: 'prof', role: 'instructor' });
    expect(db.prepare('SELECT COUNT(*) AS n FROM submissions').get()).toEqual({ n: 0 });
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => openDb(ws.data)).toThrow(/newer than this cardlab/);
  });
});

describe('accounts and sessions', () => {
  test('passwords are salted scrypt hashes checked in constant time', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    expect(a).toMatch(/^scrypt\$/);
    expect(a).not.toBe(b); // a fresh salt each time
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('correct hors', a)).toBe(false);
  });

  test('login sets an httpOnly SameSite=Strict cookie whose token is stored only hashed; logout ends it', async () => {
    start();
    await addUserWithCli('prof', 'instructor', 'prof-password');
    await request(cardlab.app).post('/api/login').send({ name: 'prof', password: 'wrong-password' }).expect(401);
    await request(cardlab.app).post('/api/login').send({ name: 'nobody', password: 'prof-password' }).expect(401);
    const res = await request(cardlab.app).post('/api/login').send({ name: 'prof', password: 'prof-password' }).expect(200);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(new RegExp(`^${SESSION_COOKIE}=`));
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const token = decodeURIComponent(/=([^;]+)/.exec(cookie)![1]);
    const stored = (cardlab.db.prepare('SELECT token_hash FROM sessions').all() as { token_hash: string }[]).map((r) => r.token_hash);
    expect(stored).toHaveLength(1);
    expect(stored[0]).not.toContain(token);

    const session = `${SESSION_COOKIE}=${encodeURIComponent(token)}`;
    expect((await request(cardlab.app).get('/api/me').set('Cookie', session).expect(200)).body).toMatchObject({ name: 'prof', role: 'instructor' });
    await request(cardlab.app).post('/api/logout').set('Cookie', session).expect(200);
    await request(cardlab.app).get('/api/me').set('Cookie', session).expect(401);
  });

  test('the CLI refuses a short password and a duplicate name; bad input to the API is a 400 naming the field', async () => {
    start();
    await expect(addUserWithCli('prof', 'instructor', 'short')).rejects.toThrow(/at least 8 characters/);
    await expect(addUserWithCli('=cmd', 'instructor', 'long-enough')).rejects.toThrow(/is not allowed/);
    await addUserWithCli('prof', 'instructor', 'prof-password');
    await expect(addUserWithCli('prof', 'student', 'other-password')).rejects.toThrow(/already exists/);
    const prof = await signIn('prof', 'prof-password');
    const bad = await prof.post('/api/users').send({ name: 'x y', password: 'long-enough' }).expect(400);
    expect(bad.body.error.message).toMatch(/name/);
    await prof.post('/api/users').send({ name: 'carol', password: 'carol-password' }).expect(201);
    await prof.post('/api/users').send({ name: 'carol', password: 'carol-password' }).expect(409);
  });
});

/** A request to a listening server from a chosen loopback address (127.0.0.x: a different client). */
function fromAddress(port: number, localAddress: string, method: string, urlPath: string, body?: unknown) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any; ms: number }>((resolve, reject) => {
    const started = performance.now();
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      { host: '127.0.0.1', port, method, path: urlPath, localAddress, agent: false, headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {} },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text ? JSON.parse(text) : null, ms: performance.now() - started }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

async function listening(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer(cardlab.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** A flooder: 20 concurrent POSTs of unknown-name logins to PATH from 127.0.2.1–250 until stdin closes; prints status counts. */
const FLOODER = `
const http = require('http');
const port = Number(process.argv[1]);
let stop = false;
const counts = {};
process.stdin.on('end', () => { stop = true; });
process.stdin.resume();
function one(k, i) {
  return new Promise((resolve) => {
    const body = JSON.stringify({ name: 'nobody-' + k + '-' + i, password: 'x' });
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: process.argv[2], localAddress: '127.0.2.' + (1 + ((k * 7 + i) % 250)), agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      counts[res.statusCode] = (counts[res.statusCode] || 0) + 1;
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', resolve);
    req.end(body);
  });
}
async function loop(k) { for (let i = 0; !stop; i++) await one(k, i); }
Promise.all(Array.from({ length: 20 }, (_, k) => loop(k))).then(() => process.stdout.write(JSON.stringify(counts)));
`;

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];

describe('login throttling', () => {
  test('200 wrong passwords from one address: a handful are checked, the rest get 429 with Retry-After; the right password from another address works', async () => {
    start();
    await addUserWithCli('alice', 'student', 'alice-password');
    const server = await listening();
    try {
      const started = Date.now();
      const statuses: number[] = [];
      let retryAfter: string | undefined;
      for (let i = 0; i < 200; i++) {
        const res = await fromAddress(server.port, '127.0.0.1', 'POST', '/api/login', { name: 'alice', password: `guess-${i}` });
        statuses.push(res.status);
        if (res.status === 429) {
          retryAfter ??= res.headers['retry-after'];
          expect(res.body.error.message).toMatch(/too many wrong logins from your address \(\d+ in a row\): try again in \d+ s/);
        }
      }
      const seconds = (Date.now() - started) / 1000;
      const checked = statuses.filter((s) => s === 401).length;
      console.log(`200 wrong passwords in ${seconds.toFixed(1)} s: ${checked} checked (${(checked / seconds).toFixed(1)}/s), ${statuses.filter((s) => s === 429).length} refused with 429`);
      expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
      expect(seconds).toBeLessThan(60);
      expect(checked).toBeLessThanOrEqual(8); // 3 free, then 1 s, 2 s, 4 s, … apart
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      // Still refused from the guessing address, even with the right password; another address gets in.
      expect((await fromAddress(server.port, '127.0.0.1', 'POST', '/api/login', { name: 'alice', password: 'alice-password' })).status).toBe(429);
      const other = await fromAddress(server.port, '127.0.0.2', 'POST', '/api/login', { name: 'alice', password: 'alice-password' });
      expect(other.status).toBe(200);
      expect(other.body).toMatchObject({ name: 'alice' });
    } finally {
      await server.close();
    }
  });

  test('guesses spread over many addresses are limited per account', async () => {
    start();
    await addUserWithCli('bob', 'student', 'bob-password');
    const server = await listening();
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) statuses.push((await fromAddress(server.port, `127.0.1.${i + 1}`, 'POST', '/api/login', { name: 'bob', password: `guess-${i}` })).status);
      expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(11); // the bucket: 10 a minute
      const refused = await fromAddress(server.port, '127.0.1.200', 'POST', '/api/login', { name: 'bob', password: `guess-x` });
      expect(refused.status).toBe(429);
      expect(refused.body.error.message).toMatch(/too many wrong logins for this account/);
    } finally {
      await server.close();
    }
  });

  test('a login flood from many addresses keeps scrypt to its limit and GET /api/decks fast', async () => {
    start();
    fs.writeFileSync(path.join(ws.cards, 'small.md'), '#flashcards\n\nQ::A\n');
    await addUserWithCli('carol', 'student', 'carol-password');
    const server = await listening();
    try {
      /** GET /api/decks latencies (60 requests) while `floodPath` is flooded (null: no flood), and the flood's status counts. */
      const measure = async (floodPath: string | null) => {
        const flood = floodPath ? spawn(process.execPath, ['-e', FLOODER, String(server.port), floodPath], { stdio: ['pipe', 'pipe', 'inherit'] }) : null;
        let out = '';
        flood?.stdout!.on('data', (d) => (out += d));
        const floodDone = new Promise<void>((resolve) => (flood ? flood.on('exit', () => resolve()) : resolve()));
        if (flood) await new Promise((resolve) => setTimeout(resolve, 500));
        const times: number[] = [];
        for (let i = 0; i < 60; i++) {
          const res = await fromAddress(server.port, '127.0.0.3', 'GET', '/api/decks');
          expect(res.status).toBe(200);
          times.push(res.ms);
        }
        flood?.stdin!.end();
        await floodDone;
        return { p50: percentile(times, 50), p99: percentile(times, 99), statuses: (out ? JSON.parse(out) : {}) as Record<string, number> };
      };
      const line = (what: string, m: Awaited<ReturnType<typeof measure>>) =>
        `${what}: GET /api/decks p50 ${m.p50.toFixed(1)} ms, p99 ${m.p99.toFixed(1)} ms ${JSON.stringify(m.statuses)}`;
      const quiet = await measure(null);
      // The same flood of requests that do nothing: what the traffic alone costs on this machine.
      const plain = await measure('/api/no-such-route');
      scryptHighWater(true);
      const logins = await measure('/api/login');
      console.log(`${line('quiet', quiet)}\n${line('flood of 404s', plain)}\n${line('login flood', logins)}\nscrypt in flight at most ${scryptHighWater()}`);
      expect(scryptHighWater()).toBeLessThanOrEqual(SCRYPT_IN_FLIGHT);
      expect(logins.statuses['503'] ?? 0).toBeGreaterThan(0); // the flood was refused, not queued without bound
      // A functional bound, not a benchmark: 200 ms, or (on a machine too busy for that) no worse than
      // twice what the same amount of trivial traffic costs.
      expect(logins.p99).toBeLessThan(Math.max(200, 2 * plain.p99));
      expect((await fromAddress(server.port, '127.0.0.4', 'POST', '/api/login', { name: 'carol', password: 'carol-password' })).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('authorization', () => {
  test('unauthenticated requests get 401', async () => {
    start();
    for (const url of ['/api/me', '/api/assignments', '/api/assignments/double/notebook', '/api/submissions/mine', '/api/gradebook', '/api/gradebook.csv', '/api/users']) {
      const res = await request(cardlab.app).get(url).expect(401);
      expect(res.body.error.message).toMatch(/sign in/);
    }
    await request(cardlab.app).post('/api/assignments/double/submissions').send(SOURCE).expect(401);
    await request(cardlab.app).post('/api/users').send({ name: 'eve', password: 'eve-password' }).expect(401);
  });

  test('a student gets the student version only, and cannot read the source, the gradebook, or create users', async () => {
    start();
    const { alice } = await instructorAndStudents();
    expect((await alice.get('/api/assignments').expect(200)).body).toEqual([{ id: 'double', maxPoints: 2 }]);
    const released = await alice.get('/api/assignments/double/notebook').expect(200);
    const text = released.body.cells.map((c: { source: string[] }) => c.source.join('')).join('\n');
    expect(text).toContain(STUB);
    expect(text).toContain('double(2) should be 4'); // visible tests stay
    expect(text).not.toContain('2 * x'); // the solution
    expect(text).not.toContain('SECRET-HIDDEN-CHECK'); // the hidden tests
    expect(text).not.toMatch(/BEGIN (SOLUTION|HIDDEN TESTS)/);
    expect(JSON.stringify(released.body)).not.toContain('SECRET-HIDDEN-CHECK');

    for (const url of ['/api/assignments/double/source', '/api/gradebook', '/api/gradebook.csv', '/api/users']) {
      const res = await alice.get(url).expect(403);
      expect(JSON.stringify(res.body)).not.toContain('SECRET-HIDDEN-CHECK');
    }
    await alice.post('/api/users').send({ name: 'eve', password: 'eve-password', role: 'instructor' }).expect(403);
    await alice.get('/api/assignments/..%2F..%2Fpackage/notebook').expect(400);
    await alice.get('/api/assignments/nope/notebook').expect(404);
  });
});

describe('the whole flow', () => {
  test('two students submit, a right and a wrong answer are autograded, the gradebook and its CSV show both', async () => {
    start();
    const { prof, alice, bob } = await instructorAndStudents();
    const released = (await alice.get('/api/assignments/double/notebook').expect(200)).body;

    const a = await alice.post('/api/assignments/double/submissions').send(answer(released, 'return 2 * x;')).expect(202);
    // Passes the visible test (2 + 2 = 4), fails the hidden one (21 + 2 ≠ 42).
    const b = await bob.post('/api/assignments/double/submissions').send(answer(released, 'return x + 2;')).expect(202);
    expect(a.body.status).toBe('queued');
    await cardlab.grader.idle();

    const [mineA] = await mine(alice);
    expect(mineA).toMatchObject({ id: a.body.id, assignment: 'double', status: 'graded', score: 2, maxScore: 2 });
    expect(mineA.report.cells).toEqual([{ id: 'double', points: 2, maxPoints: 2, passed: true, message: null }]);
    const bobs = await mine(bob);
    expect(bobs).toHaveLength(1);
    expect(bobs[0]).toMatchObject({ id: b.body.id, status: 'graded', score: 0, maxScore: 2 });
    expect(bobs[0].report.cells[0].message).toMatch(/double\(21\) should be 42/);

    // Each student sees their own only; another's submission does not exist for them.
    expect((await mine(alice)).map((s: { id: number }) => s.id)).toEqual([a.body.id]);
    await alice.get(`/api/submissions/${b.body.id}`).expect(404);
    await bob.get(`/api/submissions/${a.body.id}`).expect(404);
    await bob.get(`/api/submissions/${b.body.id}`).expect(200);
    await prof.get(`/api/submissions/${a.body.id}`).expect(200);

    const book = (await prof.get('/api/gradebook').expect(200)).body;
    expect(book.assignments).toEqual([{ id: 'double', maxPoints: 2 }]);
    expect(book.students).toEqual(['alice', 'bob']);
    expect(book.grades).toMatchObject([
      { student: 'alice', assignment: 'double', status: 'graded', score: 2, maxScore: 2, submissions: 1 },
      { student: 'bob', assignment: 'double', status: 'graded', score: 0, maxScore: 2, submissions: 1 },
    ]);

    const csv = await prof.get('/api/gradebook.csv').expect(200).expect('content-type', /text\/csv/);
    const rows = parseCsv(csv.text);
    expect(rows[0]).toEqual(['student', 'assignment', 'score', 'max_score', 'status', 'submitted_at', 'submissions']);
    expect(rows.slice(1).map((r) => r.slice(0, 5))).toEqual([
      ['alice', 'double', '2', '2', 'graded'],
      ['bob', 'double', '0', '2', 'graded'],
    ]);
  });

  test('CSV fields are quoted and escaped, and formula-looking text is defused', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,"b"\nc')).toBe('"a,""b""\nc"');
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField(-1)).toBe('-1');
    expect(csvField(null)).toBe('');
    expect(parseCsv(['x', csvField('a,"b"\r\nc')].join(',') + '\r\n')).toEqual([['x', 'a,"b"\r\nc']]);
  });

  test('a malformed or oversized submission is refused and nothing is stored', async () => {
    start({ bodyLimit: 4096 });
    const { alice } = await instructorAndStudents();
    const bad = await alice.post('/api/assignments/double/submissions').send({ cells: 'nope' }).expect(400);
    expect(bad.body.error.message).toMatch(/submission: not a valid Jupyter notebook/);
    const big = { ...SOURCE, metadata: { padding: 'x'.repeat(8192) } };
    await alice.post('/api/assignments/double/submissions').send(big).expect(413);
    expect(await mine(alice)).toEqual([]);
  });
});

describe('runaway submissions', () => {
  test('a submission that loops forever is killed and scored 0 with a clear message while the server keeps answering', async () => {
    start({ cellTimeout: 3000 });
    const { prof, alice } = await instructorAndStudents();
    const released = (await alice.get('/api/assignments/double/notebook').expect(200)).body;
    const sent = Date.now();
    await alice.post('/api/assignments/double/submissions').send(answer(released, 'while (true) {}')).expect(202);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const me = await prof.get('/api/me').expect(200);
    expect(me.body.name).toBe('prof');
    expect((await mine(alice))[0].status).toBe('grading'); // answered while the loop runs
    expect(Date.now() - sent).toBeLessThan(3000);

    await cardlab.grader.idle();
    const [graded] = await mine(alice);
    expect(graded).toMatchObject({ status: 'graded', score: 0, maxScore: 2 });
    expect(graded.report.cells[0]).toMatchObject({ passed: false, points: 0 });
    expect(graded.report.cells[0].message).toMatch(/time limit of 3 s exceeded/);
  });

  test('a submission that allocates without bound is killed and scored 0 with a clear message', async () => {
    start({ cellMemory: 320 }); // above what start-up needs: the hog is what hits the limit
    const { alice } = await instructorAndStudents();
    const released = (await alice.get('/api/assignments/double/notebook').expect(200)).body;
    const hog = 'const hog: number[][] = []; while (true) hog.push(new Array(1_000_000).fill(1));';
    await alice.post('/api/assignments/double/submissions').send(answer(released, hog)).expect(202);
    await cardlab.grader.idle();
    const [graded] = await mine(alice);
    expect(graded).toMatchObject({ status: 'graded', score: 0 });
    expect(graded.report.cells[0].message).toMatch(/memory limit of 320 MB exceeded/);
    await alice.get('/api/me').expect(200);
  });
});

describe('the grading queue under a flood', () => {
  /** A grader whose autograde is a fake that records the order and finishes when told. */
  function fakeGrader(concurrency = 1) {
    ws = workspace({});
    const db = openDb(ws.data);
    const dir = path.join(ws.dir, 'coursework');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'double.ipynb'), JSON.stringify(SOURCE));
    const users = new Map<string, number>();
    for (const name of ['alice', 'bob', 'carol']) {
      users.set(name, Number(db.prepare("INSERT INTO users (name, role, password_hash, created_at) VALUES (?, 'student', 'x', ?)").run(name, new Date().toISOString()).lastInsertRowid));
    }
    const order: string[] = [];
    const finish: Array<() => void> = [];
    const tools: CourseworkTools = {
      ...courseworkTools,
      autograde: (async ({ submission }: { submission: { metadata: Record<string, unknown> } }) => {
        order.push(String(submission.metadata.tag));
        await new Promise<void>((resolve) => finish.push(resolve));
        return { total: 1, max: 1, cells: [], problems: [] };
      }) as unknown as CourseworkTools['autograde'],
    };
    const grader = new Grader(db, tools, dir, { timeoutMs: 1000, memoryMb: 128, concurrency });
    const submit = (name: string, tag: string) => {
      const userId = users.get(name)!;
      grader.checkRoom(userId);
      const id = Number(
        db
          .prepare("INSERT INTO submissions (user_id, assignment, notebook, status, submitted_at) VALUES (?, 'double', ?, 'queued', ?)")
          .run(userId, JSON.stringify({ ...SOURCE, metadata: { tag } }), new Date().toISOString()).lastInsertRowid,
      );
      grader.enqueue(id, userId);
    };
    /** Lets the running grade(s) finish, then waits until the next one has started. */
    const step = async () => {
      finish.shift()!();
      await new Promise((resolve) => setTimeout(resolve, 20));
    };
    return { db, grader, submit, order, step, close: () => db.close() };
  }

  test('round-robin by student: after the running grade, another student goes next; each student is capped', async () => {
    const q = fakeGrader();
    try {
      q.submit('alice', 'a1');
      q.submit('alice', 'a2');
      q.submit('alice', 'a3');
      expect(() => q.submit('alice', 'a4')).toThrow(QueueFullError);
      expect(() => q.submit('alice', 'a4')).toThrow(/you already have 3 submissions waiting or being graded \(at most 3\)/);
      q.submit('bob', 'b1');
      q.submit('carol', 'c1');
      q.submit('bob', 'b2');
      await new Promise((resolve) => setTimeout(resolve, 20));
      while (q.order.length < 6) await q.step();
      await q.step();
      await q.grader.idle();
      // a1 was running; then one of each student in turn.
      expect(q.order).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3']);
      expect(MAX_QUEUED_PER_STUDENT).toBe(3);
      // Room again once graded.
      expect(q.grader.queuedFor(1)).toBe(0);
      expect(() => q.grader.checkRoom(1)).not.toThrow();
    } finally {
      q.close();
    }
  });

  test('through the API: a 4th queued submission is a 429, and another student is graded right after the running one (real sandbox)', async () => {
    // The limit counts the sandboxed child's start-up too: long enough for a solved submission.
    start({ cellTimeout: 10_000 });
    const { alice, bob } = await instructorAndStudents();
    const released = (await alice.get('/api/assignments/double/notebook').expect(200)).body;
    const looping = answer(released, 'while (true) {}');
    for (let i = 0; i < MAX_QUEUED_PER_STUDENT; i++) await alice.post('/api/assignments/double/submissions').send(looping).expect(202);
    const refused = await alice.post('/api/assignments/double/submissions').send(looping).expect(429);
    expect(refused.body.error.message).toMatch(/you already have 3 submissions waiting or being graded/);
    expect(refused.headers['retry-after']).toBe('30');
    const submitted = Date.now();
    await bob.post('/api/assignments/double/submissions').send(answer(released, 'return 2 * x;')).expect(202);
    await cardlab.grader.idle();
    const aliceRows = await mine(alice);
    const [bobRow] = await mine(bob);
    expect(aliceRows).toHaveLength(3);
    expect(bobRow).toMatchObject({ status: 'graded', score: 2, maxScore: 2 });
    // Bob's was graded second: after alice's first, before her second and third.
    const gradedAt = (r: { gradedAt: string }) => Date.parse(r.gradedAt);
    expect(gradedAt(bobRow)).toBeGreaterThan(gradedAt(aliceRows[0]));
    expect(gradedAt(bobRow)).toBeLessThan(gradedAt(aliceRows[1]));
    console.log(`grading flood: bob waited ${((gradedAt(bobRow) - submitted) / 1000).toFixed(1)} s behind alice's 3 looping submissions (all of them took ${((gradedAt(aliceRows[2]) - submitted) / 1000).toFixed(1)} s)`);
  }, 120_000);
});
