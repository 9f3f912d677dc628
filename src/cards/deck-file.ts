/**
 * Safe file writes for deck files: one writer at a time per file within this process, atomic
 * replacement (a temp file in the same directory, flushed, then renamed over the file) so a reader —
 * Obsidian included — sees the old file or the new one, never half of one, and no edit made by
 * another program at the same moment is lost (`replaceFileText`, argued below).
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

// ---------------------------------------------------------------------------------------------
// Replacing a file's text without losing another program's concurrent edits
//
// Other programs (Obsidian, an editor, a script) take no lock, so one cannot be taken against them.
// Instead every write is checked on the inode it replaces:
//
//  1. Open the file and read it through that handle (text T, inode I).
//  2. Compute the new text N from T, write it to a temp file and flush it.
//  3. Pre-check: the path still names I and I still holds exactly T; else drop the temp file, go to 1.
//  4. rename(temp → path).
//  5. Post-check: read I again through the still-open handle. I is no longer reachable by name, so
//     any write that landed in I after step 1 — in the instant between 3 and 4, or from a program
//     that opened the file before 4 and wrote after it — shows here, and nowhere else.
//     Unchanged: done. Changed to T': the other program's edit (T → T') is carried into our view of
//     the file, the new text is computed again from that (our edit re-applied on top of theirs) and
//     written over the live file by the same steps; edits the other program made to the *new* file
//     meanwhile are carried over the same way (what we wrote → what is there now).
//  6. Late check: the handle stays open for LATE_CHECK_MS more and I is read once more; an edit that
//     arrived that late (a program that opened the file before our rename and wrote a little later)
//     is carried into the live file then.
//
// So every byte another program writes lands either in the file we read (caught at 3, 5 or 6 and
// carried over) or in the file we wrote (kept, since the next write starts from it). Carrying uses
// one contiguous change per side (common prefix and suffix); when both sides changed the same place
// the other program's version is saved next to the deck (`<name>.cardlab-conflict-<time>.txt`) and
// the grade is reported as a conflict, so nothing is ever silently dropped. Not covered: a program
// that writes into a file it opened more than LATE_CHECK_MS before our rename, and an editor that
// itself saves by rename in the instant between our steps 3 and 4 (its replaced file is unreachable
// to us; Linux's renameat2(RENAME_EXCHANGE) would close that, Node does not expose it).

/** How long a replaced file is watched for writes that were on their way when it was replaced. */
export const LATE_CHECK_MS = 250;
/** Attempts before giving up on a file that keeps changing (re-applying an edit is cheap: see dependsOnTextBefore). */
const MAX_REPLACE_ATTEMPTS = 50;

/** Identity and state of a file's content as stat reports it (what the server's deck cache compares). */
export interface FileSignature {
  ino: number;
  size: number;
  mtimeMs: number;
}

export interface TextEditResult<R> {
  /** The new text (the same text: nothing is written). */
  text: string;
  result: R;
  /**
   * The edit only depends on the text before this offset: when another program changed the file
   * only after it (an append, say), the same change is re-applied to the new text without calling
   * `edit` again (which may be slow: a parse of the whole file).
   */
  dependsOnTextBefore?: number;
}

export interface Replacement<R> extends TextEditResult<R> {
  /** The written file's signature (null when nothing was written). */
  signature: FileSignature | null;
  /** True when the change was re-applied to text another program had changed (see dependsOnTextBefore). */
  rebased: boolean;
}

async function readAll(handle: fs.FileHandle): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let position = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(Math.max(65536, (await handle.stat()).size - position + 1));
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
    if (bytesRead === 0) break;
    chunks.push(chunk.subarray(0, bytesRead));
    position += bytesRead;
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

