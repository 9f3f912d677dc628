/**
 * The coursework database: one SQLite file in the data folder, created on first start and brought
 * up to date by an ordered list of migrations (the file's `PRAGMA user_version` counts those applied).
 */
import fs from 'fs';
import path from 'path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

export const DB_FILE = 'coursework.sqlite';

/** Migration i brings a database from version i to i + 1. Append only: never edit a released one. */
export const MIGRATIONS: ReadonlyArray<(db: Db) => void> = [
  // 1: accounts and sessions (tokens stored as SHA-256 hashes: a stolen file opens no session).
  (db) =>
    db.exec(`
      CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('instructor', 'student')),
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
      );`),
  // 2: submissions and their grades (the report as JSON: the per-cell feedback the student sees).
  (db) =>
    db.exec(`
      CREATE TABLE submissions (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        assignment TEXT NOT NULL,
        notebook TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'grading', 'graded', 'failed')),
        score REAL,
        max_score REAL,
        report TEXT,
        submitted_at TEXT NOT NULL,
        graded_at TEXT
      );
      CREATE INDEX submissions_by_user ON submissions(user_id, assignment);`),
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Applies the migrations a database lacks, each in its own transaction with its version bump. */
export function migrate(db: Db): number {
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > SCHEMA_VERSION) {
    throw new Error(`the coursework database is at version ${from}, newer than this cardlab (${SCHEMA_VERSION}): update cardlab`);
  }
  for (let version = from; version < SCHEMA_VERSION; version++) {
    db.transaction(() => {
      MIGRATIONS[version](db);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
  return from;
}

/** Opens (creating the folder and the file if needed) and migrates the database in `dataDir`. */
export function openDb(dataDir: string): Db {
  fs.mkdirSync(dataDir, { recursive: true });
  const db = new Database(path.join(dataDir, DB_FILE));
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}
