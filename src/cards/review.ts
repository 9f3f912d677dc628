/**
 * Grading a card in its deck file: find the card, schedule the sibling (SM-2-OSR or FSRS, as the
 * plugin's review sequencer does), write the new `<!--SR:` comment back, safely:
 *
 *  - one grade at a time per file (in-process queue), atomic replace (temp file + rename);
 *  - the card is located by its start line and re-checked against its text; if the file changed
 *    (edited in Obsidian), the card is found again by its text — or the grade is refused when that
 *    text is gone or ambiguous (two identical cards: never the wrong one, the plugin's bug #993);
 *  - the new text is re-parsed before it is written: same cards, the schedule where it belongs,
 *    every other card's schedule unchanged, exactly one comment more or the same number;
 *  - the file is replaced so that no edit another program makes meanwhile is lost (deck-file.ts,
 *    replaceFileText): a change seen before the rename starts the grade over on the new text, one that
 *    slipped into the replaced file is carried into the new one.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import type { Card, CardSettings, Note } from './model';
import { parseNote, type ParseNoteOptions } from './note';
import { canonicalPath, readDeckText, replaceFileText, withFileQueue, type FileSignature } from './deck-file';
import { patchNoteAfterCommentEdit } from './note-patch';
import { calendarDaysBetween, DAY_MS, parsePluginDate, startOfDay } from './scheduling/dates';
import { difficultyToEase, isFsrsSchedule } from './scheduling/fsrs';
import { DueDateHistogram } from './scheduling/histogram';
import { flashcardAverageEase, flashcardAverageEaseOfSum, noteEase, toReviewResponse, type ReviewResponse } from './scheduling/osr';
import {
  formatSegment,
  resolveSchedulerSettings,
  reviewSchedule,
  scheduleDueTime,
  siblingSchedule,
  type SchedulerSettings,
  type SiblingSchedule,
} from './scheduling/scheduler';
import { lineOffset, WriteBackError, writeScheduleIntoText } from './write';

/** The plugin settings a review reads (parser options, flashcard tags, placement, scheduler). */
export type ReviewSettings = Partial<CardSettings> & { fsrsDesiredRetention?: number };

export class CardNotFoundError extends Error {
  override name = 'CardNotFoundError';
}

function parseOptions(file: string, settings: ReviewSettings): ParseNoteOptions {
  return { ...settings, path: file };
}

// ---------------------------------------------------------------------------------------------
// Locating a card

export interface CardLocator {
  /** The line the card's source starts on (0-based). */
  line: number;
  /** The card's `textHash` as last seen: when the card is no longer at `line`, it is found again by it. */
  textHash?: string;
}

/**
 * The card the locator names. Without a hash: the card starting on `line` (or, failing that, the
 * one whose plugin `firstLineNum` is `line`). With a hash: that card if its text is unchanged, else
 * the only card with that text anywhere in the note; none or several is an error, never a guess.
 */
/** The card starting on `line`: a binary search, as cards are in file order (their starts increase). */
export function cardStartingOn(cards: readonly Card[], line: number): Card | undefined {
  let [lo, hi] = [0, cards.length];
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cards[mid].range.start < line) lo = mid + 1;
    else hi = mid;
  }
  const found = cards[lo]?.range.start === line ? cards[lo] : undefined;
  return found ?? cards.find((c) => c.range.start === line); // not found: make sure by the full search
}

export function locateCard(note: Note, locator: CardLocator): Card {
  const atLine =
    cardStartingOn(note.cards, locator.line) ??
    (() => {
      const byPluginLine = note.cards.filter((c) => c.parsed.firstLineNum === locator.line);
      return byPluginLine.length === 1 ? byPluginLine[0] : undefined;
    })();
  if (locator.textHash === undefined) {
    if (atLine) return atLine;
    const starts = note.cards.map((c) => c.range.start);
    throw new CardNotFoundError(
      `no card starts on line ${locator.line} of ${note.path}` +
        (starts.length ? ` (cards start on lines ${starts.join(', ')})` : ' (the note has no cards)'),
    );
  }
  if (atLine && atLine.textHash === locator.textHash) return atLine;
  const sameText = note.cards.filter((c) => c.textHash === locator.textHash);
  if (sameText.length === 1) return sameText[0];
  if (sameText.length === 0) {
    throw new CardNotFoundError(
      `the card that was on line ${locator.line} of ${note.path} is gone (its text was edited or removed); nothing was written`,
    );
  }
  throw new CardNotFoundError(
    `the card that was on line ${locator.line} of ${note.path} moved, and ${sameText.length} cards have its text ` +
      `(lines ${sameText.map((c) => c.range.start).join(', ')}); reload the file and grade again — nothing was written`,
  );
}

