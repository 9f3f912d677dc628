/**
 * One review of one sibling, with the algorithm the settings pick — the plugin's
 * `FlashcardReviewSequencer.determineCardSchedule` — and the `<!--SR:` segment it is stored as.
 */
import type { CardSchedule, Sibling } from '../model';
import { addDays, formatYmd, parsePluginDate, startOfDay } from './dates';
import {
  DEFAULT_FSRS_DESIRED_RETENTION,
  difficultyToEase,
  formatFsrsSegment,
  FSRS_COMMENT_PREFIX,
  fsrsNewCardSchedule,
  fsrsResetSchedule,
  fsrsUpdatedCardSchedule,
  isFsrsSchedule,
  parseFsrsSegment,
  type FsrsCardSchedule,
} from './fsrs';
import type { DueDateHistogram } from './histogram';
import {
  INITIAL_INTERVAL,
  osrNewCardSchedule,
  osrResetSchedule,
  osrSchedule,
  osrUpdatedCardSchedule,
  resolveOsrSettings,
  type OsrSettings,
  type ReviewResponse,
} from './osr';

export type SiblingSchedule = CardSchedule | FsrsCardSchedule;

export type SchedulingAlgorithm = 'SM-2-OSR' | 'FSRS';

export interface SchedulerSettings extends OsrSettings {
  algorithm: SchedulingAlgorithm;
  fsrsDesiredRetention: number;
}

export function resolveSchedulerSettings(settings?: Partial<SchedulerSettings> | null): SchedulerSettings {
  const algorithm = settings?.algorithm ?? 'SM-2-OSR';
  if (algorithm !== 'SM-2-OSR' && algorithm !== 'FSRS') {
    throw new Error(`unknown scheduling algorithm "${String(algorithm)}": expected SM-2-OSR or FSRS`);
  }
  const fsrsDesiredRetention = settings?.fsrsDesiredRetention ?? DEFAULT_FSRS_DESIRED_RETENTION;
  if (!(fsrsDesiredRetention > 0 && fsrsDesiredRetention < 1)) {
    throw new Error(`fsrsDesiredRetention must be between 0 and 1, got ${fsrsDesiredRetention}`);
  }
  return { ...resolveOsrSettings(settings), algorithm, fsrsDesiredRetention };
}

export interface ReviewContext {
  /** The moment of the review; its local day is "today". */
  now: Date;
  settings: SchedulerSettings;
  /** Cards due per day from today, over the whole vault. */
  histogram: DueDateHistogram;
  /** The note's ease (see `noteEase`) for a new card's starting ease under SM-2-OSR. */
  noteEase: number | null;
}

/** The plugin's placeholder date for a sibling not reviewed yet. */
export const NEW_CARD_DUE = '2000-01-01';

/** The segment the plugin writes for a sibling not reviewed yet: `!2000-01-01,1,<baseEase>`. */
export function placeholderSegment(baseEase: number): string {
  return `!${NEW_CARD_DUE},${INITIAL_INTERVAL},${baseEase}`;
}

/** `!due,interval,ease` or `!fsrs,…`. */
export function formatSegment(schedule: SiblingSchedule): string {
  return isFsrsSchedule(schedule) ? formatFsrsSegment(schedule) : `!${schedule.due},${schedule.interval},${schedule.ease}`;
}

/** A sibling's schedule, reading its verbatim segment when it is an FSRS one. Null: new. */
export function siblingSchedule(sibling: Pick<Sibling, 'schedule' | 'segment'>): SiblingSchedule | null {
  if (sibling.segment && sibling.segment.trim().startsWith(FSRS_COMMENT_PREFIX + ',')) {
    return parseFsrsSegment(sibling.segment.trim());
  }
  return sibling.schedule;
}

/** Due instant of a schedule: local midnight of an SM-2-OSR due date, the exact instant for FSRS. */
export function scheduleDueTime(schedule: SiblingSchedule): number {
  if (isFsrsSchedule(schedule)) return Date.parse(schedule.due);
  return parsePluginDate(schedule.due)?.getTime() ?? NaN;
}

/**
 * The new schedule after `response`, or null when there is nothing to store (the plugin does
 * nothing when a new card is reset).
 */
export function reviewSchedule(
  response: ReviewResponse,
  current: SiblingSchedule | null,
  ctx: ReviewContext,
): SiblingSchedule | null {
  const today = startOfDay(ctx.now);
  const s = ctx.settings;
  if (response === 'Reset') {
    if (current === null) return null;
    return s.algorithm === 'FSRS' ? fsrsResetSchedule(ctx.now) : osrResetSchedule(today, s);
  }
  if (s.algorithm === 'FSRS') {
    return current === null
      ? fsrsNewCardSchedule(response, ctx.now, s)
      : fsrsUpdatedCardSchedule(response, current, ctx.now, s);
  }
  const osrCtx = { today, settings: s, histogram: ctx.histogram, noteEase: ctx.noteEase };
  if (current === null) return osrNewCardSchedule(response, osrCtx);
  if (isFsrsSchedule(current)) {
    // Back on SM-2-OSR after FSRS: the plugin reads the FSRS state's interval, its ease from the
    // difficulty, and the delay since its due instant.
    const result = osrSchedule(
      response,
      current.interval,
      difficultyToEase(current.difficulty),
      ctx.now.getTime() - new Date(current.due).getTime(),
      s,
      ctx.histogram,
    );
    return { due: formatYmd(addDays(today, result.interval)), interval: result.interval, ease: result.ease };
  }
  return osrUpdatedCardSchedule(response, current, osrCtx);
}

