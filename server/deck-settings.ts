/**
 * Per-deck daily limits set in the page (`<data>/deck-settings.json`): new cards and reviews per
 * day. A deck without its own value uses the server's (`--new-per-day`; reviews: no limit). Kept in
 * the data folder, not in the deck files, which stay the plugin's.
 */
import { z } from 'zod';
import { JsonFile } from './json-file';

export const MAX_DAILY_LIMIT = 100_000;
const limit = z.number().int().min(0).max(MAX_DAILY_LIMIT);

/** What a client may set: each field a number, or null for the server's default. */
export const deckLimitsSchema = z.object({ newPerDay: limit.nullable().optional(), reviewsPerDay: limit.nullable().optional() }).strict();
export type DeckLimitsInput = z.infer<typeof deckLimitsSchema>;

const fileSchema = z.object({
  version: z.literal(1),
  decks: z.record(z.string(), z.object({ newPerDay: limit.optional(), reviewsPerDay: limit.optional() })),
});
type SettingsFile = z.infer<typeof fileSchema>;

/** The limits in force for a deck; `own` says which were set for it. */
export interface DeckLimits {
  newPerDay: number;
  /** null: no limit. */
  reviewsPerDay: number | null;
  own: { newPerDay: boolean; reviewsPerDay: boolean };
}

export class DeckSettings {
  private readonly store: JsonFile<SettingsFile>;
  version = 0;

  constructor(dataDir: string, private readonly defaults: { newPerDay: number; reviewsPerDay: number | null }) {
    this.store = new JsonFile(dataDir, 'deck-settings.json', fileSchema, () => ({ version: 1, decks: {} }));
  }

  get file(): string {
    return this.store.file;
  }

  limits(deckId: string): DeckLimits {
    const own = this.store.get().decks[deckId] ?? {};
    return {
      newPerDay: own.newPerDay ?? this.defaults.newPerDay,
      reviewsPerDay: own.reviewsPerDay ?? this.defaults.reviewsPerDay,
      own: { newPerDay: own.newPerDay !== undefined, reviewsPerDay: own.reviewsPerDay !== undefined },
    };
  }

  /** Sets the given fields (null: back to the default); fields not given are kept. */
  async setLimits(deckId: string, input: DeckLimitsInput): Promise<DeckLimits> {
    const file = this.store.get();
    const next = { ...(file.decks[deckId] ?? {}) };
    for (const key of ['newPerDay', 'reviewsPerDay'] as const) {
      const value = input[key];
      if (value === null) delete next[key];
      else if (value !== undefined) next[key] = value;
    }
    const decks = { ...file.decks };
    if (Object.keys(next).length === 0) delete decks[deckId];
    else decks[deckId] = next;
    this.version++;
    await this.store.set({ ...file, decks });
    return this.limits(deckId);
  }
}
