/**
 * Today's review session for one deck, as a pure function of the deck's items and today's log:
 * due items first (most overdue first), then new items up to the daily limit, then the items
 * answered Again today (they come back in the same session). Once one sibling of a card has been
 * answered today, its other siblings are buried until tomorrow. Cards the learner buried or
 * suspended (`hidden`) are left out; reviews stop at the deck's daily review limit. A parent deck
 * offers of each subdeck only what the subdeck's own session would (`heldBack`), as Anki does.
 */
import { isFsrsSchedule } from '../src/cards/scheduling/fsrs';
import { scheduleDueTime, type SiblingSchedule } from '../src/cards/scheduling/scheduler';
import { startOfDay } from '../src/cards/scheduling/dates';
import type { GradeEntry } from './review-log';

/** One reviewable sibling of one card. */
export interface QueueItem {
  /** `<card key>/<sibling>`: the id the API calls `cardId`. */
  key: string;
  /** `<file>#<text hash>:<occurrence>`: shared by a card's siblings. */
  cardKey: string;
  schedule: SiblingSchedule | null;
}

/** A reviewed item is due from its due day (SM-2-OSR) or due instant (FSRS) on. */
export function isDue(schedule: SiblingSchedule, now: Date): boolean {
  return scheduleDueTime(schedule) <= (isFsrsSchedule(schedule) ? now.getTime() : startOfDay(now).getTime());
}

export interface SessionState {
  /** Cards with a sibling answered today (their other siblings are buried). */
  answeredCards: Set<string>;
  /** Items answered Again today and not answered since, in the order they were answered. */
  again: string[];
  /** New items introduced today (counts against the daily limit). */
  newSeen: number;
  /** Items already reviewed (not new) today, each once (counts against the review limit). */
  reviewsDone: number;
}

export function sessionState(today: readonly GradeEntry[]): SessionState {
  const answeredCards = new Set<string>();
  const lastGrade = new Map<string, GradeEntry>();
  const newItems = new Set<string>();
  const reviewed = new Set<string>();
  for (const entry of today) {
    answeredCards.add(entry.card);
    lastGrade.delete(entry.item); // keep the map in the order of the last answers
    lastGrade.set(entry.item, entry);
    if (entry.wasNew) newItems.add(entry.item);
    else if (!newItems.has(entry.item)) reviewed.add(entry.item);
  }
  const again = [...lastGrade.values()].filter((e) => e.grade === 'Again').map((e) => e.item);
  return { answeredCards, again, newSeen: newItems.size, reviewsDone: reviewed.size };
}

export interface Session<T extends QueueItem> {
  /** In the order they will be shown. */
  queue: T[];
  /** Reviews (due), new and learning (answered Again today) items in the queue. */
  due: number;
  new: number;
  again: number;
}

export interface SessionLimits {
  newPerDay: number;
  /** null: no limit. */
  reviewsPerDay: number | null;
  /** Buried or suspended items. */
  hidden?: (key: string) => boolean;
  /** Items a subdeck's own limits leave out today (reviewing the parent does not lift them). */
  heldBack?: (key: string) => boolean;
}

export function buildSession<T extends QueueItem>(items: readonly T[], state: SessionState, now: Date, limits: SessionLimits): Session<T> {
  const { newPerDay, reviewsPerDay, hidden = () => false, heldBack = () => false } = limits;
  const again = new Set(state.again);
  const due: T[] = [];
  const fresh: T[] = [];
  const byKey = new Map<string, T>();
  for (const item of items) {
    byKey.set(item.key, item);
    if (again.has(item.key) || state.answeredCards.has(item.cardKey) || hidden(item.key) || heldBack(item.key)) continue;
    if (item.schedule === null) fresh.push(item);
    else if (isDue(item.schedule, now)) due.push(item);
  }
  // Most overdue first; the sort is stable, so ties keep file order.
  due.sort((a, b) => scheduleDueTime(a.schedule!) - scheduleDueTime(b.schedule!));
  const dueToday = reviewsPerDay === null ? due : due.slice(0, Math.max(0, reviewsPerDay - state.reviewsDone));
  const newToday = fresh.slice(0, Math.max(0, newPerDay - state.newSeen));
  const againItems = state.again.map((key) => byKey.get(key)).filter((item): item is T => item !== undefined && !hidden(item.key));
  return { queue: [...dueToday, ...newToday, ...againItems], due: dueToday.length, new: newToday.length, again: againItems.length };
}
