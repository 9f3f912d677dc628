/**
 * Reviewing over HTTP: today's queue of a deck, the card to show next (rendered, with the next
 * interval of each grade and its live demos), grading with write-back (a repeated request id gets
 * the first answer), undo per review session, bury/suspend, per-deck limits, browsing, link
 * previews and stats. Decks nest by the plugin's tag hierarchy (deck-tree.ts). Parsing,
 * scheduling, writing and rendering are the card library's; this module only wires them to the
 * session state kept in the review log.
 */
import fs from 'fs';
import path from 'path';
import type { Card, Note } from '../src/cards/model';
import { renderMarkdown, renderSide, type RenderOptions } from '../src/cards/render';
import { DEFAULT_FLASHCARD_TAGS } from '../src/cards/options';
import { cardStartingOn, daysUntilDue, dueDateHistogram, gradeCard, noteEaseOf, type GradeResult as CardGradeResult, type ReviewSettings } from '../src/cards/review';
import { addDays, calendarDaysBetween, formatYmd, startOfDay } from '../src/cards/scheduling/dates';
import { DueDateHistogram } from '../src/cards/scheduling/histogram';
import { isFsrsSchedule, difficultyToEase } from '../src/cards/scheduling/fsrs';
import { resolveSchedulerSettings, reviewSchedule, scheduleDueTime, siblingSchedule, type SchedulerSettings, type SiblingSchedule } from '../src/cards/scheduling/scheduler';
import { undoGrade } from '../src/cards/undo';
import type { CardFlags } from './card-flags';
import type { CellStore } from './cell-store';
import type { Deck, DeckItem, DeckStore } from './deck-store';
import type { DeckLimits, DeckLimitsInput, DeckSettings } from './deck-settings';
import { buildDeckTree, subdeckPath, type DeckNode } from './deck-tree';
import { HttpError, notFound } from './errors';
import { noteSection, parseLinkTarget } from './note-section';
import { buildSession, isDue, sessionState, type Session } from './queue';
import { GRADES, type Grade, type GradeEntry, type ReviewLog } from './review-log';

export interface CardView {
  id: string;
  cardKey: string;
  /** The deck being reviewed (the card may be in one of its subdecks). */
  deck: string;
  sibling: number;
  siblings: number;
  type: Card['type'];
  /** The note's title, then the headings above the card. */
  context: string[];
  front: string;
  back: string;
  schedule: SiblingSchedule | null;
  isNew: boolean;
  /** What each grade would schedule, for the buttons. */
  intervals: Record<Grade, { interval: number; due: string } | null>;
  /** Linked notebook cells; `title` says what the demo shows. */
  cells: { id: string; notebook: string; index: number; code: string; links: string[]; title: string }[];
  /** What is wrong with the card in the file (shown with it), e.g. a scheduling comment that does not read. */
  problems: string[];
  /** The card's tags (its deck tags and its own tag), with `#`. */
  tags: string[];
  /** Where the card is: relative file, 0-based first line, absolute path (for "open in editor" links). */
  source: { file: string; line: number; path: string };
}

export interface DeckSummary {
  id: string;
  name: string;
  /** Tag decks nest (`DenseNet/extra` under `DenseNet`). */
  parent: string | null;
  depth: number;
  children: string[];
  /** Over the deck and its subdecks. */
  counts: { new: number; due: number; total: number; suspended: number; buried: number };
  /** Left in today's session: due (review), new (within the daily limit) and again (learning). */
  session: { due: number; new: number; again: number };
  limits: DeckLimits;
  error: string | null;
}

export interface GradeResult {
  cardId: string;
  grade: Grade;
  schedule: SiblingSchedule;
  previous: SiblingSchedule | null;
  comment: string;
  line: number;
  requestId: string | null;
  /** True when this answers a repeat of a request id already graded: nothing was written again. */
  repeated?: boolean;
}

export type CardState = 'new' | 'learning' | 'young' | 'mature' | 'suspended' | 'buried';
export const CARD_STATES: readonly CardState[] = ['new', 'learning', 'young', 'mature', 'suspended', 'buried'];
/** Anki's line between young and mature cards. */
const MATURE_DAYS = 21;

