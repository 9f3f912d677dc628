/**
 * SM-2-OSR, the Obsidian Spaced Repetition plugin's scheduler, mirrored from v1.15:
 * `osrSchedule` (src/scheduling/algorithms/osr/note-scheduling.ts) and the card paths of
 * `SRAlgorithmOsr` (new card, reviewed card, reset).
 */
import type { CardSchedule } from '../model';
import { addDays, DAY_MS, formatYmd, parsePluginDate } from './dates';
import { DueDateHistogram } from './histogram';

/** The plugin's review buttons (`ReviewResponse`). */
export type ReviewResponse = 'Easy' | 'Good' | 'Hard' | 'Again' | 'Reset';
export const REVIEW_RESPONSES: readonly ReviewResponse[] = ['Easy', 'Good', 'Hard', 'Again', 'Reset'];

/** The plugin settings SM-2-OSR reads, with the plugin's names. */
export interface OsrSettings {
  baseEase: number;
  easyBonus: number;
  lapsesIntervalChange: number;
  loadBalance: boolean;
  maximumInterval: number;
}

/** The plugin's defaults (`DEFAULT_SETTINGS`). */
export const DEFAULT_OSR_SETTINGS: Readonly<OsrSettings> = Object.freeze({
  baseEase: 250,
  easyBonus: 1.3,
  lapsesIntervalChange: 0.5,
  loadBalance: true,
  maximumInterval: 36525,
});

/** The plugin's `initialInterval` for a card or note seen for the first time. */
export const INITIAL_INTERVAL = 1;
/** Ease never drops below this. */
export const MIN_EASE = 130;

/** Accepts the response in any letter case ("good", "GOOD"); anything else is an error. */
export function toReviewResponse(value: string): ReviewResponse {
  const found = REVIEW_RESPONSES.find((r) => r.toLowerCase() === String(value).trim().toLowerCase());
  if (!found) throw new Error(`unknown review response "${value}": expected one of ${REVIEW_RESPONSES.join(', ')}`);
  return found;
}

export function resolveOsrSettings(settings?: Partial<OsrSettings> | null): OsrSettings {
  const merged: OsrSettings = { ...DEFAULT_OSR_SETTINGS };
  if (settings) {
    for (const key of Object.keys(DEFAULT_OSR_SETTINGS) as (keyof OsrSettings)[]) {
      const value = settings[key];
      if (value !== undefined && value !== null) (merged as unknown as Record<string, unknown>)[key] = value;
    }
  }
  return merged;
}

function toHistogram(dueDates?: Record<number, number> | DueDateHistogram | null): DueDateHistogram | undefined {
  if (dueDates === undefined || dueDates === null) return undefined;
  return dueDates instanceof DueDateHistogram ? dueDates : new DueDateHistogram(dueDates);
}

/** The plugin's fuzz window: none up to 7 days, ±1 up to 21, ±3 (5%) up to 180, ±7 (2.5%) beyond. */
export function loadBalanceFuzz(interval: number): number {
  if (interval <= 7) return 0;
  if (interval <= 21) return 1;
  if (interval <= 180) return Math.min(3, Math.floor(interval * 0.05));
  return Math.min(7, Math.floor(interval * 0.025));
}

/**
 * One SM-2-OSR step, exactly as the plugin's `osrSchedule`. `delayMs` is how late the review
 * is (only whole days count). Load balancing (rounding to whole days, then the least-loaded
 * day within the fuzz window) happens only when `loadBalance` is on and a histogram is given.
 * The result is capped at `maximumInterval` and rounded to 0.1 day.
 */
