/**
 * SM-2-OSR and FSRS against the Obsidian Spaced Repetition plugin (v1.15). The `osrSchedule` cases
 * are the plugin's own (tests/unit/scheduling.test.ts), the FSRS cases its
 * tests/unit/algorithms/fsrs/*.test.ts, plus the vectors of issue 4.
 */
import { State } from 'ts-fsrs';
import { addDays, formatYmd, parsePluginDate, parseReviewDate } from '../src/cards/scheduling/dates';
import {
  difficultyToEase,
  easeToDifficulty,
  formatFsrsSegment,
  fsrsNewCardSchedule,
  fsrsResetSchedule,
  fsrsUpdatedCardSchedule,
  legacyScheduleToFsrsCard,
  parseFsrsSegment,
  responseToFsrsGrade,
  toFsrsCardInput,
  type FsrsCardSchedule,
} from '../src/cards/scheduling/fsrs';
import { DueDateHistogram } from '../src/cards/scheduling/histogram';
import {
  DEFAULT_OSR_SETTINGS,
  flashcardAverageEase,
  noteEase,
  osrNewCardSchedule,
  osrResetSchedule,
  osrSchedule,
  osrUpdatedCardSchedule,
} from '../src/cards/scheduling/osr';
import {
  formatSegment,
  placeholderSegment,
  resolveSchedulerSettings,
  reviewSchedule,
  siblingSchedule,
} from '../src/cards/scheduling/scheduler';

const DAY = 24 * 3600 * 1000;
const S = DEFAULT_OSR_SETTINGS;
const empty = () => new DueDateHistogram();

describe('osrSchedule: the plugin test "reviewing with default settings"', () => {
  test('a new card: Easy 4 d / 270, Good 3 d / 250, Hard 1 d / 230', () => {
    expect(osrSchedule('Easy', 1, 250, 0, S, empty())).toEqual({ interval: 4, ease: 270 });
    expect(osrSchedule('Good', 1, 250, 0, S, empty())).toEqual({ interval: 3, ease: 250 });
    expect(osrSchedule('Hard', 1, 250, 0, S, empty())).toEqual({ interval: 1, ease: 230 });
  });

  test('a two-day delay: Easy 42, Good 28, Hard 5 (from interval 10)', () => {
    const delay = 2 * DAY;
    expect(osrSchedule('Easy', 10, 250, delay, S, empty())).toEqual({ interval: 42, ease: 270 });
    expect(osrSchedule('Good', 10, 250, delay, S, empty())).toEqual({ interval: 28, ease: 250 });
    expect(osrSchedule('Hard', 10, 250, delay, S, empty())).toEqual({ interval: 5, ease: 230 });
  });

  test('only whole days of delay count, and a negative delay counts as none', () => {
    expect(osrSchedule('Good', 10, 250, 2 * DAY - 1, S, empty())).toEqual(osrSchedule('Good', 10, 250, DAY, S, empty()));
    expect(osrSchedule('Good', 10, 250, -5 * DAY, S, empty())).toEqual({ interval: 25, ease: 250 });
  });

  test('Again: ease −20 (not below 130), interval 0; the next review starts from interval 1', () => {
    expect(osrSchedule('Again', 40, 250, 0, S, empty())).toEqual({ interval: 0, ease: 230 });
    expect(osrSchedule('Again', 40, 140, 0, S, empty())).toEqual({ interval: 0, ease: 130 });
    expect(osrSchedule('Good', 0, 230, 0, S, empty())).toEqual({ interval: 2, ease: 230 });
  });

  test('Hard never drops the ease below 130 and uses lapsesIntervalChange', () => {
    expect(osrSchedule('Hard', 30, 135, 0, S, empty())).toEqual({ interval: 15, ease: 130 });
    expect(osrSchedule('Hard', 30, 250, 0, { lapsesIntervalChange: 0.2 }, empty())).toEqual({ interval: 6, ease: 230 });
  });

  test('capped at maximumInterval', () => {
    expect(osrSchedule('Easy', 30000, 300, 0, S, empty()).interval).toBe(36525);
    expect(osrSchedule('Good', 100, 250, 0, { maximumInterval: 180 }, empty()).interval).toBe(180);
  });

  test('without a histogram (or with loadBalance off) intervals keep one decimal', () => {
    expect(osrSchedule('Good', 1, 250, 0)).toEqual({ interval: 2.5, ease: 250 });
    expect(osrSchedule('Good', 482, 309, 0)).toEqual({ interval: 1489.4, ease: 309 });
    expect(osrSchedule('Easy', 1, 250, 0, { loadBalance: false }, empty())).toEqual({ interval: 3.5, ease: 270 });
    expect(osrSchedule('Good', 482, 309, 0, S, {})).toEqual({ interval: 1489, ease: 309 });
  });

  test('easyBonus and the response name in any case', () => {
    expect(osrSchedule('easy', 10, 250, 0, { easyBonus: 2 }, empty())).toEqual({ interval: 54, ease: 270 });
    expect(() => osrSchedule('Perfect', 10, 250, 0)).toThrow(/unknown review response "Perfect"/);
    expect(() => osrSchedule('Good', NaN, 250, 0)).toThrow(/interval must be a finite number/);
    expect(() => osrSchedule('Good', 10, '250' as unknown as number, 0)).toThrow(/ease must be a finite number/);
  });
});