export interface BrowseQuery {
  q?: string;
  deck?: string;
  tag?: string;
  state?: CardState | 'due' | 'all';
  limit?: number;
}

export interface BrowseRow {
  id: string;
  deck: string;
  question: string;
  answer: string;
  tags: string[];
  state: CardState;
  due: string | null;
  interval: number | null;
  ease: number | null;
  source: { file: string; line: number };
}

export class Reviews {
  private readonly scheduler: SchedulerSettings;
  private readonly flashcardTags: string[];
  private histogramCache: { key: string; histogram: DueDateHistogram } | null = null;
  private treeCache: { version: number; tree: Map<string, DeckNode> } | null = null;
  private sessionCache = new Map<string, { key: string; session: Session<DeckItem> }>();
  private renderCache = new Map<string, { front: string; back: string }>();
  private readonly renderOptions = new Map<string, RenderOptions>();
  private viewCache: { key: string; view: CardView } | null = null;
  /** Grades being written, by request id: a repeat that comes before the first is done waits for it. */
  private readonly inflight = new Map<string, Promise<GradeResult>>();
  /** A note's ease for new cards (its cards' average): per parsed note, which is replaced when the file changes. */
  private readonly noteEases = new WeakMap<Note, number | null>();
  private readonly noteHistograms = new WeakMap<Note, { day: string; counts: Map<number, number> }>();

  constructor(
    private readonly decks: DeckStore,
    private readonly cells: CellStore,
    private readonly log: ReviewLog,
    private readonly flags: CardFlags,
    private readonly deckSettings: DeckSettings,
    private readonly options: { settings: ReviewSettings; attachmentUrl: (file: string) => string },
  ) {
    this.scheduler = resolveSchedulerSettings(options.settings);
    this.flashcardTags = (options.settings.flashcardTags ?? [...DEFAULT_FLASHCARD_TAGS]).map((t) => (t.startsWith('#') ? t : '#' + t));
  }

  private async refresh(): Promise<void> {
    await Promise.all([this.decks.refresh(), this.cells.refresh()]);
  }

  /** The decks nested by tag, rebuilt when a deck file changes. */
  private tree(): Map<string, DeckNode> {
    if (this.treeCache?.version !== this.decks.version) {
      this.treeCache = { version: this.decks.version, tree: buildDeckTree(this.decks.list(), this.flashcardTags) };
    }
    return this.treeCache.tree;
  }

  private deck(id: string): DeckNode {
    const deck = this.tree().get(id);
    if (!deck) throw notFound(`deck "${id}"`);
    return deck;
  }

  /** The file an item comes from. */
  private fileOf(item: DeckItem): Deck {
    const file = this.decks.get(item.deckId);
    if (!file?.note) throw new HttpError(409, `the deck file of card "${item.key}" is gone; load the next card again`);
    return file;
  }

  /** Today's grades of the deck's cards (wherever they were reviewed from: the deck, a parent, a subdeck). */
  private todaysEntries(deck: DeckNode, day: string): GradeEntry[] {
    const cards = new Set(deck.items.map((i) => i.cardKey));
    return this.log.entries({ day }).filter((e) => cards.has(e.card));
  }

  private session(deck: DeckNode, now: Date): Session<DeckItem> {
    const day = formatYmd(now);
    const key = [this.decks.version, this.log.version, this.flags.version, this.deckSettings.version, day, Math.floor(now.getTime() / 60_000)].join('|');
    const cached = this.sessionCache.get(deck.id);
    if (cached?.key === key) return cached.session;
    const state = sessionState(this.todaysEntries(deck, day));
    const limits = this.deckSettings.limits(deck.id);
    // A subdeck's limits hold when its parent is reviewed: what its own session leaves out stays out.
    const heldBack = new Set<string>();
    for (const childId of deck.children) {
      const child = this.deck(childId);
      const offered = new Set(this.session(child, now).queue.map((item) => item.key));
      for (const item of child.items) if (!offered.has(item.key)) heldBack.add(item.key);
    }
    const session = buildSession(deck.items, state, now, { ...limits, hidden: (id) => this.flags.isHidden(id, day), heldBack: (id) => heldBack.has(id) });
    this.sessionCache.set(deck.id, { key, session });
    return session;
  }

