/**
 * The decks in the cards folder, parsed with the card parser and kept up to date: a change on disk
 * (an edit in Obsidian, a grade) is seen on the next request. Each folder holding decks is watched
 * (a changed deck file is re-read alone); a full listing with a stat of every file also runs every
 * few seconds for what watchers miss. A file that cannot be read or parsed is kept as an error for
 * that file only; the other decks are served as usual.
 */
import fs from 'fs';
import path from 'path';
import type { Card, Note } from '../src/cards/model';
import { parseNote } from '../src/cards/note';
import { listMarkdownFiles, type ReviewSettings } from '../src/cards/review';
import { siblingSchedule } from '../src/cards/scheduling/scheduler';
import type { QueueItem } from './queue';

/** One sibling of one card of a deck, ready for the queue. */
export interface DeckItem extends QueueItem {
  deckId: string;
  card: Card;
  sibling: number;
}

export interface Deck {
  /** The file's path relative to the cards folder, without `.md`, with `/` separators. */
  id: string;
  name: string;
  /** Absolute path of the file. */
  file: string;
  /** Relative path with extension (what card keys start with). */
  relPath: string;
  note: Note | null;
  items: DeckItem[];
  /** Why the file could not be used, or null. */
  error: string | null;
}

/** Deck files above this size are refused (a deck is text written by hand). */
export const MAX_DECK_BYTES = 32 * 1024 * 1024;

interface Signature {
  mtimeMs: number;
  size: number;
  ino: number;
}

const sameSignature = (a: Signature, b: Signature) => a.mtimeMs === b.mtimeMs && a.size === b.size && a.ino === b.ino;

export class DeckStore {
  private decks = new Map<string, Deck & { signature: Signature }>();
  /** One non-recursive watcher per folder holding decks (Node 20's recursive watch puts one on every
   *  file, .obsidian/ included, and stats synchronously on each event). */
  private watchers = new Map<string, fs.FSWatcher>();
  private dirty = true;
  /** Deck files to re-read on the next request (a watch event named them, or the server wrote them). */
  private pending = new Set<string>();
  private lastScan = 0;
  private scanning: Promise<void> | null = null;
  /** Bumped whenever a deck is added, changed or removed. */
  version = 0;

  /**
   * `rescanMs`: how often the folder is listed and every file stat'ed anyway (changes the watchers
   * miss: a new subfolder's first deck, file systems without inotify); slower while watchers run.
   */
  constructor(
    readonly dir: string,
    readonly settings: ReviewSettings = {},
    private readonly rescanMs = { watched: 5000, unwatched: 1000 },
  ) {}