// ---------------------------------------------------------------------------------------------
// What the scheduler needs from the vault

/** Days from `now` to the schedule's due date, as the plugin's `CardDueDateHistogram` counts. */
export function daysUntilDue(schedule: SiblingSchedule, now: Date): number {
  if (isFsrsSchedule(schedule)) return Math.ceil((scheduleDueTime(schedule) - now.getTime()) / DAY_MS);
  const due = parsePluginDate(schedule.due);
  return due ? calendarDaysBetween(now, due) : NaN;
}

/** Every reviewed sibling of every deck card in `notes`, by days until due (the plugin's card histogram). */
export function dueDateHistogram(notes: readonly Note[], now: Date): DueDateHistogram {
  const histogram = new DueDateHistogram();
  for (const note of notes) {
    for (const card of note.cards) {
      if (card.decks.length === 0) continue;
      for (const sibling of card.siblings) {
        const schedule = siblingSchedule(sibling);
        if (!schedule) continue;
        const days = daysUntilDue(schedule, now);
        if (Number.isFinite(days)) histogram.increment(days);
      }
    }
  }
  return histogram;
}

/** The eases of a card's reviewed siblings, in sibling order. */
function cardEases(card: Card): number[] {
  const eases: number[] = [];
  for (const sibling of card.siblings) {
    const s = siblingSchedule(sibling);
    if (s) eases.push(isFsrsSchedule(s) ? difficultyToEase(s.difficulty) : s.ease);
  }
  return eases;
}

/**
 * Per note: the sum and count of its siblings' eases, kept only while every ease is a whole number
 * (null otherwise). Whole numbers add up exactly in any order, so a grade can carry the sum to the
 * next note by the one card it changed and the result is the very number a full pass gives.
 */
const easeTotals = new WeakMap<Note, { sum: number; count: number } | null>();
const isWhole = (eases: number[]) => eases.every((e) => Number.isInteger(e));

function easeTotalsOf(note: Note): { sum: number; count: number } | null {
  let totals = easeTotals.get(note);
  if (totals === undefined) {
    const all = note.cards.flatMap(cardEases);
    totals = isWhole(all) ? { sum: all.reduce((a, b) => a + b, 0), count: all.length } : null;
    easeTotals.set(note, totals);
  }
  return totals;
}

/** `after` is `before` with only `oldCard` replaced by `newCard` (checked by verifyNewText). */
function carryEaseTotals(before: Note, after: Note, oldCard: Card, newCard: Card): void {
  const totals = easeTotalsOf(before);
  const [removed, added] = [cardEases(oldCard), cardEases(newCard)];
  const exact = totals !== null && isWhole(added);
  easeTotals.set(
    after,
    exact ? { sum: totals.sum - removed.reduce((a, b) => a + b, 0) + added.reduce((a, b) => a + b, 0), count: totals.count - removed.length + added.length } : null,
  );
}

/** The note's ease for a new card (the plugin's `noteOnLoadedNote`): its cards' average with its `sr-ease`. */
export function noteEaseOf(note: Note, baseEase: number): number | null {
  const totals = easeTotalsOf(note);
  const average = totals ? flashcardAverageEaseOfSum(totals.sum, totals.count, baseEase) : flashcardAverageEase(note.cards.flatMap(cardEases), baseEase);
  return noteEase(average, note.schedule?.ease ?? null);
}

