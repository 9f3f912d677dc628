/**
 * A concurrency limit for live demos: at most `max` cell runs at once, later ones wait in a
 * queue of bounded length (a full queue is refused at once) and leave it if their client goes away.
 */
import { HttpError } from './errors';

interface Waiter {
  start: () => void;
  fail: (err: Error) => void;
}

export class RunSlots {
  private active = 0;
  private waiting: Waiter[] = [];

  constructor(
    readonly max: number,
    readonly queueLimit: number,
  ) {}

  get running(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Throws 503 when the queue is full; call before starting a response. */
  reserve(): void {
    if (this.active >= this.max && this.waiting.length >= this.queueLimit) {
      throw new HttpError(503, `too many demos running (${this.active}) and waiting (${this.waiting.length}); try again shortly`);
    }
  }

  /** Resolves with a release function once a slot is free; rejects if `signal` aborts first. */
  acquire(signal: AbortSignal): Promise<() => void> {
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.active--;
      this.waiting.shift()?.start();
    };
    if (this.active < this.max) {
      this.active++;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          signal.removeEventListener('abort', onAbort);
          this.active++;
          resolve(release);
        },
        fail: reject,
      };
      const onAbort = () => {
        this.waiting = this.waiting.filter((w) => w !== waiter);
        reject(new Error('cancelled while waiting'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }
}
