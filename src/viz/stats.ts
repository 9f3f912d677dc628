/**
 * Plotly figures of the review stats, shared by the web UI's stats page and anyone plotting a
 * deck's schedule: pure functions of the numbers the server's `/api/stats` reports, returning
 * `{ data, layout }`.
 */
import type { PlotlyFigure } from '../cells/display';
import type { ReviewResponse } from '../cards/scheduling/osr';

/** Cards falling due on one day (overdue cards count on the first day). */
export interface DueDay {
  date: string;
  count: number;
}

/** How many cards have one value (an interval in days, or an ease ×100 as the plugin stores it). */
export interface ValueCount {
  value: number;
  count: number;
}

/** The grades given on one day. */
export interface ReviewDay {
  date: string;
  grades: Record<ReviewGrade, number>;
}

export type ReviewGrade = Exclude<ReviewResponse, 'Reset'>;

/** The review buttons in the order the page shows them, each with its colour. */
const GRADE_COLORS: Record<ReviewGrade, string> = { Again: '#cf222e', Hard: '#9a6700', Good: '#1a7f37', Easy: '#0969da' };
const BAR_COLOR = '#0969da';

function bars(x: (number | string)[], y: number[], title: string, xTitle: string, xType?: string): PlotlyFigure {
  return {
    data: [{ type: 'bar', x, y, marker: { color: BAR_COLOR } }],
    layout: {
      title: { text: title },
      xaxis: { title: { text: xTitle }, ...(xType ? { type: xType } : {}) },
      yaxis: { title: { text: 'cards' }, rangemode: 'tozero' },
    },
  };
}

/** Cards due on each of the coming days, one bar per day. */
export function dueForecast(days: DueDay[]): PlotlyFigure {
  return bars(days.map((d) => d.date), days.map((d) => d.count), `Due in the next ${days.length} days`, 'date', 'date');
}

/** How many cards have each interval (days until the next review). */
export function intervalDistribution(intervals: ValueCount[]): PlotlyFigure {
  return bars(intervals.map((i) => i.value), intervals.map((i) => i.count), 'Intervals', 'interval (days)');
}

/** How many cards have each ease; values are ×100 as in the scheduling comments (250 → 2.5). */
export function easeDistribution(eases: ValueCount[]): PlotlyFigure {
  return bars(eases.map((e) => e.value / 100), eases.map((e) => e.count), 'Eases', 'ease');
}

/** Reviews per day, stacked by grade. Days are categories: only days with reviews get a bar. */
export function reviewsPerDay(days: ReviewDay[]): PlotlyFigure {
  const grades = Object.keys(GRADE_COLORS) as ReviewGrade[];
  return {
    data: grades.map((grade) => ({
      type: 'bar',
      name: grade,
      x: days.map((d) => d.date),
      y: days.map((d) => d.grades[grade] ?? 0),
      marker: { color: GRADE_COLORS[grade] },
    })),
    layout: {
      title: { text: 'Reviews per day' },
      barmode: 'stack',
      xaxis: { title: { text: 'date' }, type: 'category' },
      yaxis: { title: { text: 'reviews' }, rangemode: 'tozero' },
    },
  };
}

/** The four figures of the stats page from the stats' numbers. */
export function statsFigures(stats: { forecast: DueDay[]; intervals: ValueCount[]; eases: ValueCount[]; reviewsPerDay: ReviewDay[] }) {
  return {
    forecast: dueForecast(stats.forecast),
    intervals: intervalDistribution(stats.intervals),
    eases: easeDistribution(stats.eases),
    reviews: reviewsPerDay(stats.reviewsPerDay),
  };
}