/**
 * Markdown files in `dir`, sorted; with `recursive`, in its subfolders too (dot folders such as
 * `.obsidian`, and node_modules, skipped). Folders that cannot be read are skipped.
 */
export async function listMarkdownFiles(dir: string, recursive = true): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string, top: boolean): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(d, { withFileTypes: true });
    } catch (err) {
      if (top) throw new Error(`cannot read folder ${d}: ${(err as Error).message}`);
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const p = path.join(d, e.name);
      if (e.isDirectory() && recursive) await walk(p, false);
      else if (e.isFile() && e.name.toLowerCase().endsWith('.md')) out.push(p);
    }
  }
  await walk(dir, true);
  return out.sort();
}

/**
 * The vault a deck file belongs to, as the plugin would see it: the nearest folder above it with an
 * `.obsidian` folder (searched recursively); without one, the file's own folder (not its subfolders).
 */
export async function findVault(file: string): Promise<{ dir: string; recursive: boolean }> {
  const own = path.dirname(path.resolve(file));
  for (let dir = own; ; dir = path.dirname(dir)) {
    try {
      if ((await fs.stat(path.join(dir, '.obsidian'))).isDirectory()) return { dir, recursive: true };
    } catch {
      // not here
    }
    if (path.dirname(dir) === dir) return { dir: own, recursive: false };
  }
}

/** Parses every deck in `dir`; `known` supplies a file already parsed. Unreadable files are skipped. */
export async function loadVault(
  dir: string,
  settings: ReviewSettings = {},
  known?: { file: string; note: Note },
  recursive = true,
): Promise<Note[]> {
  const knownPath = known ? canonicalPath(known.file) : null;
  const notes: Note[] = [];
  for (const file of await listMarkdownFiles(dir, recursive)) {
    if (knownPath && canonicalPath(file) === knownPath) {
      notes.push(known!.note);
      continue;
    }
    let text: string;
    try {
      text = await readDeckText(file);
    } catch {
      continue;
    }
    notes.push(parseNote(text, parseOptions(file, settings)));
  }
  return notes;
}

// ---------------------------------------------------------------------------------------------
// Grading

export interface GradeOptions extends CardLocator {
  file: string;
  /** Which sibling (0-based; a reversed card has 2, a cloze card one per deletion). Default 0. */
  sibling?: number;
  /** `Easy`, `Good`, `Hard`, `Again` or `Reset`. */
  response: ReviewResponse | string;
  /** When the review happens. Default: now. */
  now?: Date;
  settings?: ReviewSettings;
  /** The due-date histogram to load-balance with. Default: built from the decks under `vaultDir`. */
  histogram?: DueDateHistogram | Record<number, number>;
  /** The vault the histogram is built from (recursively). Default: the nearest folder above the file
   *  holding `.obsidian`, else the file's own folder alone. */
  vaultDir?: string;
  /** The note path card ids are made from (the server's are relative to its cards folder). Default: `file`. */
  notePath?: string;
}

export interface GradeResult {
  file: string;
  /** The line the card starts on now. */
  line: number;
  sibling: number;
  response: ReviewResponse;
  algorithm: SchedulerSettings['algorithm'];
  previous: SiblingSchedule | null;
  /** The card's comment before the grade, exactly as it was (null: none); what an undo puts back. */
  previousComment: string | null;
  /** Null when nothing was stored (resetting a card never reviewed, as the plugin). */
  schedule: SiblingSchedule | null;
  /** The card's comment as written, or null. */
  comment: string | null;
  written: boolean;
  /** The note as the file now reads (card ids made from `notePath`); null when the grade was applied
   *  over another program's concurrent edit below the card (that text was not parsed here). */
  note: Note | null;
  /** The written file's stat signature; null when nothing was written. */
  signature: FileSignature | null;
}

async function vaultNotes(vaultDir: string | undefined, file: string, note: Note, settings: ReviewSettings): Promise<Note[]> {
  const vault = vaultDir !== undefined ? { dir: vaultDir, recursive: true } : await findVault(file);
  return loadVault(vault.dir, settings, { file, note }, vault.recursive);
}

