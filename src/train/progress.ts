/**
 * Training progress on stderr: a redrawn bar when stderr is a terminal (or the
 * bar is forced), plain lines every few seconds otherwise (CI logs, pipes), so a
 * user always sees that a long run is moving.
 */

export type ProgressMode = 'bar' | 'lines' | 'off';
export const PROGRESS_MODES: readonly ProgressMode[] = ['bar', 'lines', 'off'];
/** Environment variable that forces a mode when none is asked for explicitly. */
export const PROGRESS_ENV = 'CARDLAB_PROGRESS';

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** `auto` means: $CARDLAB_PROGRESS if set, else a bar on a terminal and lines elsewhere. */
export function chooseProgressMode(requested: ProgressMode | 'auto', stream: ProgressStream): ProgressMode {
  if (requested !== 'auto') return requested;
  const forced = process.env[PROGRESS_ENV]?.trim();
  if (forced) {
    if (!(PROGRESS_MODES as readonly string[]).includes(forced)) {
      throw new Error(`${PROGRESS_ENV}=${forced} is not one of ${PROGRESS_MODES.join(', ')}`);
    }
    return forced as ProgressMode;
  }
  return stream.isTTY ? 'bar' : 'lines';
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export interface ProgressOptions {
  mode: ProgressMode;
  stream?: ProgressStream;
  /** Lines mode: at most one line per interval. */
  intervalMs?: number;
  /** Bar mode: redraw at most this often. */
  redrawMs?: number;
  barWidth?: number;
  now?: () => number;
}

export class ProgressReporter {
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  private epoch = 0;
  private epochs = 0;
  private steps = 0;
  private startedAt = 0;
  private lastWrite = 0;
  private drawn = false;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.now = options.now ?? Date.now;
  }

  startEpoch(epoch: number, epochs: number, steps: number): void {
    Object.assign(this, { epoch, epochs, steps, startedAt: this.now(), lastWrite: this.now() });
  }

  /** After `step` of the epoch's steps (1-based), with the running mean loss and accuracy. */
  update(step: number, loss: number, accuracy: number): void {
    const { mode } = this.options;
    if (mode === 'off') return;
    const now = this.now();
    const last = step === this.steps;
    const every = mode === 'bar' ? this.options.redrawMs ?? 100 : this.options.intervalMs ?? 10000;
    if (!last && now - this.lastWrite < every) return;
    if (mode === 'lines' && last) return; // the epoch summary follows
    this.lastWrite = now;
    const elapsed = (now - this.startedAt) / 1000;
    const left = (elapsed / step) * (this.steps - step);
    const head = `epoch ${this.epoch + 1}/${this.epochs}`;
    const tail = `loss ${loss.toFixed(4)} acc ${(accuracy * 100).toFixed(1)}% ${formatDuration(elapsed)} (~${formatDuration(left)} left)`;
    if (mode === 'bar') {
      const width = this.options.barWidth ?? 30;
      const filled = Math.round((width * step) / this.steps);
      const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? (last ? '=' : '>') : '') + ' '.repeat(width - filled);
      this.stream.write(`\r${head} [${bar}] ${step}/${this.steps} ${tail}\x1b[K`);
      this.drawn = true;
    } else {
      const percent = Math.floor((100 * step) / this.steps);
      this.stream.write(`${head} step ${step}/${this.steps} (${percent}%) ${tail}\n`);
    }
  }

  /** Ends the bar's line so that what follows starts on a fresh one. */
  endEpoch(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
