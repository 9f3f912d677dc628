/**
 * The note after a write-back, without parsing the whole file again (a 10,000-card deck takes
 * hundreds of milliseconds to parse; a grade should take a few).
 *
 * Why parsing only the card's own lines is enough. The write changed one card's scheduling comment:
 * lines before the card are byte-identical, lines after it are byte-identical and shifted by k
 * (0, or 1 when a comment line was added). The parser (./parse.ts) is a state machine over lines
 * whose whole state is (card text, card type, math state, first line); at the line where a card's
 * text starts that state is always the empty one (the text is empty, so no type is set and the math
 * scanner was reset by the blank line or the card that came before). A card ends by resetting the
 * state again: a single-line card right after its line (or its comment line), any other card at the
 * blank line or end marker after it, or at the end of the file. So if parsing the card's lines in
 * isolation — old and new — gives back exactly this card, ending where it ends in the file, the
 * parser enters the unchanged lines after it in the same empty state as before, and every card after
 * it is the same card k lines further down. Tags and headings (the note's scan) are compared on the
 * changed lines themselves. Anything that does not fit this argument returns null, and the caller
 * parses the whole file.
 */
import type { Card, Note } from './model';
import { FENCE_LINE, HEADING_LINE, tagsInLine } from './note';
import { parseLines } from './parse';
import { cyrb53, findScheduleComment, parseSegment, splitQuestionText } from './question';
import { lineOffset } from './write';

/** What the note's own scan (tags, headings, code fences) sees on a line. */
function scanFeatures(line: string): string {
  return `${FENCE_LINE.test(line)}|${HEADING_LINE.test(line)}|${tagsInLine(line).join(' ')}`;
}

const shift = (line: number, from: number, k: number) => (line >= from ? line + k : line);

function shiftCard(card: Card, from: number, k: number): Card {
  if (k === 0) return card;
  // Built field by field (no spreads): this runs for every card below the edit, thousands per grade.
  const { parsed, range, comment } = card;
  return {
    id: card.id,
    type: card.type,
    parsed: { cardType: parsed.cardType, text: parsed.text, firstLineNum: shift(parsed.firstLineNum, from, k), lastLineNum: shift(parsed.lastLineNum, from, k) },
    range: { start: shift(range.start, from, k), end: shift(range.end, from, k) },
    question: card.question,
    textHash: card.textHash,
    tag: card.tag,
    blockId: card.blockId,
    context: card.context,
    decks: card.decks,
    siblings: card.siblings,
    comment:
      comment &&
      (comment.calloutLine === undefined
        ? { ...comment, line: shift(comment.line, from, k) }
        : { ...comment, line: shift(comment.line, from, k), calloutLine: shift(comment.calloutLine, from, k) }),
  };
}

/** A slice of text as the parser's lines (CRLF read as LF); a slice ending in a line break ends there. */
function parserLines(slice: string): string[] {
  const lines = slice.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((l, i) => (i < lines.length - 1 || slice.endsWith('\n') ? (l.endsWith('\r') ? l.slice(0, -1) : l) : l));
}

/**
 * `before` (parsed from `oldText`) after `card`'s scheduling comment was rewritten, giving
 * `newText`; null when the change is not one the argument above covers.
 */
export function patchNoteAfterCommentEdit(before: Note, oldText: string, newText: string, card: Card): Note | null {
  const index = before.cards.indexOf(card);
  if (index < 0) return null;
  const start = card.range.start;
  if (start <= before.frontmatterEnd) return null;
  const single = card.type === 'SingleLineBasic' || card.type === 'SingleLineReversed';
  const last = card.parsed.lastLineNum;
  if (last < card.range.end) return null;
  // The window: the card's lines, and for a multi-line card the line that ended it (if any).
  const from = lineOffset(oldText, start);
  const oldTo = lineOffset(oldText, (single ? last : last + 1) + 1);
  // Everything before the window and after it is the same text.
  const suffix = oldText.slice(oldTo);
  const newTo = newText.length - suffix.length;
  // Compared as slices: `===` compares the characters in bulk, endsWith/startsWith one by one (~40× slower here).
  if (newTo < from || newText.slice(newTo) !== suffix || newText.slice(0, from) !== oldText.slice(0, from)) return null;
  const oldWindow = parserLines(oldText.slice(from, oldTo));
  const newWindow = parserLines(newText.slice(from, newTo));
  const k = newWindow.length - oldWindow.length;
  if (k !== 0 && k !== 1) return null;
  const windowEnd = start + oldWindow.length - 1;
  if (windowEnd < last) return null;

  // The changed lines must look the same to the note's scan (no tag, heading or fence made or lost).
  let inserted = -1;
  if (k === 0) {
    for (let i = 0; i < oldWindow.length; i++) {
      if (oldWindow[i] !== newWindow[i] && scanFeatures(oldWindow[i]) !== scanFeatures(newWindow[i])) return null;
    }
  } else {
    let j = 0;
    while (j < oldWindow.length && oldWindow[j] === newWindow[j]) j++;
    for (let i = j; i < oldWindow.length; i++) if (oldWindow[i] !== newWindow[i + 1]) return null;
    if (scanFeatures(newWindow[j]) !== scanFeatures('')) return null;
    inserted = start + j;
  }

  const options = before.options;
  const oldParse = parseLines(oldWindow, options);
  const newParse = parseLines(newWindow, options);
  if (oldParse.length !== 1 || newParse.length !== 1) return null;
  const [o, n] = [oldParse[0], newParse[0]];
  if (o.startLine !== 0 || o.text !== card.parsed.text || o.cardType !== card.type || o.lastLineNum !== last - start) return null;
  if (n.startLine !== 0 || n.cardType !== card.type || n.lastLineNum !== o.lastLineNum + k) return null;

  const parts = splitQuestionText(n.text);
  if (cyrb53((parts.tag ? `#${parts.tag} ` : '') + parts.question) !== card.textHash || parts.question !== card.question) return null;
  if (parts.blockId !== card.blockId || parts.tag !== card.tag) return null;

  const newEnd = card.range.end + k;
  const local = findScheduleComment(newWindow, 0, newEnd - start);
  if (!local) return null;
  const comment = { ...local, line: local.line + start, ...(local.calloutLine === undefined ? {} : { calloutLine: local.calloutLine + start }) };
  const segments = comment.segments;
  const patched: Card = {
    ...card,
    parsed: { ...card.parsed, text: n.text, lastLineNum: last + k },
    range: { start, end: newEnd },
    siblings: card.siblings.map((s) => ({
      ...s,
      segment: segments[s.index] ?? null,
      schedule: segments[s.index] !== undefined ? parseSegment(segments[s.index]) : null,
    })),
    comment,
  };
  const cards = before.cards.map((c, i) => (i < index ? c : i === index ? patched : shiftCard(c, inserted, k)));
  return { ...before, cards };
}
