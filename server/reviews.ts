/**
 * Reviewing over HTTP: today's queue of a deck, the card to show next (rendered, with the next
 * interval of each grade and its live demos), grading with write-back, undo, and stats. Parsing,
 * scheduling, writing and rendering are the card library's; this module only wires them to the
 * session state kept in the review log.
 */
import type { Card, Note } from '../src/cards/model';
import { renderSide, type RenderOptions } from '../src/cards/render';
import { daysUntilDue, dueDateHistogram, gradeCard, noteEaseOf, type GradeResult, type ReviewSettings } from '../src/cards/review';
import { addDays, calendarDaysBetween, formatYmd, startOfDay } from '../src/cards/scheduling/dates';
import { DueDateHistogram } from '../src/cards/scheduling/histogram';
import { isFsrsSchedule, difficultyToEase } from '../src/cards/scheduling/fsrs';
import { resolveSchedulerSettings, reviewSchedule, scheduleDueTime, siblingSchedule, type SchedulerSettings, type SiblingSchedule } from '../src/cards/scheduling/scheduler';
import { undoGrade } from '../src/cards/undo';
import type { CellStore } from './cell-store';
import type { Deck, DeckItem, DeckStore } from './deck-store';
import { HttpError, notFound } from './errors';
import { buildSession, isDue, sessionState, type Session } from './queue';
import { GRADES, type Grade, type ReviewLog } from './review-log';

export interface CardView {
  id: string;
  cardKey: string;
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
  cells: { id: string; notebook: string; index: number; code: string; links: string[] }[];
  /** What is wrong with the card in the file (shown with it), e.g. a scheduling comment that does not read. */
  problems: string[];
  source: { file: string; line: number };
}

export interface DeckSummary {
  id: string;
  name: string;
  counts: { new: number; due: number; total: number };
  /** Left in today's session: due, new (within the daily limit) and again. */
  session: { due: number; new: number; again: number };
  error: string | null;
}

export class Reviews {
  private readonly scheduler: SchedulerSettings;
  private histogramCache: { key: string; histogram: DueDateHistogram } | null = null;
  private sessionCache = new Map<string, { key: string; session: Session<DeckItem> }>();
  private renderCache = new Map<string, { front: string; back: string }>();
  private readonly renderOptions = new Map<string, RenderOptions>();
  private viewCache: { key: string; view: CardView } | null = null;
  /** A note's ease for new cards (its cards' average): per parsed note, which is replaced when the file changes. */
  private readonly noteEases = new WeakMap<Note, number | null>();
  private readonly noteHistograms = new WeakMap<Note, { day: string; counts: Map<number, number> }>();

  constructor(
    private readonly decks: DeckStore,
    private readonly cells: CellStore,
    private readonly log: ReviewLog,
    private readonly options: { newPerDay: number; settings: ReviewSettings; attachmentUrl: (file: string) => string },
  ) {
    this.scheduler = resolveSchedulerSettings(options.settings);
  }

  private async refresh(): Promise<void> {
    await Promise.all([this.decks.refresh(), this.cells.refresh()]);
  }

  private deck(id: string): Deck {
    const deck = this.decks.get(id);
    if (!deck) throw notFound(`deck "${id}"`);
    return deck;
  }

  private session(deck: Deck, now: Date): Session<DeckItem> {
    const day = formatYmd(now);
    const key = `${this.decks.version}|${this.log.version}|${day}|${deck.id}|${Math.floor(now.getTime() / 60_000)}`;
    const cached = this.sessionCache.get(deck.id);
    if (cached?.key === key) return cached.session;
    const state = sessionState(this.log.entries({ deck: deck.id, day }));
    const session = buildSession(deck.items, state, now, this.options.newPerDay);
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
    return this.decks.list().map((deck) => {
      const counts = { new: 0, due: 0, total: deck.items.length };
      for (const item of deck.items) {
        if (item.schedule === null) counts.new++;
        else if (isDue(item.schedule, now)) counts.due++;
      }
      const s = deck.error ? { due: 0, new: 0, again: 0 } : this.session(deck, now);
      return { id: deck.id, name: deck.name, counts, session: { due: s.due, new: s.new, again: s.again }, error: deck.error };
    });
  }