/** The last text counted: a grade counts its old text, which is the text the previous grade wrote. */
let lastCounted: { text: string; count: number } | null = null;

function countComments(text: string): number {
  if (lastCounted?.text === text) return lastCounted.count;
  let count = 0;
  for (let at = text.indexOf('<!--SR:'); at >= 0; at = text.indexOf('<!--SR:', at + 7)) count++;
  lastCounted = { text, count };
  return count;
}

/** Re-parses the text about to be written and checks it is exactly the intended change. */
function verifyNewText(
  before: Note,
  after: Note,
  card: Card,
  siblingIndex: number,
  schedule: SiblingSchedule,
  oldText: string,
  newText: string,
): void {
  const fail = (why: string) => {
    throw new WriteBackError(`refusing to write ${before.path}: ${why}`);
  };
  if (after.cards.length !== before.cards.length) fail(`the write would change the number of cards`);
  const expectedComments = countComments(oldText) + (card.comment ? 0 : 1);
  if (countComments(newText) !== expectedComments) fail('the write would duplicate or lose a scheduling comment');
  const target = before.cards.indexOf(card);
  before.cards.forEach((old, k) => {
    const now = after.cards[k];
    if (now === old && k !== target) return; // the same card object: nothing of it can have changed
    if (now.textHash !== old.textHash || now.siblings.length !== old.siblings.length) fail(`card ${k} would change`);
    if (k !== target && now.siblings === old.siblings) return; // carried over from the old note as is
    if (k !== target) {
      old.siblings.forEach((s, j) => {
        if (now.siblings[j].segment !== s.segment) fail(`the schedule of another card (line ${old.range.start}) would change`);
      });
      return;
    }
    const written = now.siblings[siblingIndex]?.segment;
    if (written !== formatSegment(schedule).slice(1)) fail('the new schedule does not read back from the comment');
    old.siblings.forEach((s, j) => {
      if (j !== siblingIndex && s.segment !== null && now.siblings[j].segment !== s.segment) {
        fail(`sibling ${j} of the card would change`);
      }
    });
  });
}

/**
 * The last note parsed or written per file, keyed by its exact text: a grade on a file nothing else
 * touched since the previous grade starts from the note that grade produced instead of parsing again.
 */
const lastNotes = new Map<string, { text: string; optionsKey: string; note: Note }>();
const LAST_NOTES_KEPT = 16;

function noteOf(file: string, text: string, options: ParseNoteOptions): Note {
  const key = canonicalPath(file);
  const optionsKey = JSON.stringify(options);
  const known = lastNotes.get(key);
  if (known && known.text === text && known.optionsKey === optionsKey) return known.note;
  const note = parseNote(text, options);
  rememberNote(key, text, optionsKey, note);
  return note;
}

function rememberNote(key: string, text: string, optionsKey: string, note: Note): void {
  lastNotes.delete(key);
  lastNotes.set(key, { text, optionsKey, note });
  if (lastNotes.size > LAST_NOTES_KEPT) lastNotes.delete(lastNotes.keys().next().value!);
}