/** A change from `from` to `to` as one contiguous replacement (maximal common prefix, then suffix). */
function changeBetween(from: string, to: string): { start: number; end: number; text: string } {
  let start = 0;
  const max = Math.min(from.length, to.length);
  while (start < max && from.charCodeAt(start) === to.charCodeAt(start)) start++;
  let suffix = 0;
  while (suffix < max - start && from.charCodeAt(from.length - 1 - suffix) === to.charCodeAt(to.length - 1 - suffix)) suffix++;
  return { start, end: from.length - suffix, text: to.slice(start, to.length - suffix) };
}

/**
 * `onto` with the change `from → to` applied, where `onto` is `from` with one other change; null when
 * the two changes overlap. Two insertions at the same point (an append on each side) go in the
 * order `samePoint` says: whichever was written first comes first.
 */
export function carryChange(from: string, to: string, onto: string, samePoint: 'to-first' | 'onto-first'): string | null {
  if (to === from) return onto;
  if (onto === from) return to;
  const a = changeBetween(from, to);
  const b = changeBetween(from, onto);
  const samePointInserts = a.start === a.end && b.start === b.end && a.start === b.start;
  const [first, second] = samePointInserts
    ? samePoint === 'to-first'
      ? [a, b]
      : [b, a]
    : a.end <= b.start
      ? [a, b]
      : b.end <= a.start
        ? [b, a]
        : [null, null];
  if (!first || !second) return null;
  return from.slice(0, first.start) + first.text + from.slice(first.end, second.start) + second.text + from.slice(second.end);
}

/** Saves text another program wrote that could not be merged, next to the file; returns its path. */
async function saveConflict(target: string, content: Buffer | string): Promise<string> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = `${target}.cardlab-conflict-${stamp}-${randomBytes(3).toString('hex')}.txt`;
  await fs.writeFile(file, content, { flag: 'wx' });
  return file;
}

async function writeTemp(target: string, content: string, mode: number): Promise<{ tmp: string; signature: FileSignature }> {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.open(tmp, 'wx', mode);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.chmod(mode);
    await handle.sync();
    const st = await handle.stat();
    return { tmp, signature: { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs } };
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  } finally {
    await handle.close();
  }
}

const lateChecks = new Set<Promise<void>>();

/** Resolves when every pending late check (step 6) has run: call before exiting or counting bytes. */
export async function settleFileChecks(): Promise<void> {
  while (lateChecks.size > 0) await Promise.all([...lateChecks]);
}

/** Step 6: `handle` holds the replaced file, which held `seen`; a write that arrives late is carried over. */
function lateCheck(target: string, handle: fs.FileHandle, seen: Buffer): void {
  const check: Promise<void> = new Promise<void>((resolve) => setTimeout(resolve, LATE_CHECK_MS).unref())
    .then(() =>
      withFileQueue(target, async () => {
        const now = await readAll(handle);
        if (now.equals(seen)) return;
        const before = seen.toString('utf8');
        const theirs = now.toString('utf8');
        try {
          await replaceFileText(target, (current) => {
            const merged = carryChange(before, theirs, current, 'to-first'); // theirs reached the old file first
            if (merged === null) throw new Error('their edit overlaps ours');
            return { text: merged, result: undefined };
          });
        } catch (err) {
          const saved = await saveConflict(target, now);
          console.error(`cardlab: an edit made to ${target} in another program as it was replaced could not be merged (${(err as Error).message}); it is saved in ${saved}`);
        }
      }),
    )
    .catch((err) => console.error(`cardlab: checking ${target} after a write failed: ${(err as Error).message}`))
    .finally(() => handle.close());
  lateChecks.add(check);
  void check.finally(() => lateChecks.delete(check));
}

/**
 * Replaces the text of `file` by `edit(current text)`, without losing what other programs write to
 * it meanwhile (see the argument above). `edit` may be called again with a text that holds another
 * program's concurrent edit; when it throws on its first call nothing is written. Call it inside
 * `withFileQueue(file, …)`. Text that is not UTF-8 is refused (DeckEncodingError).
 */