describe('osrSchedule: the plugin test "load balancing"', () => {
  test('small intervals are not fuzzed', () => {
    const dueDates = new DueDateHistogram({ 0: 1, 1: 1, 2: 1, 3: 4 });
    expect(osrSchedule('Good', 1, 250, 0, S, dueDates)).toEqual({ interval: 3, ease: 250 });
    dueDates.decrement(1);
    dueDates.increment(3);
    expect(dueDates.toRecord()).toEqual({ 0: 1, 1: 0, 2: 1, 3: 5 });
    expect(osrSchedule('Good', 2, 250, 0, S, { 5: 2 })).toEqual({ interval: 5, ease: 250 });
  });

  test('7 < interval <= 21: ±1 day', () => {
    expect(osrSchedule('Good', 7, 250, 0, S, { 17: 4, 18: 5, 19: 3 })).toEqual({ interval: 19, ease: 250 });
  });

  test('21 < interval <= 180: up to ±3 days', () => {
    expect(osrSchedule('Good', 10, 250, 0, S, { 23: 5, 26: 1 })).toEqual({ interval: 25, ease: 250 });
    const dueDates = { 2: 5, 59: 8, 60: 9, 61: 3, 62: 5, 63: 4, 64: 4, 65: 8, 66: 2, 67: 10 };
    expect(osrSchedule('Good', 25, 250, 0, S, dueDates)).toEqual({ interval: 66, ease: 250 });
  });

  test('interval > 180: up to ±7 days', () => {
    const dueDates = { 1245: 7, 1246: 4, 1247: 2, 1248: 9, 1249: 5, 1250: 4, 1251: 1, 1252: 1, 1254: 1 };
    expect(osrSchedule('Good', 500, 250, 0, S, dueDates)).toEqual({ interval: 1253, ease: 250 });
  });

  test('ties keep the earlier candidate (original, −1, +1, −2, …); loadBalance off ignores the histogram', () => {
    // 20 → candidates 19 (3), 21 (3): 19 is seen first and 21 is not strictly less.
    expect(osrSchedule('Good', 8, 250, 0, S, { 19: 3, 20: 5, 21: 3 })).toEqual({ interval: 19, ease: 250 });
    expect(osrSchedule('Good', 8, 250, 0, { loadBalance: false }, { 19: 3, 20: 5, 21: 3 })).toEqual({ interval: 20, ease: 250 });
  });
});

