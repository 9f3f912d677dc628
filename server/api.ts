/** The JSON API. Every input is checked with zod; errors are JSON (see errors.ts). */
import express, { type Router } from 'express';
import { z } from 'zod';
import { statsFigures } from '../src/viz/stats';
import type { CellEvent } from '../src/cells/events';
import type { CellStore } from './cell-store';
import type { CellRuns } from './cell-runs';
import type { DeckStore } from './deck-store';
import { deckLimitsSchema } from './deck-settings';
import { notFound, validate } from './errors';
import { GRADES } from './review-log';
import { CARD_STATES, type Reviews } from './reviews';
import type { RunSlots } from './run-slots';

const deckIdSchema = z.string().min(1).max(1000);
/** A client id: a grade's request id, a review session's id. */
const clientId = z.string().regex(/^[\w-]{8,100}$/, 'must be 8 to 100 letters, digits, _ or -');
const cardIdSchema = z.string().min(1).max(2000);
const reviewBody = z
  .object({ cardId: cardIdSchema, grade: z.enum(GRADES), requestId: clientId.optional(), session: clientId.optional(), deck: deckIdSchema.optional() })
  .strict();
const undoBody = z.object({ session: clientId.optional() }).strict();
const nextQuery = z.object({ session: clientId.optional() });
const flagBody = z.object({ cardId: cardIdSchema, action: z.enum(['bury', 'unbury', 'suspend', 'unsuspend']) }).strict();
const browseQuery = z.object({
  q: z.string().max(500).optional(),
  deck: deckIdSchema.optional(),
  tag: z.string().max(500).optional(),
  state: z.enum(['all', 'due', ...CARD_STATES]).optional(),
  limit: z.coerce.number().int().min(1).max(5000).optional(),
});
const previewQuery = z.object({ target: z.string().min(1).max(1000) });
const runBody = z.object({ code: z.string().max(200_000).optional() }).strict();
const runIdSchema = z.string().uuid();
const statsQuery = z.object({ deck: deckIdSchema.optional() });

/** What the page receives before the runner's own events while a demo waits for a free slot. */
export type RunStreamEvent = CellEvent | { type: 'run'; runId: string } | { type: 'queued'; position: number };

export function apiRoutes(deps: { reviews: Reviews; decks: DeckStore; cells: CellStore; slots: RunSlots; cellRuns: CellRuns }): Router {
  const { reviews, decks, cells, slots, cellRuns } = deps;
  const api = express.Router();

  api.get('/decks', async (_req, res) => {
    res.json(await reviews.listDecks());
  });

  api.get('/decks/:id/next', async (req, res) => {
    const query = validate(nextQuery, req.query, 'next query');
    res.json(await reviews.next(validate(deckIdSchema, req.params.id, 'deck id'), query));
  });

  // The deck's daily limits (new cards, reviews), kept in the data folder.
  api.post('/decks/:id/limits', async (req, res) => {
    const body = validate(deckLimitsSchema, req.body ?? {}, 'deck limits');
    res.json(await reviews.setLimits(validate(deckIdSchema, req.params.id, 'deck id'), body));
  });

  api.post('/review', async (req, res) => {
    const body = validate(reviewBody, req.body, 'review');
    res.json(await reviews.grade(body.cardId, body.grade, { requestId: body.requestId, session: body.session, deck: body.deck }));
  });

  api.post('/review/undo', async (req, res) => {
    res.json(await reviews.undo(validate(undoBody, req.body ?? {}, 'undo')));
  });

  // Bury (until tomorrow) or suspend a card: kept in the data folder, the deck file is not touched.
  api.post('/cards/flag', async (req, res) => {
    const body = validate(flagBody, req.body, 'card flag');
    res.json(await reviews.flag(body.cardId, body.action));
  });

  // The browse page: every card matching a text, tag, deck and state, with its schedule.
  api.get('/cards', async (req, res) => {
    res.json(await reviews.browse(validate(browseQuery, req.query, 'browse query')));
  });

  // A wiki link's target (`Note#Heading`), rendered, for the review page's link preview.
  api.get('/link-preview', async (req, res) => {
    res.json(await reviews.linkPreview(validate(previewQuery, req.query, 'link preview').target));
  });

  api.get('/stats', async (req, res) => {
    const stats = await reviews.stats(validate(statsQuery, req.query, 'stats query').deck);
    // The page draws these figures as they are: the specs live in src/viz, one source for every chart.
    res.json({ ...stats, figures: statsFigures(stats) });
  });

  // Notebook problems: files that cannot be read, links that name no card.
  api.get('/cells', async (_req, res) => {
    await Promise.all([cells.refresh(), decks.refresh()]);
    res.json({ problems: cells.problems(), unresolved: cells.unresolved(decks.notes()), pool: cellRuns.poolState() });
  });

  // The run's events as newline-delimited JSON, each written as soon as it comes. The first one
  // names the run ({type:"run", runId}) for POST /api/cells/runs/:runId/stop.
  api.post('/cells/:id/run', async (req, res) => {
    const body = validate(runBody, req.body ?? {}, 'run request');
    await cells.refresh();
    const cell = cells.get(String(req.params.id));
    if (!cell) throw notFound(`cell "${req.params.id}"`);
    cellRuns.assertCanRun();
    slots.reserve();

    const gone = new AbortController();
    let stopped = false;
    const runId = cellRuns.open(() => {
      stopped = true;
      gone.abort();
    });
    res.on('close', () => {
      if (!res.writableEnded) gone.abort();
    });
    res.status(200).set({ 'Content-Type': 'application/x-ndjson; charset=utf-8', 'Cache-Control': 'no-store' });
    res.flushHeaders();
    const send = (event: RunStreamEvent) => {
      if (!res.writableEnded) res.write(JSON.stringify(event) + '\n');
    };
    send({ type: 'run', runId });
    if (slots.running >= slots.max) send({ type: 'queued', position: slots.queued + 1 });
    let release: () => void;
    try {
      release = await slots.acquire(gone.signal);
    } catch {
      // Stopped while waiting (or the client left): nothing ran.
      if (stopped) send({ type: 'exit', ok: false, reason: 'stopped', exitCode: null, signal: null, ms: 0, message: 'stopped' });
      cellRuns.finish(runId);
      res.end();
      return;
    }
    try {
      const run = cellRuns.start(runId, body.code ?? cell.code, cell.file, send);
      gone.signal.addEventListener('abort', () => run.kill(), { once: true });
      await run.result;
    } finally {
      cellRuns.finish(runId);
      release();
      res.end();
    }
  });

  // Cancels a run (the Stop button): its child is killed, its stream ends with exit reason "stopped".
  api.post('/cells/runs/:runId/stop', (req, res) => {
    const runId = validate(runIdSchema, req.params.runId, 'run id');
    if (!cellRuns.stop(runId)) throw notFound(`run "${runId}"`);
    res.json({ stopped: true, runId });
  });

  return api;
}