  /**
   * Cards due per day over the whole vault (the plugin load-balances over every deck): the sum of
   * each note's histogram, kept per parsed note so that a grade recounts only its own file.
   */
  private histogram(now: Date): DueDateHistogram {
    const day = formatYmd(now);
    const key = `${this.decks.version}|${day}`;
    if (this.histogramCache?.key !== key) {
      const total = new DueDateHistogram();
      for (const note of this.decks.notes()) {
        let own = this.noteHistograms.get(note);
        if (own?.day !== day) {
          own = { day, counts: dueDateHistogram([note], startOfDay(now)).counts };
          this.noteHistograms.set(note, own);
        }
        for (const [days, count] of own.counts) total.counts.set(days, total.get(days) + count);
      }
      this.histogramCache = { key, histogram: total };
    }
    return this.histogramCache.histogram;
  }

  /** The histogram of `after` from that of `before`, where only `oldCard` (now `newCard`) changed. */
  private carryHistogram(before: Note, after: Note, oldCard: Card, newCard: Card, now: Date): void {
    const day = formatYmd(now);
    const own = this.noteHistograms.get(before);
    if (own?.day !== day) return;
    const counts = new Map(own.counts);
    const today = startOfDay(now);
    const move = (card: Card, sign: 1 | -1) => {
      if (card.decks.length === 0) return; // as dueDateHistogram: cards outside decks do not count
      for (const sibling of card.siblings) {
        const schedule = siblingSchedule(sibling);
        const days = schedule ? daysUntilDue(schedule, today) : NaN;
        if (!Number.isFinite(days)) continue;
        const n = (counts.get(days) ?? 0) + sign;
        if (n === 0) counts.delete(days); // a day with no entry is not a day with 0 (load balancing tells them apart)
        else counts.set(days, n);
      }
    };
    move(oldCard, -1);
    move(newCard, 1);
    this.noteHistograms.set(after, { day, counts });
  }

  async listDecks(now = new Date()): Promise<DeckSummary[]> {
    await this.refresh();
    const day = formatYmd(now);
    return [...this.tree().values()].map((deck) => {
      const counts = { new: 0, due: 0, total: deck.items.length, suspended: 0, buried: 0 };
      for (const item of deck.items) {
        if (this.flags.isSuspended(item.key)) counts.suspended++;
        else if (this.flags.isBuried(item.key, day)) counts.buried++;
        else if (item.schedule === null) counts.new++;
        else if (isDue(item.schedule, now)) counts.due++;
      }
      const s = deck.error ? { due: 0, new: 0, again: 0 } : this.session(deck, now);
      return {
        id: deck.id,
        name: deck.name,
        parent: deck.parent,
        depth: deck.depth,
        children: deck.children,
        counts,
        session: { due: s.due, new: s.new, again: s.again },
        limits: this.deckSettings.limits(deck.id),
        error: deck.error,
      };
    });
  }

  async next(deckId: string, options: { session?: string } = {}, now = new Date()) {
    await this.refresh();
    const deck = this.deck(deckId);
    const undoable = options.session ? this.log.last(options.session) : undefined;
    const base = { deck: { id: deck.id, name: deck.name, parent: deck.parent }, undo: undoable ? { cardId: undoable.item, grade: undoable.grade } : null };
    if (deck.error) return { ...base, card: null, remaining: 0, progress: { new: 0, learning: 0, review: 0 }, error: deck.error };
    const session = this.session(deck, now);
    const item = session.queue[0];
    return {
      ...base,
      card: item ? this.view(deck, item, now) : null,
      remaining: session.queue.length,
      // Anki's three numbers: new, learning (answered Again today), review (due).
      progress: { new: session.new, learning: session.again, review: session.due },
      limits: this.deckSettings.limits(deck.id),
      error: null,
    };
  }