export function osrSchedule(
  response: ReviewResponse | string,
  originalInterval: number,
  ease: number,
  delayMs: number,
  settings?: Partial<OsrSettings> | null,
  dueDates?: Record<number, number> | DueDateHistogram | null,
): { interval: number; ease: number } {
  const r = toReviewResponse(response);
  for (const [name, value] of [['interval', originalInterval], ['ease', ease], ['delayMs', delayMs]] as const) {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`${name} must be a finite number, got ${String(value)}`);
  }
  const s = resolveOsrSettings(settings);
  const histogram = toHistogram(dueDates);
  const delayDays = Math.max(0, Math.floor(delayMs / DAY_MS));
  // An "Again" leaves interval 0; the next review starts again from 1.
  let interval = Math.max(1, originalInterval);

  if (r === 'Easy') {
    ease += 20;
    interval = ((interval + delayDays) * ease) / 100;
    interval *= s.easyBonus;
  } else if (r === 'Good') {
    interval = ((interval + delayDays / 2) * ease) / 100;
  } else if (r === 'Hard') {
    ease = Math.max(MIN_EASE, ease - 20);
    interval = Math.max(1, (interval + delayDays / 4) * s.lapsesIntervalChange);
  } else if (r === 'Again') {
    ease = Math.max(MIN_EASE, ease - 20);
    interval = 0;
  }

  if (s.loadBalance && histogram !== undefined) {
    interval = Math.round(interval);
    const fuzz = loadBalanceFuzz(interval);
    if (fuzz > 0) interval = histogram.findLeastUsedIntervalOverRange(interval, fuzz);
  }

  interval = Math.min(interval, s.maximumInterval);
  interval = Math.round(interval * 10) / 10;
  return { interval, ease };
}

/**
 * The plugin's `calculateFlashcardAvgEase`: the mean ease of a note's reviewed cards, blended
 * with the base ease by how many there are (log(n + 0.5) / log(64), full weight from 64 cards).
 * 0 when no card is reviewed.
 */
export function flashcardAverageEase(eases: readonly number[], baseEase: number): number {
  return flashcardAverageEaseOfSum(eases.reduce((a, b) => a + b, 0), eases.length, baseEase);
}

/** `flashcardAverageEase` from the eases' sum and count (kept up to date instead of summed again). */
export function flashcardAverageEaseOfSum(sum: number, count: number, baseEase: number): number {
  if (count === 0) return 0;
  const mean = sum / count;
  const contribution = Math.min(1, Math.log(count + 0.5) / Math.log(64));
  return mean * contribution + baseEase * (1 - contribution);
}

/**
 * The plugin's `noteOnLoadedNote`: the note's ease from its cards' average and its own
 * `sr-ease` (the mean of both when both exist). Null when neither exists (or both are 0).
 */
export function noteEase(flashcardAvgEase: number | null, noteFrontmatterEase: number | null): number | null {
  const cards = flashcardAvgEase || null;
  const note = noteFrontmatterEase || null;
  if (cards && note) return (cards + note) / 2;
  return cards ?? note;
}

/** What a card-level step needs besides the card's own schedule. */
export interface OsrCardContext {
  /** The review day (local midnight): the plugin's `globalDateProvider.today`. */
  today: Date;
  settings?: Partial<OsrSettings> | null;
  /** Cards due per day from today, over the whole vault (the plugin's card histogram). */
  histogram: DueDateHistogram;
  /** The note's ease (`noteEase`), used as the starting ease of a new card. */
  noteEase?: number | null;
}

function withDue(today: Date, result: { interval: number; ease: number }): CardSchedule {
  return { due: formatYmd(addDays(today, result.interval)), interval: result.interval, ease: result.ease };
}

/** `cardGetNewSchedule`: a card never reviewed, from the note's ease or the base ease. */
export function osrNewCardSchedule(response: ReviewResponse, ctx: OsrCardContext): CardSchedule {
  const s = resolveOsrSettings(ctx.settings);
  const initialEase = ctx.noteEase ? Math.round(ctx.noteEase) : s.baseEase;
  return withDue(ctx.today, osrSchedule(response, INITIAL_INTERVAL, initialEase, 0, s, ctx.histogram));
}

/**
 * `cardCalcUpdatedSchedule` for a card read from its `<!--SR:` comment. The plugin's note store
 * sets the delay to due − today, so an overdue card counts no delay (negative, floored to 0)
 * and a card reviewed before its due date counts the days it was early. Kept as the plugin does.
 */
export function osrUpdatedCardSchedule(
  response: ReviewResponse,
  current: CardSchedule,
  ctx: OsrCardContext,
): CardSchedule {
  const due = parsePluginDate(current.due);
  if (!due) throw new Error(`invalid due date "${current.due}" in the scheduling comment`);
  const delayMs = due.getTime() - ctx.today.getTime();
  return withDue(ctx.today, osrSchedule(response, current.interval, current.ease, delayMs, ctx.settings, ctx.histogram));
}

/** `cardGetResetSchedule`: due today, interval 1, the base ease. */
export function osrResetSchedule(today: Date, settings?: Partial<OsrSettings> | null): CardSchedule {
  const s = resolveOsrSettings(settings);
  return { due: formatYmd(today), interval: INITIAL_INTERVAL, ease: s.baseEase };
}
