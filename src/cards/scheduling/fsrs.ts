/**
 * FSRS through ts-fsrs, as the plugin's `SrsAlgorithmFsrs` does it (src/scheduling/algorithms/
 * fsrs/): desired retention 0.9, the plugin's maximum interval, short-term (learning) steps on,
 * no fuzz. A card scheduled with SM-2-OSR is migrated the plugin's way on its first FSRS review.
 *
 * Stored in the plugin's FSRS segment of the `<!--SR:` comment:
 *   `!fsrs,<due ISO>,<interval>,<stability>,<difficulty>,<state>,<reps>,<lapses>,<learningSteps>,<lastReview ISO or ->`
 */
import { createEmptyCard, fsrs, Rating, State, type Card as FsrsCard, type CardInput, type Grade } from 'ts-fsrs';
import type { CardSchedule } from '../model';
import { addDays, parsePluginDate } from './dates';
import type { ReviewResponse } from './osr';

/** One sibling's FSRS state, the fields of the plugin's `RepItemScheduleInfoFsrs`. */
export interface FsrsCardSchedule {
  algorithm: 'FSRS';
  /** Due instant, ISO 8601 (`2023-09-06T00:10:00.000Z`). */
  due: string;
  /** ts-fsrs `scheduled_days` (0 while in short-term learning). */
  interval: number;
  stability: number;
  difficulty: number;
  /** ts-fsrs `State`: 0 New, 1 Learning, 2 Review, 3 Relearning. */
  state: number;
  reps: number;
  lapses: number;
  learningSteps: number;
  /** Last review instant, ISO 8601, or null. */
  lastReview: string | null;
}

export const FSRS_COMMENT_PREFIX = 'fsrs';
export const DEFAULT_FSRS_DESIRED_RETENTION = 0.9;

const LEGACY_MIN_EASE = 130;
const LEGACY_MAX_EASE = 370;

