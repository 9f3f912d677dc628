/**
 * Coursework accounts: scrypt password hashes (random salt, constant-time check) and sessions whose
 * random token is given to the browser once and kept in the database only as a SHA-256 hash.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'crypto';
import type { Db } from './db';

export const ROLES = ['instructor', 'student'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  id: number;
  name: string;
  role: Role;
}

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 64 };
export const SESSION_DAYS = 14;
export const MIN_PASSWORD_LENGTH = 8;
/** Login names: safe in URLs, CSV cells and file names. */
export const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

/**
 * scrypt runs on libuv's thread pool, which also serves file reads: a login flood must not fill it.
 * At most SCRYPT_IN_FLIGHT hashes run at once and SCRYPT_PER_SECOND start per second; SCRYPT_WAITING
 * more wait, the rest are refused (PasswordCheckBusyError: 503 with Retry-After).
 */
export const SCRYPT_IN_FLIGHT = 1;
export const SCRYPT_WAITING = 8;
/** And at most this many start per second (each takes a core for ~50 ms): the rest of the server keeps its CPU. */
export const SCRYPT_PER_SECOND = 5;

export class PasswordCheckBusyError extends Error {
  override name = 'PasswordCheckBusyError';
}

const scryptSlots = { running: 0, waiting: [] as Array<() => void>, maxRunning: 0, starts: [] as number[] };

/** Milliseconds until another scrypt may start under SCRYPT_PER_SECOND (0: now). */
function rateWait(now: number): number {
  while (scryptSlots.starts.length > 0 && now - scryptSlots.starts[0] >= 1000) scryptSlots.starts.shift();
  return scryptSlots.starts.length < SCRYPT_PER_SECOND ? 0 : scryptSlots.starts[0] + 1000 - now;
}

/** How many scrypt jobs ran at once at most (for tests and diagnostics). */
export function scryptHighWater(reset = false): number {
  const high = scryptSlots.maxRunning;
  if (reset) scryptSlots.maxRunning = scryptSlots.running;
  return high;
}

async function scryptAsync(password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number }): Promise<Buffer> {
  if (scryptSlots.running >= SCRYPT_IN_FLIGHT) {
    if (scryptSlots.waiting.length >= SCRYPT_WAITING) throw new PasswordCheckBusyError('too many logins are being checked right now; try again in a second');
    await new Promise<void>((resolve) => scryptSlots.waiting.push(resolve));
  }
  scryptSlots.running++;
  scryptSlots.maxRunning = Math.max(scryptSlots.maxRunning, scryptSlots.running);
  for (let wait = rateWait(Date.now()); wait > 0; wait = rateWait(Date.now())) await new Promise((resolve) => setTimeout(resolve, wait));
  scryptSlots.starts.push(Date.now());
  try {
    return await new Promise((resolve, reject) => scrypt(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));
  } finally {
    scryptSlots.running--;
    scryptSlots.waiting.shift()?.();
  }
}

/** `scrypt$N$r$p$salt$hash` (base64): the parameters travel with the hash so they can be raised later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT.keylen, SCRYPT);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await scryptAsync(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return timingSafeEqual(key, expected);
}

/** A hash of nothing anyone can type: unknown names cost as much time as wrong passwords. */
let dummyHash: Promise<string> | null = null;

export class DuplicateUserError extends Error {}

export class Accounts {
  constructor(private readonly db: Db) {}

  async createUser(name: string, role: Role, password: string): Promise<User> {
    if (!USER_NAME.test(name)) throw new Error(`the name "${name}" is not allowed: letters, digits, _ . @ - (at most 64, starting with a letter or digit)`);
    if (password.length < MIN_PASSWORD_LENGTH) throw new Error(`a password needs at least ${MIN_PASSWORD_LENGTH} characters`);
    const hash = await hashPassword(password);
    try {
      const info = this.db
        .prepare('INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)')
        .run(name, role, hash, new Date().toISOString());
      return { id: Number(info.lastInsertRowid), name, role };
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new DuplicateUserError(`a user named "${name}" already exists`);
      throw err;
    }
  }

  users(): User[] {
    return this.db.prepare('SELECT id, name, role FROM users ORDER BY role, name').all() as User[];
  }

  /** The user when the password is right, else null (same work either way). */
  async authenticate(name: string, password: string): Promise<User | null> {
    const row = this.db.prepare('SELECT id, name, role, password_hash AS hash FROM users WHERE name = ?').get(name) as (User & { hash: string }) | undefined;
    if (!row) {
      await verifyPassword(password, await (dummyHash ??= hashPassword(randomBytes(16).toString('hex'))));
      return null;
    }
    return (await verifyPassword(password, row.hash)) ? { id: row.id, name: row.name, role: row.role } : null;
  }

  /** A new session for `user`: the token to put in the cookie (only its hash is stored). */
  startSession(user: User, now = new Date()): string {
    const token = randomBytes(32).toString('base64url');
    const expires = new Date(now.getTime() + SESSION_DAYS * 86_400_000);
    this.db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(now.toISOString());
    this.db.prepare('INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)').run(tokenHash(token), user.id, now.toISOString(), expires.toISOString());
    return token;
  }

  sessionUser(token: string, now = new Date()): User | null {
    const row = this.db
      .prepare('SELECT u.id, u.name, u.role FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND s.expires_at > ?')
      .get(tokenHash(token), now.toISOString()) as User | undefined;
    return row ?? null;
  }

  endSession(token: string): void {
    this.db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(tokenHash(token));
  }
}

function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
