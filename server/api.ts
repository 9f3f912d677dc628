/** The JSON API. Every input is checked with zod; errors are JSON (see errors.ts). */
import express, { type Router } from 'express';
import { z } from 'zod';
import { statsFigures } from '../src/viz/stats';
import type { CellEvent } from '../src/cells/events';
import type { CellStore } from './cell-store';
import type { CellRuns } from './cell-runs';
import type { DeckStore } from './deck-store';
import { notFound, validate } from './errors';
import { GRADES } from './review-log';
import type { Reviews } from './reviews';
import type { RunSlots } from './run-slots';

const deckIdSchema = z.string().min(1).max(1000);
const reviewBody = z.object({ cardId: z.string().min(1).max(2000), grade: z.enum(GRADES) }).strict();
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
    res.json(await reviews.next(validate(deckIdSchema, req.params.id, 'deck id')));
  });

  api.post('/review', async (req, res) => {
    const body = validate(reviewBody, req.body, 'review');
    res.json(await reviews.grade(body.cardId, body.grade));
  });

  api.post('/review/undo', async (_req, res) => {
    res.json(await reviews.undo());
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