  private renderOptionsFor(note: Note): RenderOptions {
    const key = JSON.stringify(note.options);
    let options = this.renderOptions.get(key);
    if (!options) {
      options = { attachmentsDir: this.decks.dir, attachmentUrl: this.options.attachmentUrl, parserOptions: note.options };
      this.renderOptions.set(key, options);
    }
    return options;
  }

  private render(note: Note, item: DeckItem): { front: string; back: string } {
    const key = `${item.key}|${item.card.textHash}`;
    let sides = this.renderCache.get(key);
    if (!sides) {
      const options = this.renderOptionsFor(note);
      sides = { front: renderSide(item.card, item.sibling, 'front', options), back: renderSide(item.card, item.sibling, 'back', options) };
      if (this.renderCache.size > 5000) this.renderCache.clear();
      this.renderCache.set(key, sides);
    }
    return sides;
  }

  /** The view of the card to show; the same for a minute while neither the decks nor the notebooks change. */
  private view(deck: DeckNode, item: DeckItem, now: Date): CardView {
    const key = `${deck.id}|${item.key}|${this.decks.version}|${this.cells.version}|${Math.floor(now.getTime() / 60_000)}`;
    if (this.viewCache?.key !== key) this.viewCache = { key, view: this.buildView(deck, item, now) };
    return this.viewCache.view;
  }

  private noteEase(note: Note): number | null {
    if (!this.noteEases.has(note)) this.noteEases.set(note, noteEaseOf(note, this.scheduler.baseEase));
    return this.noteEases.get(note)!;
  }

  private buildView(deck: DeckNode, item: DeckItem, now: Date): CardView {
    const file = this.fileOf(item);
    const note = file.note!;
    const histogram = this.histogram(now);
    const noteEase = this.noteEase(note);
    const intervals = {} as CardView['intervals'];
    for (const grade of GRADES) {
      // A copy: load balancing may count into the histogram.
      const s = reviewSchedule(grade, item.schedule, { now, settings: this.scheduler, histogram: new DueDateHistogram(histogram.toRecord()), noteEase });
      intervals[grade] = s ? { interval: s.interval, due: s.due } : null;
    }
    return {
      id: item.key,
      cardKey: item.cardKey,
      deck: deck.id,
      sibling: item.sibling,
      siblings: item.card.siblings.length,
      type: item.card.type,
      context: [note.title, ...item.card.context],
      ...this.render(note, item),
      schedule: item.schedule,
      isNew: item.schedule === null,
      intervals,
      cells: this.cells.cellsFor(note, item.card).map((c) => this.cells.describe(c)),
      problems: problemsOf(item),
      tags: tagsOf(item.card),
      source: { file: file.relPath, line: item.card.range.start, path: file.file },
    };
  }

  private findItem(id: string): { deck: Deck; item: DeckItem } {
    const relPath = id.slice(0, Math.max(0, id.lastIndexOf('#')));
    const deck = this.decks.get(relPath.replace(/\.md$/i, ''));
    const item = deck?.items.find((i) => i.key === id);
    if (!deck || !item) throw new HttpError(404, `card "${id}" not found (if it was just edited or removed on disk, load the next card again)`);
    return { deck, item };
  }

  /**
   * Grades a card and writes its schedule back. With a request id, the grade is given once: a repeat
   * (a double click, a client's retry), even one sent while the first is still being written, gets
   * the first answer and writes nothing.
   */
  async grade(id: string, grade: Grade, options: { requestId?: string; session?: string; deck?: string } = {}, now = new Date()): Promise<GradeResult> {
    const { requestId } = options;
    if (!requestId) return this.gradeOnce(id, grade, options, now);
    const done = this.log.byRequest(requestId);
    if (done) return { ...(done.response as GradeResult), repeated: true };
    const pending = this.inflight.get(requestId);
    if (pending) return { ...(await pending), repeated: true };
    const first = this.gradeOnce(id, grade, options, now).finally(() => this.inflight.delete(requestId));
    this.inflight.set(requestId, first);
    return first;
  }