/** Grades one sibling of one card and writes its new schedule into the file. */
export async function gradeCard(options: GradeOptions): Promise<GradeResult> {
  const response = toReviewResponse(options.response);
  const settings: ReviewSettings = options.settings ?? {};
  const scheduler = resolveSchedulerSettings(settings);
  const placement = {
    cardCommentOnSameLine: settings.cardCommentOnSameLine ?? false,
    baseEase: scheduler.baseEase,
  };
  const siblingIndex = options.sibling ?? 0;
  const now = options.now ?? new Date();
  const file = options.file;
  const noteOptions = parseOptions(options.notePath ?? file, settings);
  const locator: CardLocator = { line: options.line, textHash: options.textHash };

  return withFileQueue(file, async () => {
    // Called again with the file as another program left it if it edited the file meanwhile.
    const replaced = await replaceFileText<Omit<GradeResult, 'signature'>>(file, async (text) => {
      const note = noteOf(file, text, noteOptions);
      const card = locateCard(note, locator);
      // From here on the card is known by its text: a retry finds it again even if it moved.
      locator.textHash = card.textHash;
      locator.line = card.range.start;
      if (!Number.isInteger(siblingIndex) || siblingIndex < 0 || siblingIndex >= card.siblings.length) {
        throw new WriteBackError(
          `sibling ${siblingIndex} does not exist: the card at line ${card.range.start} has ${card.siblings.length} (0-${card.siblings.length - 1})`,
        );
      }
      const previous = siblingSchedule(card.siblings[siblingIndex]);
      const histogram =
        options.histogram instanceof DueDateHistogram
          ? new DueDateHistogram(options.histogram.toRecord())
          : options.histogram
            ? new DueDateHistogram(options.histogram)
            : dueDateHistogram(await vaultNotes(options.vaultDir, file, note, settings), startOfDay(now));
      const schedule = reviewSchedule(response, previous, {
        now,
        settings: scheduler,
        histogram,
        // Only a new card starts from the note's ease (a pass over every card: skipped otherwise).
        noteEase: previous === null ? noteEaseOf(note, scheduler.baseEase) : null,
      });
      const base = {
        file,
        line: card.range.start,
        sibling: siblingIndex,
        response,
        algorithm: scheduler.algorithm,
        previous,
        previousComment: card.comment?.raw ?? null,
      };
      if (schedule === null) return { text, result: { ...base, schedule: null, comment: card.comment?.raw ?? null, written: false, note } };

      const newText = writeScheduleIntoText(text, card, siblingIndex, schedule, placement, note.eol);
      // The new note: patched from the old one when the change provably parses that way, else parsed.
      const after = patchNoteAfterCommentEdit(note, text, newText, card) ?? parseNote(newText, noteOptions);
      verifyNewText(note, after, card, siblingIndex, schedule, text, newText);
      rememberNote(canonicalPath(file), newText, JSON.stringify(noteOptions), after);
      const written = after.cards[note.cards.indexOf(card)];
      carryEaseTotals(note, after, card, written);
      return {
        text: newText,
        result: { ...base, schedule, comment: written.comment?.raw ?? null, written: true, note: after as Note | null },
        // What decides this write ends with the card, the line that ends it, and the line after that
        // (a single-line card looks one line ahead for its comment): an edit below is re-applied to.
        dependsOnTextBefore: lineOffset(text, card.parsed.lastLineNum + 3),
      };
    });
    // Written over another program's later edit (see dependsOnTextBefore): the note is not that file's.
    return { ...replaced.result, note: replaced.rebased ? null : replaced.result.note, signature: replaced.signature };
  });
}

// ---------------------------------------------------------------------------------------------
// Due counts

export interface DeckDueCounts {
  /** Deck path without `#` (`flashcards/science`); subdecks count in their parents too. */
  deck: string;
  /** Reviewed cards due today or earlier. */
  due: number;
  /** Cards never reviewed. */
  new: number;
  total: number;
}

/** Per deck: due today, new and total cards (siblings counted as the plugin counts cards). */
export function dueCounts(notes: readonly Note[], now: Date): DeckDueCounts[] {
  const today = startOfDay(now);
  const rows = new Map<string, DeckDueCounts>();
  for (const note of notes) {
    for (const card of note.cards) {
      const decks = new Set<string>();
      for (const deck of card.decks) {
        const parts = deck.split('/');
        for (let i = 1; i <= parts.length; i++) decks.add(parts.slice(0, i).join('/'));
      }
      for (const sibling of card.siblings) {
        const schedule = siblingSchedule(sibling);
        const isNew = schedule === null;
        const isDue = !isNew && scheduleDueTime(schedule) <= (isFsrsSchedule(schedule) ? now.getTime() : today.getTime());
        for (const deck of decks) {
          const row = rows.get(deck) ?? { deck, due: 0, new: 0, total: 0 };
          row.total++;
          if (isNew) row.new++;
          if (isDue) row.due++;
          rows.set(deck, row);
        }
      }
    }
  }
  return [...rows.values()].sort((a, b) => a.deck.localeCompare(b.deck));
}
