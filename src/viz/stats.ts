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

/**
 * Counts are whole cards: ticks at whole numbers (1, 2, 5 × 10ⁿ apart), never 0.2 of a card.
 */
export function countAxis(title: string, maxCount: number): Record<string, unknown> {
  const raw = Math.max(1, maxCount) / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power);
  return { title: { text: title }, rangemode: 'tozero', tickmode: 'linear', tick0: 0, dtick: step, tickformat: ',d', automargin: true };
}

/** No plotly toolbar (on a phone it covers the title); the page sizes the chart to its box. */
const CONFIG = { displayModeBar: false, responsive: true };
/** The title above, in its own room, so that a legend or the toolbar never covers it. */
const titled = (text: string) => ({ text, x: 0.01, xanchor: 'left', yref: 'container', y: 0.98, yanchor: 'top' });

function bars(x: (number | string)[], y: number[], title: string, xTitle: string, xType?: string): PlotlyFigure {
  return {
    data: [{ type: 'bar', x, y, marker: { color: BAR_COLOR } }],
    layout: {
      title: titled(title),
      margin: { t: 48, r: 16, l: 56, b: 56 },
      xaxis: { title: { text: xTitle }, automargin: true, ...(xType ? { type: xType } : {}) },
      yaxis: countAxis('cards', Math.max(0, ...y)),
    },
    config: CONFIG,
  };
}

/** Cards due on each of the coming days, one bar per day. */
export function dueForecast(days: DueDay[]): PlotlyFigure {
  return bars(days.map((d) => d.date), days.map((d) => d.count), `Due in the next ${days.length} days`, 'date', 'date');
}

/** Interval ranges of the interval chart (upper bound in days, inclusive): a bar per range, not per day. */
export const INTERVAL_BINS: readonly { label: string; upTo: number }[] = [
  { label: '1 d', upTo: 1 },
  { label: '2–3 d', upTo: 3 },
  { label: '4–7 d', upTo: 7 },
  { label: '1–2 wk', upTo: 14 },
  { label: '2–4 wk', upTo: 30 },
  { label: '1–3 mo', upTo: 91 },
  { label: '3–6 mo', upTo: 182 },
  { label: '6–12 mo', upTo: 365 },
  { label: '1–2 y', upTo: 730 },
  { label: '2–5 y', upTo: 1826 },
  { label: '5 y +', upTo: Infinity },
];

/** The bins from the first to the last that holds a card (empty ones between kept, so the scale reads). */
function trimmed<T>(bins: T[], counts: number[]): { bins: T[]; counts: number[] } {
  const first = counts.findIndex((c) => c > 0);
  if (first < 0) return { bins: [], counts: [] };
  let last = counts.length - 1;
  while (counts[last] === 0) last--;
  return { bins: bins.slice(first, last + 1), counts: counts.slice(first, last + 1) };
}

/** Cards per interval range (days until the next review): readable bars even when intervals spread over years. */
export function intervalDistribution(intervals: ValueCount[]): PlotlyFigure {
  const counts = INTERVAL_BINS.map(() => 0);
  for (const { value, count } of intervals) counts[INTERVAL_BINS.findIndex((b) => value <= b.upTo)] += count;
  const t = trimmed(INTERVAL_BINS.map((b) => b.label), counts);
  return bars(t.bins, t.counts, 'Intervals', 'interval', 'category');
}

/** Cards per ease, in steps of 0.1; values are ×100 as in the scheduling comments (250 → 2.5). */
export function easeDistribution(eases: ValueCount[]): PlotlyFigure {
  if (eases.length === 0) return bars([], [], 'Eases', 'ease', 'category');
  const tenths = eases.map((e) => Math.round(e.value / 10));
  const lo = Math.min(...tenths);
  const hi = Math.max(...tenths);
  const counts = new Array<number>(hi - lo + 1).fill(0);
  eases.forEach((e, i) => (counts[tenths[i] - lo] += e.count));
  return bars(counts.map((_c, i) => ((lo + i) / 10).toFixed(1)), counts, 'Eases', 'ease', 'category');
}

/** Reviews per day, stacked by grade. Days are categories: only days with reviews get a bar. */
export function reviewsPerDay(days: ReviewDay[]): PlotlyFigure {
  const grades = Object.keys(GRADE_COLORS) as ReviewGrade[];
  const totals = days.map((d) => grades.reduce((n, g) => n + (d.grades[g] ?? 0), 0));
  return {
    data: grades.map((grade) => ({
      type: 'bar',
      name: grade,
      x: days.map((d) => d.date),
      y: days.map((d) => d.grades[grade] ?? 0),
      marker: { color: GRADE_COLORS[grade] },
    })),
    layout: {
      title: titled('Reviews per day'),
      barmode: 'stack',
      // The legend in a row of its own between the title and the plot: it covers neither.
      legend: { orientation: 'h', x: 0, xanchor: 'left', y: 1.02, yanchor: 'bottom', traceorder: 'normal' },
      margin: { t: 72, r: 16, l: 56, b: 56 },
      xaxis: { title: { text: 'date' }, type: 'category', automargin: true },
      yaxis: countAxis('reviews', Math.max(0, ...totals)),
    },
    config: CONFIG,
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
