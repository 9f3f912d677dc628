/**
 * What the review page relies on beyond the basic API (supertest, in process, temp decks): grades
 * with request ids, undo per review session, bury and suspend kept out of the deck files, per-deck
 * daily limits that persist, decks nested by tag, session progress, browse/search, wiki-link
 * previews, and stats with retention and counts by state.
 */
import fs from 'fs';
import path from 'path';
import request from 'supertest';
import { createApp, type CardlabApp } from '../server/app';
import { SMALL_DECK, workspace, type Workspace } from './helpers/server-fixtures';

let ws: Workspace;
let cardlab: CardlabApp;

function start(decks: Record<string, string>): CardlabApp {
  ws = workspace(decks);
  cardlab = createApp(ws.config());
  return cardlab;
}

/** A second app on the same folders, as after a restart. */
function restart(): CardlabApp {
  cardlab.close();
  cardlab = createApp(ws.config());
  return cardlab;
}

afterEach(() => {
  cardlab?.close();
  ws?.cleanup();
});

const next = async (deck = 'small', session?: string) =>
  (await request(cardlab.app).get(`/api/decks/${encodeURIComponent(deck)}/next`).query(session ? { session } : {}).expect(200)).body;
const post = (url: string, body: object) => request(cardlab.app).post(url).send(body);
const logLines = () => fs.readFileSync(path.join(ws.data, 'reviews.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe('grades with a request id', () => {
  test('a repeat is answered with the first result and writes nothing (one after the other, and after a restart)', async () => {
    start({ 'small.md': SMALL_DECK });
    const { card } = await next();
    const first = await post('/api/review', { cardId: card.id, grade: 'Good', requestId: 'req-00000001' }).expect(200);
    const afterFirst = ws.read('small.md');
    const again = await post('/api/review', { cardId: card.id, grade: 'Good', requestId: 'req-00000001' }).expect(200);
    expect(again.body).toEqual({ ...first.body, repeated: true });
    // Even a different grade under the same id is the same request: the first answer stands.
    const other = await post('/api/review', { cardId: card.id, grade: 'Easy', requestId: 'req-00000001' }).expect(200);
    expect(other.body.schedule).toEqual(first.body.schedule);
    expect(ws.read('small.md')).toBe(afterFirst);
    expect(logLines()).toHaveLength(1);
    restart();
    const late = await post('/api/review', { cardId: card.id, grade: 'Good', requestId: 'req-00000001' }).expect(200);
    expect(late.body.schedule).toEqual(first.body.schedule);
    expect(ws.read('small.md')).toBe(afterFirst);
  });

  test('two copies sent at once (a double click) grade once: the interval does not compound', async () => {
    start({ 'small.md': SMALL_DECK });
    const { card } = await next();
    const [a, b] = await Promise.all([
      post('/api/review', { cardId: card.id, grade: 'Easy', requestId: 'dbl-00000001' }),
      post('/api/review', { cardId: card.id, grade: 'Easy', requestId: 'dbl-00000001' }),
    ]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(a.body.schedule).toEqual(b.body.schedule);
    expect(a.body.schedule.interval).toBe(card.intervals.Easy.interval);
    expect(logLines()).toHaveLength(1);
    expect(ws.read('small.md').match(/<!--SR:[^>]*-->/g)).toContain(a.body.comment);
  });

  test('without a request id every POST grades (scripts), and a malformed id is a 400', async () => {
    start({ 'small.md': SMALL_DECK });
    const { card } = await next();
    await post('/api/review', { cardId: card.id, grade: 'Good' }).expect(200);
    await post('/api/review', { cardId: card.id, grade: 'Good' }).expect(200);
    expect(logLines()).toHaveLength(2);
    const bad = await post('/api/review', { cardId: card.id, grade: 'Good', requestId: 'x y' }).expect(400);
    expect(bad.body.error.message).toMatch(/requestId/);
  });
});

describe('undo belongs to the review session', () => {
  test('undo in one session never touches another deck\'s grade; next says what can be undone', async () => {
    start({ 'small.md': SMALL_DECK, 'other.md': '#flashcards\nOne::1\n\nTwo::2\n' });
    const a = (await next('small', 'session-A')).card;
    await post('/api/review', { cardId: a.id, grade: 'Hard', session: 'session-A' }).expect(200);
    const smallAfterGrade = ws.read('small.md');
    const b = (await next('other', 'session-B')).card;
    const otherBefore = ws.read('other.md');
    expect((await next('other', 'session-B')).undo).toBeNull();
    await post('/api/review', { cardId: b.id, grade: 'Good', session: 'session-B' }).expect(200);
    expect((await next('other', 'session-B')).undo).toEqual({ cardId: b.id, grade: 'Good' });

    // Undo in session A undoes A's grade, not B's later one.
    const undone = await post('/api/review/undo', { session: 'session-A' }).expect(200);
    expect(undone.body).toMatchObject({ cardId: a.id, grade: 'Hard' });
    expect(ws.read('small.md')).toBe(SMALL_DECK);
    expect(ws.read('other.md')).not.toBe(otherBefore);
    expect(smallAfterGrade).not.toBe(SMALL_DECK);
    // Nothing left in A: 409, and B's grade is still there.
    const none = await post('/api/review/undo', { session: 'session-A' }).expect(409);
    expect(none.body.error.message).toMatch(/this review session/);
    await post('/api/review/undo', { session: 'session-B' }).expect(200);
    expect(ws.read('other.md')).toBe(otherBefore);
  });
});

describe('bury and suspend', () => {
  test('are kept in the data folder: the deck file stays byte for byte the same', async () => {
    start({ 'small.md': SMALL_DECK });
    const bytes = fs.readFileSync(ws.deck('small.md'));
    const first = (await next()).card;
    await post('/api/cards/flag', { cardId: first.id, action: 'bury' }).expect(200);
    const second = (await next()).card;
    expect(second.id).not.toBe(first.id);
    const r = await post('/api/cards/flag', { cardId: second.id, action: 'suspend' }).expect(200);
    expect(r.body).toEqual({ cardId: second.id, suspended: true, buried: false });
    const after = await next();
    expect([first.id, second.id]).not.toContain(after.card.id);
    expect(after.remaining).toBe(4); // 6 in the session, minus the buried and the suspended one
    expect(fs.readFileSync(ws.deck('small.md')).equals(bytes)).toBe(true);
    const flags = JSON.parse(fs.readFileSync(path.join(ws.data, 'card-flags.json'), 'utf8'));
    expect(Object.keys(flags.suspended)).toEqual([second.id]);
    expect(Object.keys(flags.buried)).toEqual([first.id]);

    // Counts by state, and they survive a restart.
    restart();
    const [deck] = (await request(cardlab.app).get('/api/decks').expect(200)).body;
    expect(deck.counts).toMatchObject({ suspended: 1, buried: 1, due: 0, new: 4 });
    // Unsuspend from the browse page brings it back.
    await post('/api/cards/flag', { cardId: second.id, action: 'unsuspend' }).expect(200);
    expect((await next()).card.id).toBe(second.id);
    await post('/api/cards/flag', { cardId: 'small.md#nope:0/0', action: 'bury' }).expect(404);
    expect(fs.readFileSync(ws.deck('small.md')).equals(bytes)).toBe(true);
  });
});

describe('the data folder\'s JSON files', () => {
  test('a damaged flags or settings file is set aside with a warning; the server starts with defaults and writes a good one', async () => {
    ws = workspace({ 'small.md': SMALL_DECK });
    fs.mkdirSync(ws.data, { recursive: true });
    fs.writeFileSync(path.join(ws.data, 'card-flags.json'), '{"version":1,"buried":');
    fs.writeFileSync(path.join(ws.data, 'deck-settings.json'), '{"version":1,"decks":{"small":{"newPerDay":-5}}}');
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    let warnings: string[];
    try {
      cardlab = createApp(ws.config());
      warnings = warn.mock.calls.map((c) => String(c[0]));
    } finally {
      warn.mockRestore();
    }
    expect(warnings).toEqual([
      expect.stringMatching(/card-flags\.json does not read .*moved to .*card-flags\.json\.damaged-\d+/),
      expect.stringMatching(/deck-settings\.json does not read .*moved to .*deck-settings\.json\.damaged-\d+/),
    ]);
    const aside = fs.readdirSync(ws.data).filter((f) => f.includes('.damaged-')).sort();
    expect(aside).toHaveLength(2);
    expect(fs.readFileSync(path.join(ws.data, aside[0]), 'utf8')).toBe('{"version":1,"buried":'); // kept as it was
    expect((await next()).progress).toEqual({ new: 4, learning: 0, review: 2 });
    await post('/api/decks/small/limits', { newPerDay: 2 }).expect(200);
    expect(JSON.parse(fs.readFileSync(path.join(ws.data, 'deck-settings.json'), 'utf8'))).toEqual({ version: 1, decks: { small: { newPerDay: 2 } } });
  });
});

describe('per-deck daily limits', () => {
  test('set through the API, applied to the session, persisted across a restart, reset with null', async () => {
    start({ 'small.md': SMALL_DECK });
    expect((await next()).progress).toEqual({ new: 4, learning: 0, review: 2 });
    const set = await post('/api/decks/small/limits', { newPerDay: 1, reviewsPerDay: 1 }).expect(200);
    expect(set.body).toEqual({ newPerDay: 1, reviewsPerDay: 1, own: { newPerDay: true, reviewsPerDay: true } });
    expect((await next()).progress).toEqual({ new: 1, learning: 0, review: 1 });
    restart();
    const n = await next();
    expect(n.progress).toEqual({ new: 1, learning: 0, review: 1 });
    // A review done today counts against the review limit.
    await post('/api/review', { cardId: n.card.id, grade: 'Good' }).expect(200);
    expect((await next()).progress).toEqual({ new: 1, learning: 0, review: 0 });
    await post('/api/decks/small/limits', { reviewsPerDay: null, newPerDay: null }).expect(200);
    expect((await next()).progress).toEqual({ new: 4, learning: 0, review: 1 });
    await post('/api/decks/small/limits', { newPerDay: -1 }).expect(400);
    await post('/api/decks/nope/limits', { newPerDay: 1 }).expect(404);
  });

  test('progress splits new / learning / review; Again makes a card learning', async () => {
    start({ 'small.md': SMALL_DECK });
    const { card } = await next();
    await post('/api/review', { cardId: card.id, grade: 'Again' }).expect(200);
    expect((await next()).progress).toEqual({ new: 4, learning: 1, review: 1 });
  });
});

describe('decks nest by the plugin\'s tag hierarchy', () => {
  const extra = ['#flashcards/DenseNet/extra', '', 'Extra one::1', '', 'Extra two::2', ''].join('\n');
  test('#flashcards/DenseNet/extra is a subdeck of DenseNet, reviewed with it, not a flat deck', async () => {
    start({ 'DenseNet.md': '---\ntags: [flashcards]\n---\nMain::card\n', 'Extra.md': extra, 'Other.md': '#flashcards/science/physics\nForce::F=ma\n' });
    const decks = (await request(cardlab.app).get('/api/decks').expect(200)).body;
    expect(decks.map((d: { id: string; name: string; parent: string | null; depth: number }) => [d.id, d.name, d.parent, d.depth])).toEqual([
      ['DenseNet', 'DenseNet', null, 0],
      ['DenseNet/extra', 'extra', 'DenseNet', 1],
      ['science', 'science', null, 0],
      ['science/physics', 'physics', 'science', 1],
    ]);
    const parent = decks[0];
    expect(parent.counts.total).toBe(3);
    expect(parent.children).toEqual(['DenseNet/extra']);
    expect(decks[1].counts.total).toBe(2);
    // The subdeck alone, then the parent with its subdeck.
    const sub = await next('DenseNet/extra');
    expect(sub.card.front).toContain('Extra one');
    expect(sub.card.tags).toEqual(['#flashcards/DenseNet/extra']);
    expect(sub.remaining).toBe(2);
    expect((await next('DenseNet')).remaining).toBe(3);
    // A grade from the parent counts in the subdeck's session.
    await post('/api/review', { cardId: sub.card.id, grade: 'Good' }).expect(200);
    expect((await next('DenseNet/extra')).remaining).toBe(1);
    expect(ws.read('Extra.md')).toMatch(/^Extra one::1\n<!--SR:!/m);
  });

  test("a subdeck's daily limits hold when its parent is reviewed (as in Anki), and the parent's own limit on top", async () => {
    const three = ['#flashcards/DenseNet/extra', '', 'Extra one::1', '', 'Extra two::2', '', 'Extra three::3', ''].join('\n');
    start({ 'DenseNet.md': '---\ntags: [flashcards]\n---\nMain one::a\n\nMain two::b\n', 'Extra.md': three });
    const newCounts = async () =>
      Object.fromEntries((await request(cardlab.app).get('/api/decks').expect(200)).body.map((d: { id: string; session: { new: number } }) => [d.id, d.session.new]));
    expect(await newCounts()).toEqual({ DenseNet: 5, 'DenseNet/extra': 3 });
    await post('/api/decks/DenseNet%2Fextra/limits', { newPerDay: 1 }).expect(200);
    // The parent offers its own two cards and one of the subdeck's three.
    expect(await newCounts()).toEqual({ DenseNet: 3, 'DenseNet/extra': 1 });
    const fronts: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { card } = await next('DenseNet');
      if (!card) break;
      fronts.push(card.front);
      await post('/api/review', { cardId: card.id, grade: 'Good' }).expect(200);
    }
    expect(fronts.map((f) => />([^<>]+?)</.exec(f)?.[1])).toEqual(['Main one', 'Main two', 'Extra one']);
    expect(await newCounts()).toEqual({ DenseNet: 0, 'DenseNet/extra': 0 });
    // The parent's own limit still applies over everything below it.
    await post('/api/decks/DenseNet%2Fextra/limits', { newPerDay: 10 }).expect(200);
    await post('/api/decks/DenseNet/limits', { newPerDay: 4 }).expect(200);
    expect(await newCounts()).toEqual({ DenseNet: 1, 'DenseNet/extra': 2 });
  });
});