export async function replaceFileText<R>(
  file: string,
  edit: (current: string) => TextEditResult<R> | Promise<TextEditResult<R>>,
): Promise<Replacement<R>> {
  const target = canonicalPath(file);
  // After an edit was caught in a replaced file: what we wrote, and the file as the other program sees it.
  let carried: { wrote: string; theirs: string } | null = null;
  let refused: Error | null = null;
  let last: TextEditResult<R> | null = null;
  // The text `edit` last ran on and what it made of it, to re-apply when the file changed after it.
  let computed: { base: string; next: TextEditResult<R> } | null = null;
  let rebased = false;
  for (let attempt = 0; attempt < MAX_REPLACE_ATTEMPTS; attempt++) {
    const handle = await fs.open(target, 'r');
    let watching = false;
    try {
      const mode = (await handle.stat()).mode & 0o7777;
      const liveBytes = await readAll(handle);
      const live = decodeDeck(liveBytes, file);
      let base = live;
      if (carried) {
        // The live file is what we wrote plus what was written into it since: carry that too.
        const merged = carryChange(carried.wrote, live, carried.theirs, 'onto-first'); // theirs came first
        if (merged === null) {
          const saved = await saveConflict(target, carried.theirs);
          throw new DeckConflictError(`${file} was edited in another program while a grade was written, in a way that cannot be merged; the other program's version is saved in ${saved}`);
        }
        base = merged;
      }
      let next: TextEditResult<R> | null = null;
      rebased = false;
      if (computed && computed.next.dependsOnTextBefore !== undefined && base.startsWith(computed.base.slice(0, computed.next.dependsOnTextBefore))) {
        // Changed only after the part the edit depends on: apply the same change to the new text.
        const text = carryChange(computed.base, computed.next.text, base, 'to-first'); // ours sits right after its card
        if (text !== null) {
          next = { ...computed.next, text };
          rebased = base !== computed.base;
        }
      }
      if (next) {
        // re-applied above
      } else if (carried === null) {
        next = await edit(base); // a refusal here: nothing written
        computed = { base, next };
      } else {
        try {
          next = await edit(base);
          computed = { base, next };
        } catch (err) {
          // Our change no longer applies to their text: write theirs back, report the refusal.
          refused = err as Error;
          next = { text: base, result: last!.result };
        }
      }
      last = next;
      if (next.text === live) {
        if (refused) throw refused;
        return { ...next, signature: null, rebased };
      }
      const { tmp, signature } = await writeTemp(target, next.text, mode);
      let renamed = false;
      try {
        const pathStat = await fs.stat(target);
        const same = pathStat.ino === (await handle.stat()).ino && (await readAll(handle)).equals(liveBytes);
        if (!same) continue; // changed since we read it: start over from the file as it is now
        await fs.rename(tmp, target);
        renamed = true;
      } finally {
        if (!renamed) await fs.rm(tmp, { force: true });
      }
      const orphan = await readAll(handle);
      watching = true;
      lateCheck(target, handle, orphan);
      if (orphan.equals(liveBytes)) {
        if (refused) throw refused;
        return { ...next, signature, rebased };
      }
      // Another program wrote into the file we just replaced: carry its edit into our view and go again.
      const theirs = carryChange(live, orphan.toString('utf8'), base, 'onto-first');
      if (theirs === null) {
        const saved = await saveConflict(target, orphan);
        throw new DeckConflictError(`${file} was edited in another program at the moment a grade was written, in a way that cannot be merged; the other program's version is saved in ${saved}`);
      }
      carried = { wrote: next.text, theirs };
    } finally {
      if (!watching) await handle.close();
    }
  }
  if (carried) {
    const saved = await saveConflict(target, carried.theirs);
    throw new DeckConflictError(`${file} kept changing while a grade was written; the other program's latest version is saved in ${saved}`);
  }
  throw new DeckConflictError(`${file} kept changing while it was being written; nothing was written`);
}

/** Another program's edit and ours could not both be kept in the file (nothing of theirs is lost). */
export class DeckConflictError extends Error {
  override name = 'DeckConflictError';
}
