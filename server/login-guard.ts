/**
 * What stands between a password guesser and scrypt:
 *
 *  - per address: after `freeFailures` wrong logins in a row, each further attempt must wait
 *    `baseDelayMs · 2^(n − freeFailures − 1)` (at most `maxDelayMs`) after the last failure; earlier
 *    attempts get 429 with Retry-After and are not checked at all (no scrypt);
 *  - per account: a token bucket of failed checks (`accountFailuresPerMinute`, refilled continuously),
 *    so guesses spread over many addresses are slowed too; a right password from an address that is
 *    not being throttled still gets through while the bucket has tokens;
 *  - scrypt itself (./accounts.ts) runs at most `maxInFlight` at a time, a few more wait, the rest are
 *    refused with 503: the thread pool that also serves file reads is never filled with hashes.
 *
 * State is in memory (a restart forgets it) and bounded: old entries are swept.
 */
export interface LoginGuardOptions {
  freeFailures: number;
  baseDelayMs: number;
  maxDelayMs: number;
  accountFailuresPerMinute: number;
}

export const DEFAULT_LOGIN_GUARD: LoginGuardOptions = {
  freeFailures: 3,
  baseDelayMs: 1000,
  maxDelayMs: 15 * 60_000,
  accountFailuresPerMinute: 10,
};

export type LoginVerdict = { ok: true } | { ok: false; retryAfterMs: number; reason: string };

interface Backoff {
  failures: number;
  lastFailure: number;
}

interface Bucket {
  tokens: number;
  updated: number;
}

const MAX_ENTRIES = 100_000;

export class LoginGuard {
  private readonly addresses = new Map<string, Backoff>();
  private readonly accounts = new Map<string, Bucket>();

  constructor(readonly options: LoginGuardOptions = DEFAULT_LOGIN_GUARD) {}

  private waitFor(b: Backoff | undefined): number {
    if (!b || b.failures < this.options.freeFailures) return 0;
    const n = b.failures - this.options.freeFailures;
    return Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(n, 30));
  }

  private bucket(name: string, now: number): Bucket {
    const perMs = this.options.accountFailuresPerMinute / 60_000;
    const b = this.accounts.get(name) ?? { tokens: this.options.accountFailuresPerMinute, updated: now };
    b.tokens = Math.min(this.options.accountFailuresPerMinute, b.tokens + (now - b.updated) * perMs);
    b.updated = now;
    return b;
  }

  /** May this login be checked now? */
  check(name: string, address: string, now = Date.now()): LoginVerdict {
    const backoff = this.addresses.get(address);
    const wait = backoff ? backoff.lastFailure + this.waitFor(backoff) - now : 0;
    if (wait > 0) {
      return { ok: false, retryAfterMs: wait, reason: `too many wrong logins from your address (${backoff!.failures} in a row)` };
    }
    const bucket = this.bucket(name, now);
    if (bucket.tokens < 1) {
      const perMs = this.options.accountFailuresPerMinute / 60_000;
      return { ok: false, retryAfterMs: Math.ceil((1 - bucket.tokens) / perMs), reason: `too many wrong logins for this account` };
    }
    return { ok: true };
  }

  failed(name: string, address: string, now = Date.now()): void {
    this.sweep(now);
    const backoff = this.addresses.get(address) ?? { failures: 0, lastFailure: now };
    backoff.failures++;
    backoff.lastFailure = now;
    this.addresses.set(address, backoff);
    const bucket = this.bucket(name, now);
    bucket.tokens -= 1;
    this.accounts.set(name, bucket);
  }

  succeeded(name: string, address: string): void {
    this.addresses.delete(address);
    this.accounts.delete(name);
  }

  /** Forgets entries whose penalty has run out, once the maps grow large. */
  private sweep(now: number): void {
    if (this.addresses.size + this.accounts.size < MAX_ENTRIES) return;
    for (const [key, b] of this.addresses) if (now - b.lastFailure > this.waitFor(b) + 60_000) this.addresses.delete(key);
    for (const [key, b] of this.accounts) if (this.bucket(key, now).tokens >= this.options.accountFailuresPerMinute) this.accounts.delete(key);
    // Still too many (a flood of distinct keys): start over rather than grow without bound.
    if (this.addresses.size + this.accounts.size >= MAX_ENTRIES) {
      this.addresses.clear();
      this.accounts.clear();
    }
  }
}
