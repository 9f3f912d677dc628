/**
 * Safe file writes for deck files: one writer at a time per file within this process, and
 * atomic replacement (a temp file in the same directory, flushed, then renamed over the file),
 * so a reader — Obsidian included — sees the old file or the new one, never half of one.
 *
 * Not done: locking against other processes. Obsidian takes no lock to honour, so the writer
 * instead re-reads the file right before replacing it and starts over when it changed.
 */
import { promises as fs, realpathSync } from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';

const queues = new Map<string, Promise<unknown>>();

/**
 * The path a file's queue is keyed by: absolute, symlinks resolved when the file exists.
 * Synchronous, so that tasks join their file's queue in the order they were asked for.
 */
export function canonicalPath(file: string): string {
  const abs = path.resolve(file);
  try {
    return realpathSync(abs);
  } catch {
    return abs;
  }
}

/** Runs `task` after every earlier task on the same file has finished (in-process, FIFO). */
export async function withFileQueue<T>(file: string, task: () => Promise<T>): Promise<T> {
  const key = canonicalPath(file);
  const previous = queues.get(key) ?? Promise.resolve();
  const run = previous.then(task, task);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  queues.set(key, settled);
  try {
    return await run;
  } finally {
    if (queues.get(key) === settled) queues.delete(key);
  }
}

/** Replaces the file's content atomically, keeping its permission bits. */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const target = canonicalPath(file);
  const dir = path.dirname(target);
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let mode: number | undefined;
  try {
    mode = (await fs.stat(target)).mode & 0o7777;
  } catch {
    mode = undefined;
  }
  const handle = await fs.open(tmp, 'wx', mode ?? 0o644);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } catch (err) {
    await handle.close();
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    if (mode !== undefined) await fs.chmod(tmp, mode);
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}