describe('card-level SM-2-OSR', () => {
  const today = parseReviewDate('2024-05-19');

  test('issue vector: <!--SR:!2024-05-19,482,309--> Good on 2024-05-19 → !2028-06-16,1489,309', () => {
    const next = osrUpdatedCardSchedule('Good', { due: '2024-05-19', interval: 482, ease: 309 }, { today, histogram: empty() });
    expect(formatSegment(next)).toBe('!2028-06-16,1489,309');
  });

  test('a new card: Easy / Good / Hard → today + 4 / 3 / 1 days', () => {
    const ctx = { today, histogram: empty() };
    expect(osrNewCardSchedule('Easy', ctx)).toEqual({ due: '2024-05-23', interval: 4, ease: 270 });
    expect(osrNewCardSchedule('Good', ctx)).toEqual({ due: '2024-05-22', interval: 3, ease: 250 });
    expect(osrNewCardSchedule('Hard', ctx)).toEqual({ due: '2024-05-20', interval: 1, ease: 230 });
  });

  test("a new card starts from the note's ease, rounded", () => {
    // 1 × 3.50 = 3.5 → 4 days (from the base ease 250 it would be 2.5 → 3).
    expect(osrNewCardSchedule('Good', { today, histogram: empty(), noteEase: 349.6 })).toEqual({
      due: '2024-05-23',
      interval: 4,
      ease: 350,
    });
  });

  test('an overdue card gets no delay bonus (the plugin stores due − today as the delay)', () => {
    const late = osrUpdatedCardSchedule('Good', { due: '2024-05-01', interval: 10, ease: 250 }, { today, histogram: empty() });
    expect(late).toEqual({ due: '2024-06-13', interval: 25, ease: 250 });
    // Reviewed two days early, the plugin counts the two days: (10 + 2/2) × 2.5 = 27.5 → 28.
    const early = osrUpdatedCardSchedule('Good', { due: '2024-05-21', interval: 10, ease: 250 }, { today, histogram: empty() });
    expect(early.interval).toBe(28);
  });

  test('Reset: due today, interval 1, base ease', () => {
    expect(osrResetSchedule(today)).toEqual({ due: '2024-05-19', interval: 1, ease: 250 });
    expect(osrResetSchedule(today, { baseEase: 230 })).toEqual({ due: '2024-05-19', interval: 1, ease: 230 });
  });

  test("the note's ease: flashcard average blended with the base ease by count", () => {
    expect(flashcardAverageEase([], 250)).toBe(0);
    const one = flashcardAverageEase([270], 250);
    const w = Math.log(1.5) / Math.log(64);
    expect(one).toBeCloseTo(270 * w + 250 * (1 - w), 10);
    expect(flashcardAverageEase(new Array(64).fill(300), 250)).toBe(300);
    expect(noteEase(260, null)).toBe(260);
    expect(noteEase(0, 280)).toBe(280);
    expect(noteEase(260, 280)).toBe(270);
    expect(noteEase(0, null)).toBeNull();
  });
});

describe('dates as the plugin reads them', () => {
  test('YYYY-MM-DD, DD-MM-YYYY and "ddd MMM DD YYYY"', () => {
    expect(formatYmd(parsePluginDate('2024-05-19')!)).toBe('2024-05-19');
    expect(formatYmd(parsePluginDate('19-05-2024')!)).toBe('2024-05-19');
    expect(formatYmd(parsePluginDate('Sun May 19 2024')!)).toBe('2024-05-19');
    expect(parsePluginDate('2024-02-31')).toBeNull();
    expect(parsePluginDate('soon')).toBeNull();
    expect(() => parseReviewDate('19/05/2024')).toThrow(/expected YYYY-MM-DD/);
  });

  test('fractional day counts round like moment (half away from zero)', () => {
    const d = parseReviewDate('2024-01-01');
    expect(formatYmd(addDays(d, 2.5))).toBe('2024-01-04');
    expect(formatYmd(addDays(d, 2.4))).toBe('2024-01-03');
    expect(formatYmd(addDays(d, 366))).toBe('2025-01-01');
  });
});

