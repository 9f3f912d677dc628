/**
 * The review server under load, on loopback (the server in its own process, autocannon here):
 *
 *  1. `GET /api/decks/:id/next` on a generated deck of 10,000 cards in one file (target: ≥ 2,000 req/s, p99 < 50 ms);
 *  2. grading with write-back (`POST /api/review`), on that file and on a vault of 100 files × 100 cards;
 *  3. 50 graders at once on one file: every grade must end up in the file (no lost update).
 *
 *   npm run build && node dist/bench/server.js [--cards 10000] [--duration 10] [--connections 10] [--json]
 */
import { spawn, type ChildProcess } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import net from 'net';
import autocannon from 'autocannon';
import { parseNote } from '../src/cards/note';
import { PROJECT_ROOT } from '../src/cells/runner';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const CARDS = Number(arg('--cards', '10000'));
const DURATION = Number(arg('--duration', '10'));
const CONNECTIONS = Number(arg('--connections', '10'));
const JSON_OUT = process.argv.includes('--json');

/** A deck of `n` cards under headings, most of them overdue, some new, a few reversed and cloze. */
function makeDeck(n: number, title = 'Bench'): string {
  const lines = ['---', 'tags: [flashcards]', '---', `# ${title}`];
  for (let i = 0; i < n; i++) {
    if (i % 50 === 0) lines.push(`## Section ${i / 50}`);
    const month = String(1 + (i % 12)).padStart(2, '0');
    const day = String(1 + (i % 28)).padStart(2, '0');
    if (i % 10 === 9) lines.push(`Front ${i} with $x_{${i}}$:::Back ${i}`);
    else if (i % 10 === 8) lines.push(`Card ${i} has a ==deletion ${i}== in it`);
    else lines.push(`Question ${i} about **growth** $k=${i % 40}$::Answer ${i}`);
    if (i % 5 !== 4) lines.push(`<!--SR:!2024-${month}-${day},${1 + (i % 300)},${130 + (i % 200)}-->`);
    lines.push('');
  }
  return lines.join('\n');
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function startServer(cards: string, data: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [path.join(PROJECT_ROOT, 'bin', 'cardlab.js'), 'serve', '--port', String(port), '--cards', cards, '--notebooks', path.join(cards, 'none'), '--data', data, '--new-per-day', '100000'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('open http')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`the server exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

interface Figure {
  name: string;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
}

async function cannon(name: string, options: autocannon.Options): Promise<Figure> {
  const result = await autocannon({ connections: CONNECTIONS, duration: DURATION, ...options });
  return {
    name,
    requestsPerSec: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/** `cardId`s of every card of a deck file, as the server names them (`<file>#<hash>:<n>/<sibling>`). */
function cardIds(file: string, relPath: string): string[] {
  const note = parseNote(fs.readFileSync(file, 'utf8'), { path: relPath });
  return note.cards.flatMap((c) => c.siblings.map((s) => `${c.id}/${s.index}`));
}

function gradeRequests(ids: string[]): autocannon.Request[] {
  let k = 0;
  const grades = ['Good', 'Hard', 'Easy', 'Good'];
  return [
    {
      method: 'POST',
      path: '/api/review',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req) => ({ ...req, body: JSON.stringify({ cardId: ids[k++ % ids.length], grade: grades[k % grades.length] }) }),
    },
  ];
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cardlab-bench-server-'));
  const cards = path.join(dir, 'cards');
  const vault = path.join(cards, 'vault');
  fs.mkdirSync(vault, { recursive: true });
  fs.writeFileSync(path.join(cards, 'big.md'), makeDeck(CARDS, 'Big'));
  for (let f = 0; f < 100; f++) fs.writeFileSync(path.join(vault, `note-${f}.md`), makeDeck(100, `Note ${f}`));
  fs.writeFileSync(path.join(cards, 'race.md'), makeDeck(50, 'Race'));
  const figures: Figure[] = [];
  const { url, child } = await startServer(cards, path.join(dir, 'data'));
  const log = (text: string) => {
    if (!JSON_OUT) console.log(text);
  };
  try {
    const started = Date.now();
    const first = await fetch(`${url}/api/decks`).then((r) => r.json());
    log(`server up; decks loaded in ${Date.now() - started} ms: ${first.map((d: { id: string; counts: { total: number } }) => `${d.id}(${d.counts.total})`).slice(0, 3).join(', ')}, …`);

    figures.push(await cannon(`next, ${CARDS}-card deck`, { url: `${url}/api/decks/big/next` }));
    log(JSON.stringify(figures.at(-1)));

    // Grading in a vault of small notes: the usual Obsidian layout.
    const smallIds = fs.readdirSync(vault).flatMap((f) => cardIds(path.join(vault, f), `vault/${f}`));
    figures.push(await cannon('grade + write-back, 100 files × 100 cards', { url, requests: gradeRequests(smallIds) }));
    log(JSON.stringify(figures.at(-1)));

    // Grading in the one big file: every grade reads, parses, checks and rewrites all of it.
    const bigIds = cardIds(path.join(cards, 'big.md'), 'big.md');
    figures.push(await cannon(`grade + write-back, one ${CARDS}-card file`, { url, requests: gradeRequests(bigIds), connections: 2 }));
    log(JSON.stringify(figures.at(-1)));

    // 50 graders at once on one file, one card each: no grade may be lost.
    const raceFile = path.join(cards, 'race.md');
    const raceIds = cardIds(raceFile, 'race.md').slice(0, 50);
    const t = Date.now();
    const responses = await Promise.all(
      raceIds.map((cardId) =>
        fetch(`${url}/api/review`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cardId, grade: 'Easy' }) }).then(async (r) => ({ status: r.status, body: await r.json() })),
      ),
    );
    const raceMs = Date.now() - t;
    // Siblings of one card share its comment: each grade is checked on its own sibling's segment.
    const after = parseNote(fs.readFileSync(raceFile, 'utf8'), { path: 'race.md' });
    const scheduleOf = new Map(after.cards.flatMap((c) => c.siblings.map((s) => [`${c.id}/${s.index}`, JSON.stringify(s.schedule)])));
    const lost = responses.filter((r, i) => r.status !== 200 || scheduleOf.get(raceIds[i]) !== JSON.stringify(r.body.schedule));
    const race = { name: '50 concurrent graders on one file', grades: responses.length, ok: responses.filter((r) => r.status === 200).length, lost: lost.length, ms: raceMs };
    log(JSON.stringify(race));

    const next = figures[0];
    const verdict = {
      nextTarget: next.requestsPerSec >= 2000 && next.p99Ms < 50 ? 'met' : 'missed',
      noLostUpdate: race.lost === 0 && race.ok === 50,
    };
    if (JSON_OUT) console.log(JSON.stringify({ figures, race, verdict }));
    else {
      console.log('\nfigure                                        req/s    p50 ms   p99 ms   non-2xx');
      for (const f of figures) console.log(`${f.name.padEnd(44)} ${String(f.requestsPerSec).padStart(6)} ${String(f.p50Ms).padStart(8)} ${String(f.p99Ms).padStart(8)} ${String(f.non2xx).padStart(9)}`);
      console.log(`${race.name}: ${race.ok}/${race.grades} written, ${race.lost} lost, ${race.ms} ms`);
      console.log(`targets: next ≥ 2,000 req/s with p99 < 50 ms: ${verdict.nextTarget}; no lost update: ${verdict.noLostUpdate}`);
    }
    if (!verdict.noLostUpdate) process.exitCode = 1;
  } finally {
    child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