  private async gradeOnce(id: string, grade: Grade, options: { requestId?: string; session?: string; deck?: string }, now: Date): Promise<GradeResult> {
    await this.decks.refresh();
    const { deck, item } = this.findItem(id);
    let result: CardGradeResult;
    try {
      result = await gradeCard({
        file: deck.file,
        notePath: deck.relPath,
        line: item.card.range.start,
        textHash: item.card.textHash,
        sibling: item.sibling,
        response: grade,
        now,
        settings: this.options.settings,
        histogram: this.histogram(now),
      });
    } catch (err) {
      this.decks.invalidate(deck.file);
      throw err;
    }
    // The grade's own note for the new text: the file is not parsed again, and its due-date
    // histogram is the old one with the graded card's siblings moved (not a recount of every card).
    if (result.signature && result.note) {
      const atLine = cardStartingOn(result.note.cards, result.line);
      const graded = atLine?.textHash === item.card.textHash ? atLine : undefined;
      if (graded && deck.note) this.carryHistogram(deck.note, result.note, item.card, graded, now);
      this.decks.accept(deck.file, result.note, result.signature);
    } else this.decks.invalidate(deck.file);
    if (!result.schedule || !result.comment) throw new HttpError(500, 'the grade produced no schedule');
    const response: GradeResult = {
      cardId: id,
      grade,
      schedule: result.schedule,
      previous: result.previous,
      comment: result.comment,
      line: result.line,
      requestId: options.requestId ?? null,
    };
    await this.log.addGrade({
      at: now.toISOString(),
      day: formatYmd(now),
      deck: options.deck ?? deck.id,
      card: item.cardKey,
      item: item.key,
      sibling: item.sibling,
      grade,
      file: deck.relPath,
      line: result.line,
      textHash: item.card.textHash,
      wasNew: result.previous === null,
      previousComment: result.previousComment,
      comment: result.comment,
      interval: result.schedule.interval,
      ease: easeOf(result.schedule),
      ...(options.session ? { session: options.session } : {}),
      ...(options.requestId ? { requestId: options.requestId, response } : {}),
    });
    return response;
  }

  /**
   * Undoes the latest grade of a review session (the page's), or without one the latest grade of
   * all (for scripts): its card's comment goes back exactly as it was.
   */
  async undo(options: { session?: string } = {}) {
    const entry = this.log.last(options.session);
    if (!entry) throw new HttpError(409, options.session ? 'nothing to undo in this review session' : 'nothing to undo');
    const deck = this.decks.get(entry.file.replace(/\.md$/i, ''));
    if (!deck) throw new HttpError(409, `the deck of the last grade (${entry.file}) is gone; nothing was undone`);
    try {
      await undoGrade(
        { file: deck.file, line: entry.line, textHash: entry.textHash, previousComment: entry.previousComment, comment: entry.comment },
        this.options.settings,
      );
    } finally {
      this.decks.invalidate(deck.file);
    }
    await this.log.markUndone(entry);
    return { cardId: entry.item, grade: entry.grade, restored: entry.previousComment };
  }

  /** Buries a card until tomorrow, or suspends/unsuspends it; stored in the data folder, never in the deck file. */
  async flag(id: string, action: 'bury' | 'unbury' | 'suspend' | 'unsuspend', now = new Date()) {
    await this.decks.refresh();
    this.findItem(id); // 404 for an unknown card
    if (action === 'bury') await this.flags.bury(id, formatYmd(now));
    else if (action === 'unbury') await this.flags.unbury(id);
    else await this.flags.setSuspended(id, action === 'suspend', now);
    return { cardId: id, suspended: this.flags.isSuspended(id), buried: this.flags.isBuried(id, formatYmd(now)) };
  }

  async setLimits(deckId: string, input: DeckLimitsInput) {
    await this.refresh();
    this.deck(deckId);
    return this.deckSettings.setLimits(deckId, input);
  }

  /** Every card's item once, with the deck (node) it is listed under. */
  private allItems(deckId?: string): { item: DeckItem; deck: string }[] {
    const tree = this.tree();
    const nodes = deckId === undefined ? [...tree.values()].filter((n) => n.parent === null) : [this.deck(deckId)];
    const seen = new Map<string, { item: DeckItem; deck: string }>();
    for (const node of nodes) for (const item of node.items) if (!seen.has(item.key)) seen.set(item.key, { item, deck: this.deckOfItem(item) });
    return [...seen.values()];
  }