export interface FsrsSettings {
  fsrsDesiredRetention: number;
  maximumInterval: number;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** The plugin's `easeToDifficulty`: ease 130…370 maps linearly onto difficulty 10…1. */
export function easeToDifficulty(ease: number | null | undefined): number {
  if (ease === null || ease === undefined) return 5.5;
  const normalized = (clamp(ease, LEGACY_MIN_EASE, LEGACY_MAX_EASE) - LEGACY_MIN_EASE) / (LEGACY_MAX_EASE - LEGACY_MIN_EASE);
  return clamp(10 - normalized * 9, 1, 10);
}

/** The plugin's `difficultyToEase`, the inverse, rounded (an FSRS card's "ease" in statistics). */
export function difficultyToEase(difficulty: number): number {
  const normalized = (10 - clamp(difficulty, 1, 10)) / 9;
  return Math.round(LEGACY_MIN_EASE + normalized * (LEGACY_MAX_EASE - LEGACY_MIN_EASE));
}

export function responseToFsrsGrade(response: ReviewResponse): Grade {
  switch (response) {
    case 'Again':
      return Rating.Again;
    case 'Hard':
      return Rating.Hard;
    case 'Good':
      return Rating.Good;
    case 'Easy':
      return Rating.Easy;
    default:
      throw new Error(`Unsupported FSRS response: ${response}`);
  }
}

function scheduler(settings: FsrsSettings) {
  return fsrs({
    request_retention: settings.fsrsDesiredRetention,
    maximum_interval: settings.maximumInterval,
    enable_short_term: true,
  });
}

/** The plugin's `fromFsrsCard`. */
export function fromFsrsCard(card: FsrsCard): FsrsCardSchedule {
  return {
    algorithm: 'FSRS',
    due: new Date(card.due).toISOString(),
    interval: card.scheduled_days,
    stability: card.stability,
    difficulty: card.difficulty,
    state: card.state,
    reps: card.reps,
    lapses: card.lapses,
    learningSteps: card.learning_steps,
    lastReview: card.last_review ? new Date(card.last_review).toISOString() : null,
  };
}

/** `moment(later).diff(earlier, "days")`: whole local days, the time-zone offset change removed, truncated. */
function diffDays(later: Date, earlier: Date): number {
  const zoneDelta = (later.getTimezoneOffset() - earlier.getTimezoneOffset()) * 60 * 1000;
  return Math.trunc((later.getTime() - earlier.getTime() - zoneDelta) / (24 * 3600 * 1000));
}

/** The plugin's `toFsrsCardInput`. */
export function toFsrsCardInput(schedule: FsrsCardSchedule, now: Date): CardInput {
  const lastReview = schedule.lastReview ? new Date(schedule.lastReview) : now;
  return {
    due: new Date(schedule.due),
    stability: schedule.stability,
    difficulty: schedule.difficulty,
    elapsed_days: Math.max(0, diffDays(now, lastReview)),
    scheduled_days: schedule.interval,
    learning_steps: schedule.learningSteps,
    reps: schedule.reps,
    lapses: schedule.lapses,
    state: schedule.state as State,
    last_review: schedule.lastReview ? new Date(schedule.lastReview) : null,
  };
}

/** The plugin's `legacyScheduleToFsrsCard`: an SM-2-OSR schedule as an FSRS review-state card. */
export function legacyScheduleToFsrsCard(schedule: CardSchedule, now: Date): CardInput {
  const interval = Math.max(1, Math.round(schedule.interval ?? 1));
  const due = parsePluginDate(schedule.due) ?? now;
  const lastReview = addDays(due, -interval);
  return {
    due,
    stability: Math.max(0.1, interval),
    difficulty: easeToDifficulty(schedule.ease),
    elapsed_days: Math.max(0, diffDays(now, lastReview)),
    scheduled_days: interval,
    learning_steps: 0,
    reps: Math.max(1, Math.round(Math.log2(interval + 1))),
    lapses: 0,
    state: State.Review,
    last_review: lastReview,
  };
}

/** `cardGetNewSchedule` under FSRS. */
export function fsrsNewCardSchedule(response: ReviewResponse, now: Date, settings: FsrsSettings): FsrsCardSchedule {
  const record = scheduler(settings).next(createEmptyCard(now), now, responseToFsrsGrade(response));
  return fromFsrsCard(record.card);
}

/** `cardCalcUpdatedSchedule` under FSRS; an SM-2-OSR schedule is migrated first. */
export function fsrsUpdatedCardSchedule(
  response: ReviewResponse,
  current: CardSchedule | FsrsCardSchedule,
  now: Date,
  settings: FsrsSettings,
): FsrsCardSchedule {
  const card = isFsrsSchedule(current) ? toFsrsCardInput(current, now) : legacyScheduleToFsrsCard(current, now);
  const last = card.last_review ? new Date(card.last_review) : null;
  if (last && now.getTime() < last.getTime()) {
    throw new Error(`cannot review at ${now.toISOString()}: the card was last reviewed at ${last.toISOString()}`);
  }
  const record = scheduler(settings).next(card, now, responseToFsrsGrade(response));
  return fromFsrsCard(record.card);
}

/** `cardGetResetSchedule` under FSRS: a new card, due now. */
export function fsrsResetSchedule(now: Date): FsrsCardSchedule {
  const card = createEmptyCard(now);
  return fromFsrsCard({ ...card, state: State.New, scheduled_days: 0, learning_steps: 0, due: now, last_review: undefined });
}

export function isFsrsSchedule(schedule: CardSchedule | FsrsCardSchedule): schedule is FsrsCardSchedule {
  return (schedule as FsrsCardSchedule).algorithm === 'FSRS';
}

/** The comment segment, `!fsrs,…` (the plugin's `formatCardScheduleForHtmlComment`). */
export function formatFsrsSegment(s: FsrsCardSchedule): string {
  return `!${FSRS_COMMENT_PREFIX},${s.due},${s.interval},${s.stability},${s.difficulty},${s.state},${s.reps},${s.lapses},${s.learningSteps},${s.lastReview ?? '-'}`;
}

/** Reads `fsrs,…` (without the `!`) as the plugin's `parseScheduleSegment`; null when the due date is unreadable. */
export function parseFsrsSegment(segment: string): FsrsCardSchedule | null {
  const [, due, interval, stability, difficulty, state, reps, lapses, learningSteps, lastReview] = segment.split(',');
  if (!due || due === '-' || Number.isNaN(new Date(due).getTime())) return null;
  const last = lastReview === undefined || lastReview === '-' ? null : lastReview;
  return {
    algorithm: 'FSRS',
    due,
    interval: parseFloat(interval),
    stability: parseFloat(stability),
    difficulty: parseFloat(difficulty),
    state: parseInt(state, 10),
    reps: parseInt(reps, 10),
    lapses: parseInt(lapses, 10),
    learningSteps: parseInt(learningSteps, 10),
    lastReview: last,
  };
}
