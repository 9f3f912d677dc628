/**
 * The review server's Express app: security first, then the JSON API, then the page and its
 * assets, then JSON errors for everything else.
 */
import express, { type Express } from 'express';
import type { ReviewSettings } from '../src/cards/review';
import { apiRoutes } from './api';
import { CardFlags } from './card-flags';
import { DeckSettings } from './deck-settings';
import { Accounts } from './accounts';
import { CellStore } from './cell-store';
import { CellRuns } from './cell-runs';
import { courseworkRoutes, courseworkTools, Grader } from './coursework';
import { openDb, type Db } from './db';
import type { ServerConfig } from './config';
import { DeckStore } from './deck-store';
import { errorHandler, notFoundHandler } from './errors';
import { LoginGuard } from './login-guard';
import { ReviewLog } from './review-log';
import { Reviews } from './reviews';
import { RunSlots } from './run-slots';
import { checkHost, sameOriginJsonPosts, requireToken, securityHeaders } from './security';
import { staticRoutes } from './static';

export interface CardlabApp {
  app: Express;
  decks: DeckStore;
  cells: CellStore;
  log: ReviewLog;
  /** Buried/suspended cards and per-deck limits (data folder, not the deck files). */
  flags: CardFlags;
  deckSettings: DeckSettings;
  reviews: Reviews;
  slots: RunSlots;
  /** Coursework: accounts, submissions and grades in the data folder's SQLite file. */
  db: Db;
  grader: Grader;
  /** Live demos: pre-started sandboxed cell processes, and the runs in progress (by run id). */
  cellRuns: CellRuns;
  /** Login throttling per address and per account. */
  logins: LoginGuard;
  /** Stops watching files, stops every cell run and the warm pool (their cgroups go with them). */
  close(): void;
}

export function createApp(config: ServerConfig, settings: ReviewSettings = {}): CardlabApp {
  const decks = new DeckStore(config.cardsDir, settings);
  const cells = new CellStore(config.notebooksDir);
  const log = new ReviewLog(config.dataDir);
  const slots = new RunSlots(config.maxConcurrentRuns, config.cellQueueLimit);
  const cellRuns = new CellRuns(config);
  const flags = new CardFlags(config.dataDir);
  const deckSettings = new DeckSettings(config.dataDir, { newPerDay: config.newPerDay, reviewsPerDay: null });
  const reviews = new Reviews(decks, cells, log, flags, deckSettings, {
    settings,
    attachmentUrl: (file) => `/attachments/${encodeURIComponent(file)}`,
  });
  const db = openDb(config.dataDir);
  const tools = courseworkTools;
  const grader = new Grader(db, tools, config.courseworkDir, { timeoutMs: config.cellTimeoutMs, memoryMb: config.cellMemoryMb, concurrency: config.maxGrading });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(securityHeaders);
  app.use(checkHost(config.host));
  app.use(requireToken(config.token));
  app.use(sameOriginJsonPosts);
  app.use(express.json({ limit: config.bodyLimitBytes, strict: true }));
  app.use('/api', apiRoutes({ reviews, decks, cells, slots, cellRuns }));
  const logins = new LoginGuard();
  app.use('/api', courseworkRoutes({ db, accounts: new Accounts(db), grader, tools, config, logins }));
  app.use(staticRoutes(config.cardsDir));
  app.use(notFoundHandler);
  app.use(errorHandler);

  const close = () => {
    cellRuns.close();
    decks.close();
    db.close();
  };
  return { app, decks, cells, log, flags, deckSettings, reviews, slots, db, grader, cellRuns, logins, close };
}