  /** The deck an item is in (its first deck tag's, or its file's). */
  private deckOfItem(item: DeckItem): string {
    const sub = item.card.decks.map((d) => subdeckPath(d, this.flashcardTags) ?? '').find((p) => p !== '');
    return sub && this.tree().has(sub) && !item.card.decks.some((d) => subdeckPath(d, this.flashcardTags) === '') ? sub : item.deckId;
  }

  private stateOf(item: DeckItem, day: string, learning: Set<string>): CardState {
    if (this.flags.isSuspended(item.key)) return 'suspended';
    if (this.flags.isBuried(item.key, day)) return 'buried';
    if (learning.has(item.key)) return 'learning';
    if (item.schedule === null) return 'new';
    return item.schedule.interval >= MATURE_DAYS ? 'mature' : 'young';
  }

  private learningToday(day: string): Set<string> {
    return new Set(sessionState(this.log.entries({ day })).again);
  }

  /** Cards matching a text (question or answer), tag, deck and state, with each one's schedule. */
  async browse(query: BrowseQuery, now = new Date()): Promise<{ total: number; cards: BrowseRow[]; tags: string[] }> {
    await this.refresh();
    const day = formatYmd(now);
    const learning = this.learningToday(day);
    const words = (query.q ?? '').toLowerCase().split(/\s+/).filter(Boolean);
    const tag = query.tag?.replace(/^#/, '').toLowerCase();
    const all = this.allItems(query.deck);
    const tags = new Set<string>();
    const rows: BrowseRow[] = [];
    for (const { item, deck } of all) {
      const cardTags = tagsOf(item.card);
      cardTags.forEach((t) => tags.add(t));
      if (tag && !cardTags.some((t) => t.slice(1).toLowerCase() === tag || t.slice(1).toLowerCase().startsWith(tag + '/'))) continue;
      const sibling = item.card.siblings[item.sibling];
      if (words.length > 0) {
        const text = `${sibling.front}\n${sibling.back}`.toLowerCase();
        if (!words.every((w) => text.includes(w))) continue;
      }
      const state = this.stateOf(item, day, learning);
      if (query.state && query.state !== 'all') {
        if (query.state === 'due' ? !(item.schedule && isDue(item.schedule, now) && state !== 'suspended' && state !== 'buried') : state !== query.state) continue;
      }
      const s = item.schedule;
      rows.push({
        id: item.key,
        deck,
        question: plain(sibling.front),
        answer: plain(sibling.back),
        tags: cardTags,
        state,
        due: s ? formatYmd(new Date(scheduleDueTime(s))) : null,
        interval: s ? s.interval : null,
        ease: s ? easeOf(s) : null,
        source: { file: this.fileOf(item).relPath, line: item.card.range.start },
      });
    }
    return { total: rows.length, cards: rows.slice(0, query.limit ?? 200), tags: [...tags].sort() };
  }

  /** The rendered section a wiki link names (`Note#Heading`, `Note#^block`, `Note`), for the page's preview. */
  async linkPreview(target: string): Promise<{ target: string; title: string; html: string }> {
    await this.decks.refresh();
    const link = parseLinkTarget(target);
    const note = this.decks.notes().find((n) => n.title.toLowerCase() === link.note.toLowerCase());
    if (!note) throw notFound(`note "${link.note}" (it is not in the cards folder)`);
    const text = await fs.promises.readFile(path.join(this.decks.dir, note.path), 'utf8');
    const section = noteSection(text, link);
    if (section === null) throw notFound(`"${target}" (no such ${link.blockId ? 'block' : 'heading'} in ${note.path})`);
    // The heading is the preview's title: not repeated in its body.
    const body = link.heading ? section.split('\n').slice(1).join('\n') : section;
    return { target, title: link.heading ?? note.title, html: renderMarkdown(body, this.renderOptionsFor(note)) };
  }

  async stats(deckId: string | undefined, now = new Date()) {
    await this.refresh();
    const day = formatYmd(now);
    const learning = this.learningToday(day);
    const items = this.allItems(deckId).map((x) => x.item);
    const forecast = new Array<number>(30).fill(0);
    const intervals = new Map<number, number>();
    const eases = new Map<number, number>();
    const states = Object.fromEntries(CARD_STATES.map((s) => [s, 0])) as Record<CardState, number>;
    let newCards = 0;
    for (const item of items) {
      states[this.stateOf(item, day, learning)]++;
      const s = item.schedule;
      if (!s) {
        newCards++;
        continue;
      }
      // Overdue cards count today.
      const days = Math.max(0, calendarDaysBetween(now, new Date(scheduleDueTime(s))));
      if (days < 30) forecast[days]++;
      intervals.set(s.interval, (intervals.get(s.interval) ?? 0) + 1);
      const ease = easeOf(s);
      if (ease !== null) eases.set(ease, (eases.get(ease) ?? 0) + 1);
    }
    const cards = new Set(items.map((i) => i.cardKey));
    const entries = this.log.entries().filter((e) => cards.has(e.card));
    const perDay = new Map<string, Record<Grade, number>>();
    for (const e of entries) {
      const row = perDay.get(e.day) ?? { Again: 0, Hard: 0, Good: 0, Easy: 0 };
      row[e.grade]++;
      perDay.set(e.day, row);
    }
    const monthAgo = formatYmd(addDays(startOfDay(now), -29));
    const sorted = <K extends number | string>(m: Map<K, number>) =>
      [...m].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([value, count]) => ({ value, count }));
    return {
      deck: deckId ?? null,
      newCards,
      states,
      // Anki's "true retention": reviews of cards already learned that were not answered Again.
      retention: {
        today: retention(entries.filter((e) => e.day === day)),
        month: retention(entries.filter((e) => e.day >= monthAgo)),
        all: retention(entries),
      },
      forecast: forecast.map((count, d) => ({ day: d, date: formatYmd(addDays(startOfDay(now), d)), count })),
      intervals: sorted(intervals),
      eases: sorted(eases),
      reviewsPerDay: [...perDay]
        .sort((a, b) => a[0].localeCompare(b[0]))
        .map(([date, grades]) => ({ date, count: GRADES.reduce((n, g) => n + grades[g], 0), grades })),
    };
  }
}