describe('browse and link previews', () => {
  test('browse filters by text, tag, deck and state and shows each card\'s schedule and source', async () => {
    start({ 'small.md': SMALL_DECK, 'tagged.md': '#flashcards/bio\nCell::membrane\n' });
    const all = (await request(cardlab.app).get('/api/cards').expect(200)).body;
    expect(all.total).toBe(8);
    expect(all.tags).toEqual(['#flashcards', '#flashcards/bio']);
    const paris = (await request(cardlab.app).get('/api/cards').query({ q: 'capital FRANCE' }).expect(200)).body;
    expect(paris.cards).toEqual([
      expect.objectContaining({ question: 'Capital of France', answer: 'Paris', state: 'young', due: '2020-02-01', interval: 10, ease: 230, deck: 'small', source: { file: 'small.md', line: 5 } }),
    ]);
    expect((await request(cardlab.app).get('/api/cards').query({ tag: 'flashcards/bio' })).body.cards.map((c: { question: string }) => c.question)).toEqual(['Cell']);
    expect((await request(cardlab.app).get('/api/cards').query({ deck: 'small', state: 'new' })).body.total).toBe(4);
    expect((await request(cardlab.app).get('/api/cards').query({ state: 'due' })).body.total).toBe(2);
    await request(cardlab.app).get('/api/cards').query({ state: 'weird' }).expect(400);
  });

  test('a wiki link\'s section is rendered for the preview, without scheduling comments', async () => {
    start({ 'small.md': SMALL_DECK });
    const r = (await request(cardlab.app).get('/api/link-preview').query({ target: 'small#Sub B' }).expect(200)).body;
    expect(r.title).toBe('Sub B');
    expect(r.html).toContain('Far future');
    expect(r.html).not.toContain('SR:');
    expect(r.html).not.toContain('Capital of France');
    const block = (await request(cardlab.app).get('/api/link-preview').query({ target: 'small#^cloze-card' }).expect(200)).body;
    expect(block.html).toContain('deletion');
    await request(cardlab.app).get('/api/link-preview').query({ target: 'Nowhere#X' }).expect(404);
    await request(cardlab.app).get('/api/link-preview').query({ target: 'small#No such heading' }).expect(404);
  });
});