  close(): void {
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  /** Watches exactly `folders` (the cards folder and those holding decks). */
  private watchFolders(folders: Set<string>): void {
    for (const [folder, watcher] of this.watchers) {
      if (!folders.has(folder)) {
        watcher.close();
        this.watchers.delete(folder);
      }
    }
    for (const folder of folders) {
      if (this.watchers.has(folder)) continue;
      try {
        const watcher = fs.watch(folder, (_event, name) => this.changed(folder, name === null ? null : String(name)));
        watcher.on('error', () => {
          // The folder went away or cannot be watched: the next scan sorts it out.
          watcher.close();
          this.watchers.delete(folder);
          this.dirty = true;
        });
        this.watchers.set(folder, watcher);
      } catch {
        // Not watchable: the periodic scan covers it.
      }
    }
  }

  /** A watch event: a deck file is re-read alone; temp and dot files are ignored; anything else rescans. */
  private changed(folder: string, name: string | null): void {
    if (name === null) {
      this.dirty = true;
      return;
    }
    if (name.startsWith('.') || name === 'node_modules') return;
    if (/\.md$/i.test(name)) this.pending.add(path.join(folder, name));
    else this.dirty = true;
  }

  /** Marks one deck file stale (after a write the server made itself). */
  invalidate(file?: string): void {
    if (file) this.pending.add(path.resolve(file));
    else this.dirty = true;
  }

  /**
   * A deck file the server has just written, with the note the writer already holds for its new
   * text and the signature of what it wrote: no need to read and parse it again. A file that has
   * changed since (its signature differs) is re-read on the next refresh as usual.
   */
  accept(file: string, note: Note, signature: Signature): void {
    const relPath = path.relative(this.dir, file).split(path.sep).join('/');
    const id = relPath.replace(/\.md$/i, '');
    const known = this.decks.get(id);
    if (!known || known.file !== file || note.path !== relPath) return this.invalidate(file);
    this.decks.set(id, { ...known, name: note.title, note, items: itemsOf(id, note, known.items), error: null, signature });
    this.version++;
  }

  /** Brings the decks up to date with the files, if they may have changed. */
  async refresh(): Promise<void> {
    const every = this.watchers.size > 0 ? this.rescanMs.watched : this.rescanMs.unwatched;
    const full = this.dirty || Date.now() - this.lastScan >= every;
    if (!full && this.pending.size === 0) return;
    while (this.scanning) await this.scanning;
    if (!full && this.pending.size === 0) return;
    this.scanning = (full ? this.scan() : this.reloadPending()).finally(() => {
      this.scanning = null;
    });
    await this.scanning;
  }

  private async scan(): Promise<void> {
    this.dirty = false;
    this.pending.clear();
    this.lastScan = Date.now();
    if (!fs.existsSync(this.dir)) {
      // No cards folder (yet): no decks, and the server keeps running.
      if (this.decks.size > 0) this.version++;
      this.decks.clear();
      this.close();
      return;
    }
    const files = await listMarkdownFiles(this.dir);
    this.watchFolders(new Set([this.dir, ...files.map((f) => path.dirname(f))]));
    const seen = new Set<string>();
    for (const file of files) seen.add(await this.update(file));
    for (const id of [...this.decks.keys()]) {
      if (!seen.has(id)) {
        this.decks.delete(id);
        this.version++;
      }
    }
  }

  private async reloadPending(): Promise<void> {
    const files = [...this.pending];
    this.pending.clear();
    for (const file of files) await this.update(file);
  }

  /** Re-reads one file if its signature changed (or drops it if it is gone); returns its deck id. */
  private async update(file: string): Promise<string> {
    const relPath = path.relative(this.dir, file).split(path.sep).join('/');
    const id = relPath.replace(/\.md$/i, '');
    let signature: Signature;
    try {
      const stat = await fs.promises.stat(file);
      if (!stat.isFile()) throw new Error('not a file');
      signature = { mtimeMs: stat.mtimeMs, size: stat.size, ino: stat.ino };
    } catch {
      if (this.decks.delete(id)) this.version++;
      return id;
    }
    const known = this.decks.get(id);
    if (known && sameSignature(known.signature, signature)) return id;
    this.decks.set(id, { ...(await this.load(file, relPath, id, signature.size)), signature });
    this.version++;
    return id;
  }

  private async load(file: string, relPath: string, id: string, size: number): Promise<Deck> {
    const base = { id, name: id.split('/').pop()!, file, relPath, note: null, items: [] as DeckItem[] };
    if (size > MAX_DECK_BYTES) return { ...base, error: `${relPath} is larger than ${MAX_DECK_BYTES} bytes; not loaded` };
    try {
      const bytes = await fs.promises.readFile(file);
      const text = bytes.toString('utf8');
      if (text.includes('\uFFFD') && !bytes.includes(Buffer.from('\uFFFD'))) {
        return { ...base, error: `${relPath} is not valid UTF-8 text; not loaded` };
      }
      const note = parseNote(text, { ...this.settings, path: relPath });
      return { ...base, name: note.title, note, items: itemsOf(id, note), error: null };
    } catch (err) {
      return { ...base, error: `${relPath}: ${(err as Error).message}` };
    }
  }

  /** Decks in path order; a file that is not a flashcard note (no deck tag, no error) is left out. */
  list(): Deck[] {
    return [...this.decks.values()]
      .filter((d) => d.error !== null || d.note?.isDeck)
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  get(id: string): Deck | undefined {
    const deck = this.decks.get(id);
    return deck && (deck.error !== null || deck.note?.isDeck) ? deck : undefined;
  }

  /** Every parsed note (for load balancing, which counts the whole vault, and for cell links). */
  notes(): Note[] {
    return [...this.decks.values()].flatMap((d) => (d.note ? [d.note] : []));
  }
}

/** The reviewable siblings of a note's deck cards, in file order. */
function itemsOf(deckId: string, note: Note, previous: readonly DeckItem[] = []): DeckItem[] {
  const items: DeckItem[] = [];
  let at = 0; // previous items are in card order too: the same card object keeps its items
  for (const card of note.cards) {
    if (card.decks.length === 0) continue; // outside any flashcard deck: the plugin skips it too
    if (previous[at]?.card === card) {
      while (previous[at]?.card === card) items.push(previous[at++]);
      continue;
    }
    // A new object for the card at this place (the graded one, or shifted): skip its old items.
    const old = previous[at]?.card;
    if (old && old.id === card.id) {
      // Only moved (same siblings, same schedules): its items with the new card object, nothing recomputed.
      const moved = old.siblings === card.siblings;
      for (; previous[at]?.card === old; at++) {
        const p = previous[at];
        if (moved) items.push({ key: p.key, cardKey: p.cardKey, deckId, card, sibling: p.sibling, schedule: p.schedule });
      }
      if (moved) continue;
    }
    for (const sibling of card.siblings) {
      items.push({
        key: `${card.id}/${sibling.index}`,
        cardKey: card.id,
        deckId,
        card,
        sibling: sibling.index,
        schedule: siblingSchedule(sibling),
      });
    }
  }
  return items;
}
