/**
 * Buried and suspended cards, kept in the data folder (`<data>/card-flags.json`) keyed by the card
 * id the API uses (`<file>#<text hash>:<n>/<sibling>`), never in the deck files: the markdown stays
 * exactly what the Obsidian plugin reads and writes. A buried card is out of the queue for the day it
 * was buried on; a suspended one until it is unsuspended. An edit to the card's text changes its id,
 * which lets it back in, as Anki does for a changed note.
 */
import { z } from 'zod';
import { JsonFile } from './json-file';

const flagsSchema = z.object({
  version: z.literal(1),
  /** Card id → the day (`YYYY-MM-DD`) it is buried for. */
  buried: z.record(z.string(), z.string()),
  /** Card id → when it was suspended (ISO instant). */
  suspended: z.record(z.string(), z.string()),
});
type Flags = z.infer<typeof flagsSchema>;

export class CardFlags {
  private readonly store: JsonFile<Flags>;
  /** Bumped on every change, for caches derived from the flags. */
  version = 0;

  constructor(dataDir: string) {
    this.store = new JsonFile(dataDir, 'card-flags.json', flagsSchema, () => ({ version: 1, buried: {}, suspended: {} }));
  }

  get file(): string {
    return this.store.file;
  }

  isSuspended(id: string): boolean {
    return Object.hasOwn(this.store.get().suspended, id);
  }

  isBuried(id: string, day: string): boolean {
    return this.store.get().buried[id] === day;
  }

  /** Out of today's queue (buried today, or suspended). */
  isHidden(id: string, day: string): boolean {
    return this.isSuspended(id) || this.isBuried(id, day);
  }

  async bury(id: string, day: string): Promise<void> {
    const flags = this.store.get();
    // Burials of past days are dropped on the way: they no longer hide anything.
    const buried = Object.fromEntries(Object.entries(flags.buried).filter(([, d]) => d >= day));
    buried[id] = day;
    await this.change({ ...flags, buried });
  }

  async unbury(id: string): Promise<void> {
    const { [id]: _gone, ...buried } = this.store.get().buried;
    await this.change({ ...this.store.get(), buried });
  }

  async setSuspended(id: string, suspended: boolean, at = new Date()): Promise<void> {
    const { [id]: _gone, ...rest } = this.store.get().suspended;
    await this.change({ ...this.store.get(), suspended: suspended ? { ...rest, [id]: at.toISOString() } : rest });
  }

  private change(flags: Flags): Promise<void> {
    this.version++;
    return this.store.set(flags);
  }
}
