/**
 * The due-date histogram the plugin load-balances with (`DueDateHistogram`): days from
 * today → number of cards due that day.
 */
export class DueDateHistogram {
  readonly counts = new Map<number, number>();

  constructor(record?: Record<number, number> | null) {
    if (record) for (const [day, count] of Object.entries(record)) this.counts.set(Number(day), count);
  }

  has(days: number): boolean {
    return this.counts.has(days);
  }

  get(days: number): number {
    return this.counts.get(days) ?? 0;
  }

  increment(days: number): void {
    this.counts.set(days, this.get(days) + 1);
  }

  decrement(days: number): void {
    const value = this.get(days);
    if (value > 0) this.counts.set(days, value - 1);
  }

  toRecord(): Record<number, number> {
    return Object.fromEntries(this.counts);
  }

  /**
   * The plugin's `findLeastUsedIntervalOverRange`: a day with no entry wins at once
   * (the original day first, then original−1, original+1, original−2, …); otherwise the
   * strictly least-loaded day seen, earlier candidates winning ties.
   */
  findLeastUsedIntervalOverRange(originalInterval: number, fuzz: number): number {
    if (!this.has(originalInterval)) return originalInterval;
    let interval = originalInterval;
    for (let i = 1; i <= fuzz; i++) {
      for (const candidate of [originalInterval - i, originalInterval + i]) {
        if (!this.has(candidate)) return candidate;
        if (this.get(candidate) < this.get(interval)) interval = candidate;
      }
    }
    return interval;
  }
}