describe('card text', () => {
  test('a single line break shows as a break, as in Obsidian (markdown-it breaks)', async () => {
    start({ 'soft.md': '#flashcards\n\n**Composite Layer**\nThe Composite Layer ==takes the maps==.\n' });
    const { card } = await next('soft');
    expect(card.type).toBe('Cloze');
    expect(card.front).toMatch(/<strong>Composite Layer<\/strong><br>\s*The Composite Layer/);
    expect(card.back).toMatch(/<strong>Composite Layer<\/strong><br>\s*The Composite Layer <mark class="cloze cloze-answer">takes the maps<\/mark>/);
  });
});

describe('stats', () => {
  test('retention (reviews not answered Again) and counts by state', async () => {
    start({ 'small.md': SMALL_DECK });
    const first = (await next()).card;
    await post('/api/review', { cardId: first.id, grade: 'Again' }).expect(200);
    const second = (await next()).card;
    await post('/api/review', { cardId: second.id, grade: 'Good' }).expect(200);
    const fresh = (await next()).card;
    expect(fresh.isNew).toBe(true);
    await post('/api/review', { cardId: fresh.id, grade: 'Again' }).expect(200); // a new card: not a review
    await post('/api/cards/flag', { cardId: (await next()).card.id, action: 'suspend' }).expect(200);
    const stats = (await request(cardlab.app).get('/api/stats').query({ deck: 'small' }).expect(200)).body;
    expect(stats.retention.today).toEqual({ reviews: 2, passed: 1, rate: 0.5 });
    expect(stats.retention.all).toEqual({ reviews: 2, passed: 1, rate: 0.5 });
    // Capital of France: 10 d × 2.3 after Good = mature (≥ 21 d), as is the far-future card (100 d).
    expect(stats.states).toEqual({ new: 2, learning: 2, young: 0, mature: 2, suspended: 1, buried: 0 });
  });
});