describe('FSRS (the plugin tests, tests/unit/algorithms/fsrs)', () => {
  const now = new Date('2023-09-06T00:00:00.000Z');
  const settings = { fsrsDesiredRetention: 0.9, maximumInterval: 36525 };

  test('formats the schedule as the plugin comment segment', () => {
    const s: FsrsCardSchedule = {
      algorithm: 'FSRS',
      due: '2023-09-06T00:10:00.000Z',
      interval: 0,
      stability: 0.4,
      difficulty: 5.5,
      state: State.Learning,
      reps: 1,
      lapses: 0,
      learningSteps: 1,
      lastReview: '2023-09-06T00:00:00.000Z',
    };
    expect(formatFsrsSegment(s)).toBe('!fsrs,2023-09-06T00:10:00.000Z,0,0.4,5.5,1,1,0,1,2023-09-06T00:00:00.000Z');
    expect(parseFsrsSegment(formatFsrsSegment(s).slice(1))).toEqual(s);
    expect(parseFsrsSegment('fsrs,2023-09-06T00:10:00.000Z,0,0.4,5.5,0,0,0,0,-')!.lastReview).toBeNull();
    expect(parseFsrsSegment('fsrs,-,0,0.4,5.5,0,0,0,0,-')).toBeNull();
  });

  test('converts to ts-fsrs card input and back', () => {
    const s: FsrsCardSchedule = {
      algorithm: 'FSRS',
      due: '2023-09-06T00:00:00.000Z',
      interval: 3,
      stability: 2.5,
      difficulty: 4.5,
      state: State.Review,
      reps: 5,
      lapses: 1,
      learningSteps: 0,
      lastReview: '2023-09-03T00:00:00.000Z',
    };
    const input = toFsrsCardInput(s, now);
    expect(new Date(input.due as Date).toISOString()).toBe('2023-09-06T00:00:00.000Z');
    expect(new Date(input.last_review as Date).toISOString()).toBe('2023-09-03T00:00:00.000Z');
    expect(input.scheduled_days).toBe(3);
    expect(input.elapsed_days).toBe(3);
  });

  test('grades map to ratings; Reset is not an FSRS grade', () => {
    expect(responseToFsrsGrade('Again')).toBe(1);
    expect(responseToFsrsGrade('Hard')).toBe(2);
    expect(responseToFsrsGrade('Good')).toBe(3);
    expect(responseToFsrsGrade('Easy')).toBe(4);
    expect(() => responseToFsrsGrade('Reset')).toThrow('Unsupported FSRS response: Reset');
  });

  test('ease ↔ difficulty for legacy migration', () => {
    expect(easeToDifficulty(130)).toBe(10);
    expect(easeToDifficulty(370)).toBe(1);
    expect(easeToDifficulty(null)).toBe(5.5);
    expect(difficultyToEase(10)).toBe(130);
    expect(difficultyToEase(1)).toBe(370);
    expect(difficultyToEase(easeToDifficulty(250))).toBeGreaterThanOrEqual(240);
  });

  test('legacy schedules keep their due date and become review-state cards', () => {
    const nowLocal = parseReviewDate('2023-09-06');
    const card = legacyScheduleToFsrsCard({ due: '2023-09-10', interval: 4, ease: 270 }, nowLocal);
    expect(card).toMatchObject({ state: State.Review, scheduled_days: 4, stability: 4, reps: 2, lapses: 0 });
    expect(formatYmd(card.due as Date)).toBe('2023-09-10');
    expect(formatYmd(card.last_review as Date)).toBe('2023-09-06');
  });

  test('a new card answered Again stays in short-term learning (interval 0, due later today)', () => {
    const s = fsrsNewCardSchedule('Again', now, settings);
    expect(s.interval).toBe(0);
    expect(s.state).toBe(State.Learning);
    expect(Date.parse(s.due)).toBeGreaterThan(now.getTime());
  });

  test('a legacy SM-2 schedule reviewed under FSRS becomes a review-state FSRS schedule', () => {
    const s = fsrsUpdatedCardSchedule('Good', { due: '2023-09-10', interval: 4, ease: 270 }, now, settings);
    expect(s.interval).toBeGreaterThanOrEqual(1);
    expect(s.state).toBe(State.Review);
    expect(s.lastReview).toBe(now.toISOString());
  });

  test('reset gives a new-state schedule due now', () => {
    const s = fsrsResetSchedule(now);
    expect(s).toMatchObject({ interval: 0, state: State.New, due: now.toISOString(), lastReview: null });
  });

  test('a Good after Good grows the interval and keeps FSRS state', () => {
    const first = fsrsNewCardSchedule('Good', now, settings);
    const later = new Date(Date.parse(first.due));
    const second = fsrsUpdatedCardSchedule('Good', first, later, settings);
    const third = fsrsUpdatedCardSchedule('Good', second, new Date(Date.parse(second.due)), settings);
    expect(third.reps).toBe(3);
    expect(third.interval).toBeGreaterThan(second.interval);
  });
});

