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
import { isUtf8 } from 'buffer';
import { randomBytes } from 'crypto';

/** A deck file whose bytes are not UTF-8: decoding would turn them into U+FFFD and a write would lose them. */
export class DeckEncodingError extends Error {
  override name = 'DeckEncodingError';
}

/** Offset of the first byte that does not start or continue a well-formed UTF-8 sequence. */
export function firstInvalidUtf8Byte(bytes: Uint8Array): number {
  // Only called once isUtf8 said no: the slow walk finds where, for the message.
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > bytes.length) return i;
    if (!isUtf8(bytes.subarray(i, i + len))) return i;
    i += len;
  }
  return -1;
}

/** The text of deck bytes, or a DeckEncodingError naming the file and the first bad byte (a BOM is kept). */
export function decodeDeck(bytes: Buffer, name: string): string {
  if (!isUtf8(bytes)) {
    throw new DeckEncodingError(
      `${name} is not valid UTF-8 text (invalid byte at offset ${firstInvalidUtf8Byte(bytes)}); nothing was written — convert it to UTF-8 first`,
    );
  }
  return bytes.toString('utf8');
}

/** Reads a deck file as UTF-8, refusing other encodings (see decodeDeck). */
export async function readDeckText(file: string): Promise<string> {
  return decodeDeck(await fs.readFile(file), file);
}

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
