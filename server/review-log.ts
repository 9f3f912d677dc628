/**
 * The review log: one JSON line per grade (and per undo) in `<data dir>/reviews.jsonl`. It is what
 * today's session is built from (answered cards, new cards seen, cards to see again), what undo
 * pops, and what the stats count. Appends are serialized; a damaged line is skipped with a warning.
 */
import fs from 'fs';
import path from 'path';
import { randomUUID } from 'crypto';
import { z } from 'zod';

export const GRADES = ['Again', 'Hard', 'Good', 'Easy'] as const;
export type Grade = (typeof GRADES)[number];

const gradeEntrySchema = z.object({
  type: z.literal('grade'),
  id: z.string(),
  /** ISO instant and local day (`YYYY-MM-DD`) of the review. */
  at: z.string(),
  day: z.string(),
  deck: z.string(),
  /** The card (all its siblings) and the item (one sibling) reviewed. */
  card: z.string(),
  item: z.string(),
  sibling: z.number().int(),
  grade: z.enum(GRADES),
  /** The deck file relative to the cards folder, where the card started, and its text hash. */
  file: z.string(),
  line: z.number().int(),
  textHash: z.string(),
  wasNew: z.boolean(),
  previousComment: z.string().nullable(),
  comment: z.string(),
  interval: z.number(),
  ease: z.number().nullable(),
  /** The review session the grade was given in (the page's; undo is per session). */
  session: z.string().optional(),
  /** The client's id for this grade request: a repeat of it is answered with `response`. */
  requestId: z.string().optional(),
  response: z.unknown().optional(),
});
const undoEntrySchema = z.object({ type: z.literal('undo'), id: z.string(), at: z.string() });

export type GradeEntry = z.infer<typeof gradeEntrySchema>;
type LogLine = GradeEntry | z.infer<typeof undoEntrySchema>;

export class ReviewLog {
  readonly file: string;
  /** Grades not undone, oldest first. */
  private grades: GradeEntry[] = [];
  /** Every grade that came with a request id, undone ones included (a late repeat still gets its answer). */
  private byRequestId = new Map<string, GradeEntry>();
  private writing: Promise<void> = Promise.resolve();
  /** Bumped on every change, so that callers can cache what they derive from the log. */
  version = 0;

  constructor(dataDir: string) {
    fs.mkdirSync(dataDir, { recursive: true });
    this.file = path.join(dataDir, 'reviews.jsonl');
    this.load();
  }

  private load(): void {
    if (!fs.existsSync(this.file)) return;
    const undone = new Set<string>();
    const grades: GradeEntry[] = [];
    fs.readFileSync(this.file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (!line.trim()) return;
        let parsed: LogLine | null = null;
        try {
          const json = JSON.parse(line);
          parsed = (json?.type === 'undo' ? undoEntrySchema : gradeEntrySchema).parse(json);
        } catch {
          console.warn(`cardlab: ${this.file}:${i + 1} is not a review log entry; skipped`);
        }
        if (parsed?.type === 'grade') {
          grades.push(parsed);
          if (parsed.requestId) this.byRequestId.set(parsed.requestId, parsed);
        }
        else if (parsed?.type === 'undo') undone.add(parsed.id);
      });
    this.grades = grades.filter((g) => !undone.has(g.id));
  }

  private append(entry: LogLine): Promise<void> {
    const line = JSON.stringify(entry) + '\n';
    // A failed append must not block the ones after it.
    const next = this.writing.catch(() => undefined).then(() => fs.promises.appendFile(this.file, line, 'utf8'));
    this.writing = next;
    return next;
  }

  async addGrade(entry: Omit<GradeEntry, 'type' | 'id'>): Promise<GradeEntry> {
    const full: GradeEntry = { type: 'grade', id: randomUUID(), ...entry };
    this.grades.push(full);
    if (full.requestId) this.byRequestId.set(full.requestId, full);
    this.version++;
    await this.append(full);
    return full;
  }

  /** The latest grade not undone yet; with `session`, that session's. */
  last(session?: string): GradeEntry | undefined {
    if (session === undefined) return this.grades.at(-1);
    for (let i = this.grades.length - 1; i >= 0; i--) if (this.grades[i].session === session) return this.grades[i];
    return undefined;
  }

  /** The grade given for a request id (undone or not), if any. */
  byRequest(requestId: string): GradeEntry | undefined {
    return this.byRequestId.get(requestId);
  }

  async markUndone(entry: GradeEntry): Promise<void> {
    this.grades = this.grades.filter((g) => g.id !== entry.id);
    this.version++;
    await this.append({ type: 'undo', id: entry.id, at: new Date().toISOString() });
  }

  /** Grades not undone, oldest first; optionally one deck's, optionally one day's. */
  entries(filter: { deck?: string; day?: string } = {}): GradeEntry[] {
    return this.grades.filter((g) => (filter.deck === undefined || g.deck === filter.deck) && (filter.day === undefined || g.day === filter.day));
  }

  /** Resolves when every append so far is on disk. */
  flush(): Promise<void> {
    return this.writing;
  }
}