describe('reviewSchedule: the algorithm setting picks the scheduler', () => {
  const now = parseReviewDate('2024-05-19');
  const ctx = (algorithm: 'SM-2-OSR' | 'FSRS') => ({
    now,
    settings: resolveSchedulerSettings({ algorithm }),
    histogram: empty(),
    noteEase: null,
  });

  test('SM-2-OSR and FSRS', () => {
    expect(reviewSchedule('Good', null, ctx('SM-2-OSR'))).toEqual({ due: '2024-05-22', interval: 3, ease: 250 });
    const f = reviewSchedule('Good', { due: '2024-05-19', interval: 10, ease: 250 }, ctx('FSRS'));
    expect(f && 'algorithm' in f && f.algorithm).toBe('FSRS');
    expect(formatSegment(f!)).toMatch(/^!fsrs,\d{4}-\d{2}-\d{2}T[\d:.]+Z,\d+(\.\d+)?,[\d.]+,[\d.]+,2,\d+,0,0,[\dT:.Z-]+$/);
  });

  test('resetting a new card stores nothing; resetting a reviewed card starts it over', () => {
    expect(reviewSchedule('Reset', null, ctx('SM-2-OSR'))).toBeNull();
    expect(reviewSchedule('Reset', { due: '2024-06-01', interval: 20, ease: 270 }, ctx('SM-2-OSR'))).toEqual({
      due: '2024-05-19',
      interval: 1,
      ease: 250,
    });
  });

  test('an FSRS schedule reviewed under SM-2-OSR uses its interval and difficulty', () => {
    const fsrsState = reviewSchedule('Good', null, ctx('FSRS'))!;
    const back = reviewSchedule('Good', fsrsState, ctx('SM-2-OSR'));
    expect(back).not.toBeNull();
    expect('algorithm' in back!).toBe(false);
  });

  test('placeholder and FSRS segments in siblings', () => {
    expect(placeholderSegment(250)).toBe('!2000-01-01,1,250');
    const seg = 'fsrs,2023-09-06T00:10:00.000Z,0,0.4,5.5,1,1,0,1,-';
    expect(siblingSchedule({ schedule: null, segment: seg })).toMatchObject({ algorithm: 'FSRS', stability: 0.4 });
    expect(siblingSchedule({ schedule: { due: '2024-01-01', interval: 3, ease: 250 }, segment: '2024-01-01,3,250' })).toEqual({
      due: '2024-01-01',
      interval: 3,
      ease: 250,
    });
    expect(() => resolveSchedulerSettings({ algorithm: 'SM2' as never })).toThrow(/unknown scheduling algorithm/);
  });
});
