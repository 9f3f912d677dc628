/**
 * The review server's JSON API (supertest, in process) on temp copies of decks: listing, the review
 * queue, grading with write-back, undo, external edits, reloads, malformed decks, bad input,
 * security. The real cards/ folder is only ever read.
 */
import fs from 'fs';
import request from 'supertest';
import { createApp, type CardlabApp } from '../server/app';
import { parseNote } from '../src/cards/note';
import { dueDateHistogram } from '../src/cards/review';
import { startOfDay } from '../src/cards/scheduling/dates';
import { statsFigures } from '../src/viz/stats';
import { changedLines, SEED_DECK, SMALL_DECK, workspace, type Workspace } from './helpers/server-fixtures';

let ws: Workspace;
let cardlab: CardlabApp;

function start(decks: Record<string, string | Buffer>, options: Parameters<Workspace['config']>[0] = {}): CardlabApp {
  ws = workspace(decks);
  cardlab = createApp(ws.config(options));
  return cardlab;
}

afterEach(() => {
  cardlab?.close();
  ws?.cleanup();
});

const next = async (deck = 'small') => (await request(cardlab.app).get(`/api/decks/${deck}/next`).expect(200)).body;
const grade = (cardId: string, g: string) => request(cardlab.app).post('/api/review').send({ cardId, grade: g });

describe('decks and the review queue', () => {
  test('GET /api/decks lists each deck file with its new, due and total counts', async () => {
    start({ 'small.md': SMALL_DECK, 'DenseNet.md': fs.readFileSync(SEED_DECK, 'utf8'), 'notes.md': 'no tag, not a deck\n' });
    const res = await request(cardlab.app).get('/api/decks').expect(200).expect('content-type', /json/);
    expect(res.body.map((d: { id: string }) => d.id)).toEqual(['DenseNet', 'small']);
    const small = res.body.find((d: { id: string }) => d.id === 'small');
    expect(small).toMatchObject({ name: 'small', counts: { due: 2, new: 4, total: 7 }, error: null });
    // The seed deck: every card sibling counted once; new ones are those without a schedule.
    const seed = parseNote(fs.readFileSync(SEED_DECK, 'utf8'));
    const siblings = seed.cards.flatMap((c) => c.siblings);
    const dense = res.body.find((d: { id: string }) => d.id === 'DenseNet');
    expect(dense.counts.total).toBe(siblings.length);
    expect(dense.counts.new).toBe(siblings.filter((s) => s.schedule === null).length);
  });

  test('next shows the most overdue card first: context, rendered sides, schedule, intervals per grade', async () => {
    start({ 'small.md': SMALL_DECK });
    const { card, remaining } = await next();
    expect(remaining).toBe(6); // 2 due + 4 new (under the daily limit)
    expect(card.context).toEqual(['small', 'Topic', 'Sub A']);
    expect(card.front).toContain('What is');
    expect(card.front).toContain('class="katex"'); // $2+2$ rendered by KaTeX
    expect(card.back).toContain('4');
    expect(card.schedule).toEqual({ due: '2020-01-01', interval: 3, ease: 250 });
    expect(card.isNew).toBe(false);
    expect(card.intervals.Again.interval).toBe(0); // the plugin's Again: due again today
    for (const g of ['Hard', 'Good', 'Easy']) expect(card.intervals[g].interval).toBeGreaterThanOrEqual(1);
    expect(card.intervals.Easy.interval).toBeGreaterThan(card.intervals.Good.interval);
    expect(card.source).toEqual({ file: 'small.md', line: 8, path: ws.deck('small.md') });
    expect(card.cells).toEqual([]);
  });

  test('due first, then new; a sibling of a card answered today is buried; Again comes back in the session', async () => {
    start({ 'small.md': SMALL_DECK });
    const shown: string[] = [];
    const answer = async (g: string) => {
      const { card } = await next();
      shown.push(`${card.front.replace(/<[^>]+>/g, '').trim().slice(0, 14)}/${card.sibling}`);
      await grade(card.id, g).expect(200);
      return card;
    };
    await answer('Good'); // What is 2+2 (most overdue)
    await answer('Good'); // Capital of France
    const reversed = await answer('Good'); // new reversed card, sibling 0: sibling 1 is now buried
    expect(reversed.type).toBe('SingleLineReversed');
    const cloze = await answer('Again'); // new cloze, deletion 0: deletion 1 buried, deletion 0 comes back
    expect(cloze.type).toBe('Cloze');
    const { card: again, remaining } = await next();
    expect(again.id).toBe(cloze.id);
    expect(remaining).toBe(1);
    await grade(again.id, 'Good').expect(200);
    expect((await next()).card).toBeNull();
    expect(shown[0]).toMatch(/^What is/);
    expect(shown[1]).toMatch(/^Capital/);
  });

  test('new cards stop at the daily limit', async () => {
    start({ 'small.md': SMALL_DECK }, { newPerDay: 1 });
    const res = await request(cardlab.app).get('/api/decks').expect(200);
    expect(res.body[0].session).toEqual({ due: 2, new: 1, again: 0 });
    expect((await next()).remaining).toBe(3);
  });
});

