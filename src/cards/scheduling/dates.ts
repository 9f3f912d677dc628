/**
 * Calendar dates as the Obsidian Spaced Repetition plugin handles them: moment.js in the
 * local time zone, days starting at local midnight, due dates written `YYYY-MM-DD`.
 * Plain `Date` objects here stand in for the plugin's moments.
 */

/** Milliseconds in a day, the plugin's `TICKS_PER_DAY`. */
export const DAY_MS = 24 * 3600 * 1000;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

function localDate(year: number, month: number, day: number): Date | null {
  const date = new Date(year, month - 1, day);
  // Reject dates that roll over (2024-02-31), which moment also marks invalid.
  if (date.getFullYear() !== year || date.getMonth() !== month - 1 || date.getDate() !== day) return null;
  return date;
}

/**
 * A due date as the plugin reads it (`DateUtil.dateStrToMoment`): `YYYY-MM-DD`, `DD-MM-YYYY`
 * or `ddd MMM DD YYYY`, at local midnight. Null when it is none of these.
 */
export function parsePluginDate(text: string): Date | null {
  const s = text.trim();
  let m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(s);
  if (m) return localDate(Number(m[1]), Number(m[2]), Number(m[3]));
  m = /^(\d{1,2})-(\d{1,2})-(\d{4})$/.exec(s);
  if (m) return localDate(Number(m[3]), Number(m[2]), Number(m[1]));
  m = /^[A-Za-z]{3} ([A-Za-z]{3}) (\d{1,2}) (\d{4})$/.exec(s);
  if (m) {
    const month = MONTHS.indexOf(m[1].toLowerCase());
    if (month >= 0) return localDate(Number(m[3]), month + 1, Number(m[2]));
  }
  return null;
}

/** `YYYY-MM-DD` of the local calendar day (the plugin's `PREFERRED_DATE_FORMAT`). */
export function formatYmd(date: Date): string {
  const y = String(date.getFullYear()).padStart(4, '0');
  const mo = String(date.getMonth() + 1).padStart(2, '0');
  const d = String(date.getDate()).padStart(2, '0');
  return `${y}-${mo}-${d}`;
}

/** Local midnight of the day `date` falls on (`moment().startOf("day")`). */
export function startOfDay(date: Date): Date {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate());
}

/**
 * `moment(date).add(days, "d")`: moment rounds a fractional day count half away from zero
 * and keeps the local time of day across daylight-saving changes.
 */
export function addDays(date: Date, days: number): Date {
  const whole = days < 0 ? -Math.round(-days) : Math.round(days);
  const result = new Date(date.getTime());
  result.setDate(result.getDate() + whole);
  return result;
}

/** Whole calendar days from `from` to `to` (both taken at their local day), DST-proof. */
export function calendarDaysBetween(from: Date, to: Date): number {
  const a = Date.UTC(from.getFullYear(), from.getMonth(), from.getDate());
  const b = Date.UTC(to.getFullYear(), to.getMonth(), to.getDate());
  return Math.round((b - a) / DAY_MS);
}

/** Parse a `--date YYYY-MM-DD` style argument strictly, with a clear error. */
export function parseReviewDate(text: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  const date = m ? localDate(Number(m[1]), Number(m[2]), Number(m[3])) : null;
  if (!date) throw new Error(`invalid date "${text}": expected YYYY-MM-DD`);
  return date;
}