  async next(deckId: string, now = new Date()): Promise<{ card: CardView | null; remaining: number; error: string | null }> {
    await this.refresh();
    const deck = this.deck(deckId);
    if (deck.error) return { card: null, remaining: 0, error: deck.error };
    const session = this.session(deck, now);
    const item = session.queue[0];
    return { card: item ? this.view(deck, item, now) : null, remaining: session.queue.length, error: null };
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
  private view(deck: Deck, item: DeckItem, now: Date): CardView {
    const key = `${item.key}|${this.decks.version}|${this.cells.version}|${Math.floor(now.getTime() / 60_000)}`;
    if (this.viewCache?.key !== key) this.viewCache = { key, view: this.buildView(deck, item, now) };
    return this.viewCache.view;
  }

  private noteEase(note: Note): number | null {
    if (!this.noteEases.has(note)) this.noteEases.set(note, noteEaseOf(note, this.scheduler.baseEase));
    return this.noteEases.get(note)!;
  }

  private buildView(deck: Deck, item: DeckItem, now: Date): CardView {
    const note = deck.note!;
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
      source: { file: deck.relPath, line: item.card.range.start },
    };
  }

  private findItem(id: string): { deck: Deck; item: DeckItem } {
    const relPath = id.slice(0, Math.max(0, id.lastIndexOf('#')));
    const deck = this.decks.get(relPath.replace(/\.md$/i, ''));
    const item = deck?.items.find((i) => i.key === id);
    if (!deck || !item) throw new HttpError(404, `card "${id}" not found (if it was just edited or removed on disk, load the next card again)`);
    return { deck, item };
  }

  async grade(id: string, grade: Grade, now = new Date()) {
    await this.decks.refresh();
    const { deck, item } = this.findItem(id);
    let result: GradeResult;
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
      const graded = result.note.cards.find((c) => c.range.start === result.line && c.textHash === item.card.textHash);
      if (graded && deck.note) this.carryHistogram(deck.note, result.note, item.card, graded, now);
      this.decks.accept(deck.file, result.note, result.signature);
    } else this.decks.invalidate(deck.file);
    if (!result.schedule || !result.comment) throw new HttpError(500, 'the grade produced no schedule');
    await this.log.addGrade({
      at: now.toISOString(),
      day: formatYmd(now),
      deck: deck.id,
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
    });
    return { cardId: id, grade, schedule: result.schedule, previous: result.previous, comment: result.comment, line: result.line };
  }

  /** Undoes the latest grade: its card's comment goes back exactly as it was. */
  async undo() {
    const entry = this.log.last();
    if (!entry) throw new HttpError(409, 'nothing to undo');
    const deck = this.decks.get(entry.deck);
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

  async stats(deckId: string | undefined, now = new Date()) {
    await this.refresh();
    const decks = deckId === undefined ? this.decks.list() : [this.deck(deckId)];
    const forecast = new Array<number>(30).fill(0);
    const intervals = new Map<number, number>();
    const eases = new Map<number, number>();
    let newCards = 0;
    for (const deck of decks) {
      for (const item of deck.items) {
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
    }
    const ids = new Set(decks.map((d) => d.id));
    const perDay = new Map<string, Record<Grade, number>>();
    for (const e of this.log.entries()) {
      if (!ids.has(e.deck)) continue;
      const row = perDay.get(e.day) ?? { Again: 0, Hard: 0, Good: 0, Easy: 0 };
      row[e.grade]++;
      perDay.set(e.day, row);
    }
    const sorted = <K extends number | string>(m: Map<K, number>) =>
      [...m].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([value, count]) => ({ value, count }));
    return {
      deck: deckId ?? null,
      newCards,
      forecast: forecast.map((count, day) => ({ day, date: formatYmd(addDays(startOfDay(now), day)), count })),
      intervals: sorted(intervals),
      eases: sorted(eases),
      reviewsPerDay: [...perDay]
        .sort((a, b) => a[0].localeCompare(b[0]))
        .map(([date, grades]) => ({ date, count: GRADES.reduce((n, g) => n + grades[g], 0), grades })),
    };
  }
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
