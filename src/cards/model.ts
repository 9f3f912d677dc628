/**
 * The flashcard data model shared by the parser, the renderer, the scheduler
 * and the writer. Names follow the Obsidian Spaced Repetition plugin (v1.15)
 * where it has one.
 *
 * Line numbers are 0-based everywhere. The parser reads CRLF files as LF
 * (as the plugin does): line numbers are the same either way, and the writer
 * puts the file's own line ending back (`Note.eol`).
 */

export type CardType =
  | 'SingleLineBasic'
  | 'SingleLineReversed'
  | 'MultiLineBasic'
  | 'MultiLineReversed'
  | 'Cloze';

/** One sibling's schedule as stored in `<!--SR:!due,interval,ease-->`. */
export interface CardSchedule {
  /** Due date, `YYYY-MM-DD`. */
  due: string;
  /** Interval in days. */
  interval: number;
  /** Ease ×100 as the plugin stores it (250 = 2.5). */
  ease: number;
}

/**
 * The options of the plugin's `parse()` (src/parser.ts `ParserOptions`), with its names.
 * Defaults: `DEFAULT_PARSER_OPTIONS` in ./options.
 */
export interface ParserOptions {
  singleLineCardSeparator: string;
  singleLineReversedCardSeparator: string;
  multilineCardSeparator: string;
  multilineReversedCardSeparator: string;
  /** Empty: a multi-line card ends at a blank line. */
  multilineCardEndMarker: string;
  /** ClozeCrafter patterns, e.g. `"==[123;;]answer[;;hint]=="`. Empty: no cloze cards. */
  clozePatterns: string[];
}

/** The plugin's settings that the parser and scheduler read, with its names and defaults. */
export interface CardSettings extends ParserOptions {
  convertHighlightsToClozes: boolean;
  convertBoldTextToClozes: boolean;
  convertCurlyBracketsToClozes: boolean;
  /** The tags that make a note a deck (`#flashcards` and its sub-tags). */
  flashcardTags: string[];
  /** Put the scheduling comment on the card's last line instead of the next line. */
  cardCommentOnSameLine: boolean;
  baseEase: number;
  easyBonus: number;
  lapsesIntervalChange: number;
  loadBalance: boolean;
  maximumInterval: number;
  /** The scheduler: the plugin's SM-2 variant, or FSRS through ts-fsrs. */
  algorithm: 'SM-2-OSR' | 'FSRS';
}

/**
 * What the plugin's `parse()` returns for one card (`ParsedQuestionInfo`): the contract
 * `parseCards(text, options?)` keeps, field for field.
 */
export interface ParsedCard {
  cardType: CardType;
  /** The card's source lines joined with `\n` (its scheduling comment included), as the plugin builds it. */
  text: string;
  /** The plugin's first line. NOTE: the plugin does not reset it after a single-line card, so it can be
   *  earlier than the card's real first line; `Card.range.start` is the real one. */
  firstLineNum: number;
  /** The plugin's last line (a card closed by an end marker counts the blank lines before it). */
  lastLineNum: number;
}

/** Where a card's scheduling comment is, so that a writer can replace exactly it. */
export interface ScheduleComment {
  /** The line holding `<!--SR:...-->`. */
  line: number;
  /** Character offsets of the comment within that line (`end` exclusive). */
  start: number;
  end: number;
  /** `same-line`: after the card's last text line; `next-line`: alone on the line after the card;
   *  `callout`: inside a `> [!sr|card-metadata]` callout under the card. */
  placement: 'same-line' | 'next-line' | 'callout';
  /** The callout's first line when `placement` is `callout`. */
  calloutLine?: number;
  /** The comment as written, e.g. `<!--SR:!2024-05-19,482,309-->`. */
  raw: string;
  /** Its `!` segments in order, without the `!` (`2024-05-19,482,309`, or an FSRS segment);
   *  the legacy form `<!--SR:2024-05-19,482,309-->` gives one segment. */
  segments: string[];
  legacy: boolean;
}

/** One reviewable side pair of a card: a reversed card has 2, a cloze card one per deletion (or number). */
export interface Sibling {
  /** Position among the card's siblings; the index of its segment in the scheduling comment. */
  index: number;
  /** Markdown of the question side. A cloze front shows `[...]` (or `[hint]`) for the deletion. */
  front: string;
  /** Markdown of the answer side. A cloze back shows the deletion highlighted (`==answer==`). */
  back: string;
  /** Null: new (never reviewed, or the plugin's `2000-01-01` placeholder). */
  schedule: CardSchedule | null;
  /** This sibling's segment of the comment as written (without `!`), or null. FSRS segments are kept
   *  here verbatim for the scheduler to read. */
  segment: string | null;
}

export interface Card {
  /** Stable id: note path, hash of the question text, and the occurrence of that text in the note
   *  (so two identical cards in one file stay distinct). */
  id: string;
  type: CardType;
  /** The plugin's view of the card (contract fields). */
  parsed: ParsedCard;
  /** Source line range of the card, its scheduling comment included (0-based, inclusive). */
  range: { start: number; end: number };
  /** The question text without its deck tag, scheduling comment and block id (the plugin's `actualQuestion`). */
  question: string;
  /** The plugin's `cyrb53` hash of (tag + question): what identifies the card's text. */
  textHash: string;
  /** A `#tag` at the start of the card (applies to this card alone), without `#`; null when none. */
  tag: string | null;
  /** An Obsidian block id at the end of the card (`^abc-1`), or null. */
  blockId: string | null;
  /** Headings above the card, outermost first (H1 > H2 > ...). */
  context: string[];
  /** The decks the card belongs to, as tag paths without `#` (`flashcards/science`); empty when the card
   *  is in no flashcard deck (the plugin then skips it). */
  decks: string[];
  siblings: Sibling[];
  /** The comment holding the schedule, or null when the card has none yet. */
  comment: ScheduleComment | null;
}

/** A note-level schedule from the frontmatter (`sr-due`, `sr-interval`, `sr-ease`). */
export type NoteSchedule = CardSchedule;

export interface Note {
  /** The path given to the parser (used in card ids). */
  path: string;
  /** The note's name (file name without `.md`): the first part of a card's context. */
  title: string;
  /** The line ending the file uses (`\r\n` when any CRLF is present). */
  eol: '\n' | '\r\n';
  /** Lines 0..frontmatterEnd are frontmatter (-1: none). */
  frontmatterEnd: number;
  /** All tags of the note (frontmatter and body), without `#`. */
  tags: string[];
  /** True when the note has a flashcard tag: the plugin reviews its cards. */
  isDeck: boolean;
  /** Frontmatter `sr-due` / `sr-interval` / `sr-ease`, or null. */
  schedule: NoteSchedule | null;
  /** The parser options the note was read with (the renderer needs the cloze patterns). */
  options: ParserOptions;
  cards: Card[];
}
