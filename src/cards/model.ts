/**
 * The flashcard data model shared by the parser, the renderer, the scheduler
 * and the writer. Names follow the Obsidian Spaced Repetition plugin (v1.15)
 * where it has one.
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

/** The plugin's settings that the parser and scheduler read, with its names and defaults. */
export interface CardSettings {
  singleLineCardSeparator: string;
  singleLineReversedCardSeparator: string;
  multilineCardSeparator: string;
  multilineReversedCardSeparator: string;
  /** Empty: a multi-line card ends at a blank line. */
  multilineCardEndMarker: string;
  /** e.g. `"==[123;;]answer[;;hint]=="`; several separated by `,`. */
  clozePatterns: string[];
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
