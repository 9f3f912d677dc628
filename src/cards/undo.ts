/**
 * Undoing a grade: the card's `<!--SR:` comment goes back to exactly what it was before (or goes
 * away, with the line it was added on, when the card had none), and nothing else changes.
 *
 * The same safety as the write-back (./review.ts): one writer per file, the card found by its text,
 * the comment checked to still be the one the grade wrote (an edit made since — in Obsidian, or a
 * later grade — is never overwritten), the result re-parsed before an atomic replace that loses no
 * concurrent edit (deck-file.ts, replaceFileText).
 */
import type { Card, Note } from './model';
import { parseNote } from './note';
import { replaceFileText, withFileQueue } from './deck-file';
import { locateCard, type ReviewSettings } from './review';
import { joinRawLines, splitRawLines, WriteBackError } from './write';

export interface GradeUndo {
  file: string;
  /** Where the card started and its text hash, when it was graded (it is found again by its text). */
  line: number;
  textHash: string;
  /** The comment before the grade, exactly as it was written; null when the card had none. */
  previousComment: string | null;
  /** The comment the grade wrote. */
  comment: string;
}

/** The note's text with `card`'s comment (the one the grade wrote) put back to `previousComment`. */
export function restoreCommentInText(text: string, card: Card, previousComment: string | null): string {
  const c = card.comment;
  if (!c) throw new WriteBackError(`the card at line ${card.range.start} has no scheduling comment to undo`);
  const lines = splitRawLines(text);
  const line = lines[c.line];
  if (!line || line.content.slice(c.start, c.end) !== c.raw) {
    throw new WriteBackError(`the scheduling comment of the card at line ${card.range.start} moved; nothing was undone`);
  }
  if (previousComment !== null) {
    line.content = line.content.slice(0, c.start) + previousComment + line.content.slice(c.end);
    return joinRawLines(lines);
  }
  // The grade added the comment: on a line of its own after the card (which took over the card's
  // line ending), or after the card's last line with one space before it.
  if (c.placement === 'next-line' && line.content === c.raw && c.line > 0) {
    lines[c.line - 1].eol = line.eol;
    lines.splice(c.line, 1);
    return joinRawLines(lines);
  }
  if (c.placement === 'same-line' && c.start > 0 && line.content[c.start - 1] === ' ') {
    line.content = line.content.slice(0, c.start - 1) + line.content.slice(c.end);
    return joinRawLines(lines);
  }
  throw new WriteBackError(`the scheduling comment of the card at line ${card.range.start} is not where a grade puts it; nothing was undone`);
}

function verifyUndo(before: Note, after: Note, target: number, previousComment: string | null, path: string): void {
  const fail = (why: string) => {
    throw new WriteBackError(`refusing to write ${path}: ${why}`);
  };
  if (after.cards.length !== before.cards.length) fail('the undo would change the number of cards');
  before.cards.forEach((old, k) => {
    const now = after.cards[k];
    if (now.textHash !== old.textHash) fail(`card ${k} would change`);
    if (k === target) {
      if ((now.comment?.raw ?? null) !== previousComment) fail('the previous comment does not read back');
    } else if ((now.comment?.raw ?? null) !== (old.comment?.raw ?? null)) {
      fail(`the schedule of another card (line ${old.range.start}) would change`);
    }
  });
}

/** Puts the card's comment back as it was before the grade `undo` describes; returns the card's line. */
export async function undoGrade(undo: GradeUndo, settings: ReviewSettings = {}): Promise<{ line: number }> {
  return withFileQueue(undo.file, async () => {
    const replaced = await replaceFileText(undo.file, (text) => {
      const note = parseNote(text, { ...settings, path: undo.file });
      const card = locateCard(note, { line: undo.line, textHash: undo.textHash });
      if ((card.comment?.raw ?? null) !== undo.comment) {
        throw new WriteBackError(
          `the schedule of the card at line ${card.range.start} of ${undo.file} changed since it was graded; nothing was undone`,
        );
      }
      const newText = restoreCommentInText(text, card, undo.previousComment);
      verifyUndo(note, parseNote(newText, { ...settings, path: undo.file }), note.cards.indexOf(card), undo.previousComment, undo.file);
      return { text: newText, result: { line: card.range.start } };
    });
    return replaced.result;
  });
}