function retention(entries: readonly GradeEntry[]): { reviews: number; passed: number; rate: number | null } {
  const reviews = entries.filter((e) => !e.wasNew);
  const passed = reviews.filter((e) => e.grade !== 'Again').length;
  return { reviews: reviews.length, passed, rate: reviews.length ? passed / reviews.length : null };
}

function tagsOf(card: Card): string[] {
  return [...new Set([...card.decks, ...(card.tag ? [card.tag] : [])].map((t) => '#' + t.replace(/^#/, '')))];
}

/** A one-line plain-text excerpt of card markdown for the browse table. */
function plain(markdown: string): string {
  const text = markdown
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/!?\[\[([^\]|]+)(\|[^\]]*)?\]\]/g, '$1')
    .replace(/[*_=`]+/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > 160 ? text.slice(0, 159) + '…' : text;
}

/** A segment that is there but does not read as a schedule (the plugin's new-card placeholder aside). */
function problemsOf(item: DeckItem): string[] {
  const segment = item.card.siblings[item.sibling].segment;
  if (segment === null || item.schedule !== null || /^\s*2000-01-01,/.test(segment)) return [];
  return [
    `line ${item.card.comment?.line ?? item.card.range.start}: the scheduling comment's segment "${segment}" does not read as ` +
      'due,interval,ease; the card is shown as new and a grade will replace that segment',
  ];
}

/** Ease ×100 as the plugin stores it; FSRS cards: from their difficulty, as the plugin converts it. */
function easeOf(schedule: SiblingSchedule): number | null {
  return isFsrsSchedule(schedule) ? difficultyToEase(schedule.difficulty) : schedule.ease;
}