describe('grading writes the schedule back into the markdown', () => {
  test('a grade changes only the card\'s comment line, and the response is what was written', async () => {
    const seed = fs.readFileSync(SEED_DECK, 'utf8');
    start({ 'DenseNet.md': seed });
    const { card } = await next('DenseNet');
    const res = await grade(card.id, 'Good').expect(200);
    const after = ws.read('DenseNet.md');
    const changes = changedLines(seed, after);
    expect(changes).toHaveLength(1);
    const [, before, now] = changes[0];
    expect(before).toMatch(/^<!--SR:!.*-->$/);
    expect(now).toBe(`<!--SR:!${res.body.schedule.due},${res.body.schedule.interval},${res.body.schedule.ease}-->`);
    expect(res.body.comment).toBe(now);
    expect(res.body.previous).toEqual(card.schedule);
    // The deck on disk is the source of truth: the graded card left today's queue.
    expect((await next('DenseNet')).card.id).not.toBe(card.id);
  });

  test('undo restores the previous comment byte for byte (existing comment, and a comment the grade added)', async () => {
    start({ 'small.md': SMALL_DECK });
    const original = ws.read('small.md');
    const first = (await next()).card;
    await grade(first.id, 'Hard').expect(200);
    expect(ws.read('small.md')).not.toBe(original);
    const undone = await request(cardlab.app).post('/api/review/undo').send({}).expect(200);
    expect(undone.body).toMatchObject({ cardId: first.id, grade: 'Hard', restored: '<!--SR:!2020-01-01,3,250-->' });
    expect(ws.read('small.md')).toBe(original);
    // The undone card is due again, first in the queue.
    expect((await next()).card.id).toBe(first.id);

    // A new card: the grade adds a comment line; undo takes exactly that line away again.
    await grade((await next()).card.id, 'Good').expect(200);
    await grade((await next()).card.id, 'Good').expect(200);
    const beforeNew = ws.read('small.md');
    const fresh = (await next()).card;
    expect(fresh.isNew).toBe(true);
    await grade(fresh.id, 'Easy').expect(200);
    expect(ws.read('small.md').split('\n').length).toBe(beforeNew.split('\n').length + 1);
    await request(cardlab.app).post('/api/review/undo').send({}).expect(200);
    expect(ws.read('small.md')).toBe(beforeNew);
  });

  test('undo keeps CRLF line endings and a missing final newline', async () => {
    const crlf = '#flashcards\r\nQ one::A one\r\nQ two::A two';
    start({ 'crlf.md': crlf });
    const { card } = await next('crlf');
    await grade(card.id, 'Good').expect(200);
    const graded = fs.readFileSync(ws.deck('crlf.md'), 'utf8');
    expect(graded.split('\r\n').length).toBe(4);
    await request(cardlab.app).post('/api/review/undo').send({}).expect(200);
    expect(fs.readFileSync(ws.deck('crlf.md'), 'utf8')).toBe(crlf);
  });

  test('undo with nothing to undo is a 409, and an undo never overwrites an edit made since the grade', async () => {
    start({ 'small.md': SMALL_DECK });
    await request(cardlab.app).post('/api/review/undo').send({}).expect(409);
    const { card } = await next();
    const res = await grade(card.id, 'Good').expect(200);
    const edited = ws.read('small.md').replace(res.body.comment, '<!--SR:!2030-01-01,9,250-->');
    fs.writeFileSync(ws.deck('small.md'), edited);
    const undo = await request(cardlab.app).post('/api/review/undo').send({}).expect(409);
    expect(undo.body.error.message).toMatch(/changed since/);
    expect(ws.read('small.md')).toBe(edited);
  });

  test('an edit made on disk between next and grade is kept (the grade goes into the edited file)', async () => {
    start({ 'small.md': SMALL_DECK });
    const { card } = await next();
    // Obsidian adds a line above the card: the card moves, the grade still finds it by its text.
    const edited = ws.read('small.md').replace('# Topic\n', '# Topic\nA note written meanwhile.\n');
    fs.writeFileSync(ws.deck('small.md'), edited);
    const res = await grade(card.id, 'Good').expect(200);
    const after = ws.read('small.md');
    expect(after).toContain('A note written meanwhile.');
    const changes = changedLines(edited, after);
    expect(changes).toEqual([[10, '<!--SR:!2020-01-01,3,250-->', res.body.comment]]);
  });

  test('a grade for a card whose text was edited on disk is refused (404 once reloaded, 409 before) and writes nothing', async () => {
    start({ 'small.md': SMALL_DECK });
    const { card } = await next();
    const edited = ws.read('small.md').replace('What is $2+2$?::4', 'What is $2+3$?::5');
    fs.writeFileSync(ws.deck('small.md'), edited);
    const res = await grade(card.id, 'Good');
    expect([404, 409]).toContain(res.status);
    expect(res.body.error.message).toMatch(/gone|edited/);
    expect(ws.read('small.md')).toBe(edited);
  });

  test('decks in subfolders have ids with their folder', async () => {
    start({ 'small.md': SMALL_DECK });
    fs.mkdirSync(`${ws.cards}/course`);
    fs.writeFileSync(`${ws.cards}/course/week 1.md`, '#flashcards\nIn a folder::yes\n');
    cardlab.decks.invalidate();
    const decks = (await request(cardlab.app).get('/api/decks').expect(200)).body;
    expect(decks.map((d: { id: string; name: string }) => [d.id, d.name])).toEqual([
      ['course/week 1', 'week 1'],
      ['small', 'small'],
    ]);
    const { card } = (await request(cardlab.app).get(`/api/decks/${encodeURIComponent('course/week 1')}/next`).expect(200)).body;
    await grade(card.id, 'Easy').expect(200);
    expect(fs.readFileSync(`${ws.cards}/course/week 1.md`, 'utf8')).toMatch(/^In a folder::yes\n<!--SR:!/m);
  });

  test('decks reload when their file changes on disk, without a restart', async () => {
    start({ 'small.md': SMALL_DECK });
    expect((await request(cardlab.app).get('/api/decks')).body[0].counts.total).toBe(7);
    fs.appendFileSync(ws.deck('small.md'), '\nAdded in Obsidian::yes\n');
    fs.writeFileSync(ws.deck('second.md'), '#flashcards\nAnother deck::here\n');
    const deadline = Date.now() + 5000;
    let body: { id: string; counts: { total: number } }[] = [];
    while (Date.now() < deadline) {
      body = (await request(cardlab.app).get('/api/decks')).body;
      if (body.length === 2 && body[1].counts.total === 8) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(body.map((d) => [d.id, d.counts.total])).toEqual([
      ['second', 1],
      ['small', 8],
    ]);
  });
});

describe('grading fast on a big deck', () => {
  test('the server keeps the grade\'s note (no re-parse) and its due-date histogram equals a recount', async () => {
    const lines = ['#flashcards', ''];
    for (let i = 0; i < 300; i++) lines.push(`Q${i}::A${i}`, ...(i % 2 ? [`<!--SR:!2024-01-${String(1 + (i % 28)).padStart(2, '0')},${1 + (i % 9)},250-->`] : []), '');
    start({ 'big.md': lines.join('\n') });
    const now = new Date(2024, 0, 10);
    const reviews = cardlab.reviews as unknown as { histogram(now: Date): { toRecord(): Record<number, number> }; grade(id: string, g: string, now: Date): Promise<unknown> };
    const before = parseNote(ws.read('big.md'), { path: 'big.md' });
    reviews.histogram(now);
    for (let i = 0; i < 40; i++) {
      const card = before.cards[(i * 37) % before.cards.length];
      await reviews.grade(`${card.id}/0`, i % 3 ? 'Good' : 'Hard', now);
    }
    const served = cardlab.decks.get('big')!.note!;
    const reparsed = parseNote(ws.read('big.md'), { path: 'big.md' });
    expect(served).toEqual(reparsed); // what the server holds is what the file says
    expect(reviews.histogram(now).toRecord()).toEqual(dueDateHistogram([reparsed], startOfDay(now)).toRecord());
  });
});

describe('FSRS', () => {
  test('with the plugin set to FSRS, grades write FSRS segments, undo restores, stats read them', async () => {
    ws = workspace({ 'small.md': SMALL_DECK });
    cardlab = createApp(ws.config(), { algorithm: 'FSRS' });
    const { card } = await next();
    expect(card.intervals.Good.interval).toBeGreaterThanOrEqual(1);
    const res = await grade(card.id, 'Good').expect(200);
    expect(res.body.schedule.algorithm).toBe('FSRS');
    const changes = changedLines(SMALL_DECK, ws.read('small.md'));
    expect(changes).toHaveLength(1);
    expect(changes[0][2]).toBe(res.body.comment);
    expect(res.body.comment).toMatch(/^<!--SR:!fsrs,/);
    const stats = (await request(cardlab.app).get('/api/stats?deck=small').expect(200)).body;
    expect(stats.eases.reduce((n: number, e: { count: number }) => n + e.count, 0)).toBe(3);
    await request(cardlab.app).post('/api/review/undo').expect(200);
    expect(ws.read('small.md')).toBe(SMALL_DECK);
  });
});

describe('bad input', () => {
  test('a malformed deck file is reported for that file while the other decks are served', async () => {
    const notUtf8 = Buffer.concat([Buffer.from('#flashcards\nQ::'), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('\n')]);
    start({ 'small.md': SMALL_DECK, 'broken.md': notUtf8 });
    const decks = (await request(cardlab.app).get('/api/decks').expect(200)).body;
    const broken = decks.find((d: { id: string }) => d.id === 'broken');
    expect(broken.error).toMatch(/broken\.md is not valid UTF-8/);
    expect(decks.find((d: { id: string }) => d.id === 'small').error).toBeNull();
    const res = await request(cardlab.app).get('/api/decks/broken/next').expect(200);
    expect(res.body).toMatchObject({ card: null, error: expect.stringMatching(/UTF-8/) });
    expect((await next()).card).not.toBeNull();
    expect(fs.readFileSync(ws.deck('broken.md')).equals(notUtf8)).toBe(true);
  });

  test('a card whose scheduling comment does not read is served with the problem shown', async () => {
    start({ 'odd.md': '#flashcards\nQ one::A one\n<!--SR:!someday,x,y-->\n\nQ two::A two\n<!--SR:!2000-01-01,1,250-->\n' });
    const { card } = await next('odd');
    expect(card.isNew).toBe(true);
    expect(card.problems).toEqual([expect.stringMatching(/line 2: .*"someday,x,y" does not read/)]);
    await grade(card.id, 'Good').expect(200);
    const second = (await next('odd')).card;
    expect(second.problems).toEqual([]); // the plugin's placeholder for a new sibling is fine
  });

  test('invalid grades, bodies and ids: 400, 404, 415', async () => {
    start({ 'small.md': SMALL_DECK });
    const { card } = await next();
    for (const body of [{ cardId: card.id, grade: 'Perfect' }, { cardId: card.id }, { grade: 'Good' }, { cardId: 7, grade: 'Good' }, { cardId: card.id, grade: 'Good', extra: 1 }]) {
      const res = await request(cardlab.app).post('/api/review').send(body).expect(400);
      expect(res.body.error.status).toBe(400);
    }
    await request(cardlab.app).post('/api/review').set('Content-Type', 'application/json').send('{"cardId": ').expect(400);
    await request(cardlab.app).post('/api/review').set('Content-Type', 'text/plain').send('cardId=x&grade=Good').expect(415);
    // A client that is not a browser may undo with a bare POST (nothing to undo yet: 409).
    await request(cardlab.app).post('/api/review/undo').expect(409);
    await grade('small.md#nohash:0/0', 'Good').expect(404);
    await grade(card.id.replace(/\/0$/, '/5'), 'Good').expect(404);
    await request(cardlab.app).get('/api/decks/nope/next').expect(404);
    await request(cardlab.app).get('/api/stats?deck=nope').expect(404);
    await request(cardlab.app).post('/api/cells/nope:1/run').send({}).expect(404);
    await request(cardlab.app).post('/api/cells/x:1/run').send({ code: 5 }).expect(400);
    const unknown = await request(cardlab.app).get('/api/nothing-here').expect(404);
    expect(unknown.body.error.message).toMatch(/no such route/);
    expect(ws.read('small.md')).toBe(SMALL_DECK);
  });

  test('an oversize body is refused with 413', async () => {
    start({ 'small.md': SMALL_DECK }, { bodyLimit: 4096 });
    const res = await request(cardlab.app).post('/api/review').send({ cardId: 'x'.repeat(10_000), grade: 'Good' }).expect(413);
    expect(res.body.error.message).toMatch(/larger than the limit/);
  });

  test('static routes cannot leave their folders (404)', async () => {
    start({ 'small.md': SMALL_DECK, 'figure.png': Buffer.from([137, 80, 78, 71]) });
    fs.writeFileSync(`${ws.dir}/secret.png`, 'secret');
    const attempts = [
      '/vendor/katex/../../package.json',
      '/vendor/katex/..%2f..%2fpackage.json',
      '/vendor/katex/%2e%2e/%2e%2e/package.json',
      '/..%2fpackage.json',
      '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      '/attachments/..%2fsecret.png',
      '/attachments/%2e%2e%2fsecret.png',
      '/attachments/small.md',
      '/attachments/.hidden.png',
      '/app.js/../../package.json',
    ];
    for (const url of attempts) {
      const res = await request(cardlab.app).get(url);
      expect([url, res.status]).toEqual([url, 404]);
      expect(res.text).not.toMatch(/"name": "cardlab"|secret|root:/);
    }
    await request(cardlab.app).get('/attachments/figure.png').expect(200).expect('content-type', /png/);
  });

  test('attachments are served only when their real path is inside the cards folder (no symlinks out)', async () => {
    const png = Buffer.from([137, 80, 78, 71, 1, 2, 3]);
    start({ 'small.md': SMALL_DECK, 'figure.png': png });
    const outside = `${ws.dir}/outside`;
    fs.mkdirSync(outside);
    fs.writeFileSync(`${outside}/secret.png`, 'secret-outside');
    fs.mkdirSync(`${ws.cards}/images`);
    fs.writeFileSync(`${ws.cards}/images/inner.png`, png);
    fs.symlinkSync('/etc/passwd', `${ws.cards}/passwd.png`);
    fs.symlinkSync(`${outside}/secret.png`, `${ws.cards}/secret.png`);
    fs.symlinkSync(outside, `${ws.cards}/outside-dir.png`); // a folder outside, under an image name
    fs.symlinkSync(`${ws.cards}/images`, `${ws.cards}/inside-dir.png`); // a folder inside is still not a file
    fs.symlinkSync('figure.png', `${ws.cards}/alias.png`); // a good symlink: stays inside
    fs.symlinkSync(`${ws.cards}/images/inner.png`, `${ws.cards}/inner.png`); // good, into a subfolder
    fs.symlinkSync(`${ws.dir}/missing.png`, `${ws.cards}/dangling.png`);
    for (const name of ['passwd.png', 'secret.png', 'outside-dir.png', 'inside-dir.png', 'dangling.png']) {
      const res = await request(cardlab.app).get(`/attachments/${name}`);
      expect([name, res.status]).toEqual([name, 404]);
      expect(res.text).not.toMatch(/root:|secret-outside/);
    }
    for (const name of ['figure.png', 'alias.png', 'inner.png']) {
      const res = await request(cardlab.app).get(`/attachments/${name}`).expect(200).expect('content-type', /png/);
      expect(Buffer.compare(res.body, png)).toBe(0);
    }
    // The page shows what the route serves: a symlink out of the folder is a missing image.
    fs.writeFileSync(`${ws.cards}/media.md`, '#flashcards\n![[passwd.png]] and ![[alias.png]]::shown\n');
    const { card } = await next('media');
    expect(card.front).toMatch(/missing image: passwd\.png/);
    expect(card.front).toContain('src="/attachments/alias.png"');
  });

  test('the page and its assets are served locally, with a policy that allows no inline script', async () => {
    start({ 'small.md': SMALL_DECK });
    const page = await request(cardlab.app).get('/').expect(200).expect('content-type', /html/);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self';/);
    expect(page.text).not.toMatch(/https?:\/\//);
    await request(cardlab.app).get('/app.js').expect(200).expect('content-type', /javascript/);
    await request(cardlab.app).get('/vendor/katex/katex.min.css').expect(200);
    await request(cardlab.app).get('/vendor/katex/fonts/KaTeX_Main-Regular.woff2').expect(200);
    await request(cardlab.app).get('/vendor/plotly.min.js').expect(200).expect('content-type', /javascript/);
    await request(cardlab.app).get('/vendor/highlight.css').expect(200);
  });

  test('cards come with highlighted code, images from the cards folder, and placeholders for missing ones', async () => {
    const deck = ['#flashcards', 'Which loop?', '?', '```ts', 'for (const x of xs) console.log(x)', '```', '', 'Figure ![[figure.png|300]] and ![[gone.png]]::shown', ''].join('\n');
    start({ 'media.md': deck, 'figure.png': Buffer.from([137, 80, 78, 71]) });
    const first = (await next('media')).card;
    expect(first.back).toMatch(/<span class="hljs-keyword">for<\/span>/);
    await grade(first.id, 'Good').expect(200);
    const second = (await next('media')).card;
    expect(second.front).toContain('<img class="embed" src="/attachments/figure.png" alt="figure.png" width="300">');
    expect(second.front).toMatch(/class="embed-missing"[^>]*>⚠ missing image: gone\.png/);
  });

  test('deck content cannot inject script into the page', async () => {
    start({ 'evil.md': '#flashcards\n<script>alert(1)</script> <img src=x onerror=alert(1)>::[x](javascript:alert(1))\n' });
    const { card } = await next('evil');
    expect(card.front).not.toMatch(/<script|<img/);
    expect(card.back).not.toMatch(/href="javascript:/);
  });
});

describe('security', () => {
  test('on loopback, requests for another host name are refused (DNS rebinding)', async () => {
    start({ 'small.md': SMALL_DECK });
    await request(cardlab.app).get('/api/decks').set('Host', 'evil.example:3000').expect(403);
    await request(cardlab.app).get('/api/decks').set('Host', 'localhost:3000').expect(200);
  });

  test('a POST from another origin is refused, one from the page itself is served', async () => {
    start({ 'small.md': SMALL_DECK });
    const { card } = await next();
    await grade(card.id, 'Good').set('Origin', 'http://evil.example').expect(403);
    await request(cardlab.app).post('/api/review/undo').set('Origin', 'null').send({}).expect(403);
    // What a cross-site HTML form sends: no JSON, and its Origin.
    await request(cardlab.app).post('/api/review/undo').set('Origin', 'http://evil.example').set('Content-Type', 'application/x-www-form-urlencoded').expect(403);
    expect(ws.read('small.md')).toBe(SMALL_DECK);
    const server = request(cardlab.app);
    const res = await server.post('/api/review').set('Host', 'localhost:3000').set('Origin', 'http://localhost:3000').send({ cardId: card.id, grade: 'Good' });
    expect(res.status).toBe(200);
  });

  test('binding another address requires the token printed at start', async () => {
    start({ 'small.md': SMALL_DECK }, { host: '0.0.0.0' });
    const config = ws.config({ host: '0.0.0.0' });
    expect(config.token).toMatch(/^[0-9a-f]{48}$/);
    const app = createApp({ ...config, token: 'a-known-token-123' });
    try {
      await request(app.app).get('/api/decks').expect(401);
      await request(app.app).get('/api/decks').set('Authorization', 'token wrong-token-456').expect(401);
      await request(app.app).get('/api/decks').set('Authorization', 'token a-known-token-123').expect(200);
      const login = await request(app.app).get('/?token=a-known-token-123').expect(302);
      expect(login.headers.location).toBe('/');
      const cookie = login.headers['set-cookie'][0];
      expect(cookie).toMatch(/HttpOnly/);
      await request(app.app).get('/api/decks').set('Cookie', cookie.split(';')[0]).expect(200);
    } finally {
      app.close();
    }
  });
});

describe('stats', () => {
  test('due forecast for 30 days, interval and ease distributions, reviews per day', async () => {
    start({ 'small.md': SMALL_DECK });
    const { card } = await next();
    const graded = (await grade(card.id, 'Good').expect(200)).body;
    await grade((await next()).card.id, 'Again').expect(200);
    const stats = (await request(cardlab.app).get('/api/stats?deck=small').expect(200)).body;
    expect(stats.forecast).toHaveLength(30);
    expect(stats.forecast.reduce((n: number, f: { count: number }) => n + f.count, 0)).toBe(2); // the 2999 card is far away
    const dueDay = stats.forecast.find((f: { date: string }) => f.date === graded.schedule.due);
    expect(dueDay.count).toBeGreaterThanOrEqual(1);
    expect(stats.intervals.map((i: { value: number }) => i.value)).toEqual(expect.arrayContaining([graded.schedule.interval, 100]));
    expect(stats.eases.reduce((n: number, e: { count: number }) => n + e.count, 0)).toBe(3);
    expect(stats.newCards).toBe(4);
    expect(stats.reviewsPerDay).toHaveLength(1);
    expect(stats.reviewsPerDay[0]).toMatchObject({ count: 2, grades: { Again: 1, Good: 1, Hard: 0, Easy: 0 } });
    // The page's figures come with the numbers, built by src/viz from those same numbers.
    const { figures, ...numbers } = stats;
    expect(figures).toEqual(statsFigures(numbers));
    expect(figures.forecast.data[0].x).toEqual(stats.forecast.map((f: { date: string }) => f.date));
    expect(figures.forecast.data[0].y).toEqual(stats.forecast.map((f: { count: number }) => f.count));
    const sum = (ys: number[]) => ys.reduce((n, c) => n + c, 0);
    expect(sum(figures.intervals.data[0].y)).toBe(sum(stats.intervals.map((i: { count: number }) => i.count)));
    expect(sum(figures.eases.data[0].y)).toBe(sum(stats.eases.map((e: { count: number }) => e.count)));
    expect(figures.reviews.data.map((t: { name: string; x: string[]; y: number[] }) => [t.name, t.x, t.y])).toEqual(
      ['Again', 'Hard', 'Good', 'Easy'].map((g) => [g, [stats.reviewsPerDay[0].date], [g === 'Again' || g === 'Good' ? 1 : 0]]),
    );
    // The log survives a restart: the same session state and stats from a new app on the same data.
    const restarted = createApp(ws.config());
    try {
      const again = (await request(restarted.app).get('/api/stats').expect(200)).body;
      expect(again.reviewsPerDay[0].count).toBe(2);
    } finally {
      restarted.close();
    }
  });
});
