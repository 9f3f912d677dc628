/**
 * Write-back of one sibling's schedule into a note's text, touching nothing but that card's
 * `<!--SR:` comment. Every other byte stays: line endings (CRLF, LF, mixed), tabs, trailing
 * spaces, a missing final newline, unicode.
 *
 * Placement of a new comment is the plugin's (`Question.formatForNote`): on the line after the
 * card, or — with `cardCommentOnSameLine`, unless the card ends with a code fence — after the
 * card's last line (before its block id, if any). Siblings not reviewed yet get the plugin's
 * placeholder `!2000-01-01,1,<baseEase>`.
 */
import type { Card } from './model';
import { formatSegment, placeholderSegment, type SiblingSchedule } from './scheduling/scheduler';

export class WriteBackError extends Error {
  override name = 'WriteBackError';
}

/** One line of the raw text and the terminator that followed it. `lines.map(l => l.content + l.eol).join('')` is the text. */
export interface RawLine {
  content: string;
  eol: '' | '\n' | '\r\n';
}

/** The text's lines as the parser numbers them (CRLF read as LF), with their own terminators kept. */
export function splitRawLines(text: string): RawLine[] {
  const parts = text.split('\n');
  return parts.map((part, i) => {
    const last = i === parts.length - 1;
    if (last) return { content: part, eol: '' };
    if (part.endsWith('\r')) return { content: part.slice(0, -1), eol: '\r\n' };
    return { content: part, eol: '\n' };
  });
}

export function joinRawLines(lines: RawLine[]): string {
  return lines.map((l) => l.content + l.eol).join('');
}

/** The last line found by `lineOffset`: one grade asks for several lines near each other in the same
 *  large text, and counting from there instead of from the top skips tens of thousands of lines. */
let lastLineFound: { text: string; line: number; offset: number } | null = null;

/** Where line `line` (0-based, as the parser numbers them) starts in `text`; the text's length past its end. */
export function lineOffset(text: string, line: number): number {
  const known = lastLineFound;
  const resume = known !== null && known.line <= line && known.text === text;
  let offset = resume ? known.offset : 0;
  for (let i = resume ? known.line : 0; i < line; i++) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) return text.length;
    offset = nl + 1;
  }
  lastLineFound = { text, line, offset };
  return offset;
}

/**
 * Lines `first`…`last` of the text with their terminators, and the offsets `from`/`to` they span
 * (so `text.slice(0, from) + joinRawLines(lines) + text.slice(to)` is the text): what a write-back
 * edits, without splitting a whole large file into lines.
 */
export function rawLinesBetween(text: string, first: number, last: number): { lines: RawLine[]; from: number; to: number } {
  const from = lineOffset(text, first);
  const lines: RawLine[] = [];
  let offset = from;
  for (let i = first; i <= last && offset <= text.length; i++) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) {
      lines.push({ content: text.slice(offset), eol: '' });
      offset = text.length + 1;
      break;
    }
    const crlf = nl > offset && text.charCodeAt(nl - 1) === 13;
    lines.push({ content: text.slice(offset, crlf ? nl - 1 : nl), eol: crlf ? '\r\n' : '\n' });
    offset = nl + 1;
  }
  return { lines, from, to: Math.min(offset, text.length) };
}

export interface CommentPlacementSettings {
  cardCommentOnSameLine: boolean;
  baseEase: number;
}

const SR_COMMENT_ANYWHERE = /<!--SR:.*?-->/g;

/** The comment the card gets: the new segment at `siblingIndex`, the others as they were (or placeholders). */
export function buildComment(card: Card, siblingIndex: number, schedule: SiblingSchedule, baseEase: number): string {
  const existing = card.comment?.segments ?? [];
  let body = '';
  // One segment per sibling, as the plugin writes them (extra segments are dropped).
  for (let i = 0; i < card.siblings.length; i++) {
    if (i === siblingIndex) body += formatSegment(schedule);
    else if (existing[i] !== undefined && existing[i].trim() !== '') body += '!' + existing[i];
    else body += placeholderSegment(baseEase);
  }
  return `<!--SR:${body}-->`;
}

/**
 * The re-check before writing: the card's text lines must stand in `lines`, in order, within the
 * card's range (lines the parser skips, like an HTML comment inside the card, may sit between).
 * Returns the line holding the card's last text line.
 */
function checkCardLines(lines: RawLine[], card: Card, base: number): number {
  const textLines = card.parsed.text.split('\n');
  while (textLines.length > 1 && textLines[textLines.length - 1].trim() === '') textLines.pop();
  // The parser drops trailing whitespace from a card's text; the file keeps it.
  const same = (i: number, t: string) => lines[i - base] !== undefined && lines[i - base].content.trimEnd() === t.trimEnd();
  const { start, end } = card.range;
  const mismatch = (line: number) =>
    new WriteBackError(`the card at line ${start} no longer matches the file (line ${line} differs); it was not written`);
  if (!same(start, textLines[0])) throw mismatch(start);
  let at = start;
  for (let k = 1; k < textLines.length; k++) {
    at++;
    while (at <= end && !same(at, textLines[k])) at++;
    if (at > end) throw mismatch(start + k);
  }
  // The last text line itself: the latest match within the range.
  let last = end;
  while (last > at && !same(last, textLines[textLines.length - 1])) last--;
  return last;
}

/**
 * The note's text with sibling `siblingIndex` of `card` scheduled as `schedule`. `card` must come
 * from parsing exactly `text`. Only the card's comment changes (or one comment is added).
 */
export function writeScheduleIntoText(
  text: string,
  card: Card,
  siblingIndex: number,
  schedule: SiblingSchedule,
  settings: CommentPlacementSettings,
  eol: '\n' | '\r\n' = text.includes('\r\n') ? '\r\n' : '\n',
): string {
  if (!Number.isInteger(siblingIndex) || siblingIndex < 0 || siblingIndex >= card.siblings.length) {
    throw new WriteBackError(
      `sibling ${siblingIndex} does not exist: the card at line ${card.range.start} has ${card.siblings.length}`,
    );
  }
  // Only the card's own lines are split and edited; the rest of the text is sliced around them.
  const first = card.range.start;
  const { lines, from, to } = rawLinesBetween(text, first, card.range.end);
  const rejoin = () => text.slice(0, from) + joinRawLines(lines) + text.slice(to);
  const lastTextLine = checkCardLines(lines, card, first);
  const comment = buildComment(card, siblingIndex, schedule, settings.baseEase);

  if (card.comment) {
    const c = card.comment;
    const commentsInCard = lines.reduce((n, l) => n + (l.content.match(SR_COMMENT_ANYWHERE)?.length ?? 0), 0);
    if (commentsInCard > 1) {
      throw new WriteBackError(
        `the card at line ${card.range.start} has ${commentsInCard} scheduling comments; keep one by hand before grading it`,
      );
    }
    const line = lines[c.line - first];
    if (!line || line.content.slice(c.start, c.end) !== c.raw) {
      throw new WriteBackError(`the scheduling comment of the card at line ${card.range.start} moved; it was not written`);
    }
    line.content = line.content.slice(0, c.start) + comment + line.content.slice(c.end);
    return rejoin();
  }

  const sameLine = settings.cardCommentOnSameLine && !card.question.endsWith('```');
  const target = lines[lastTextLine - first];
  if (sameLine) {
    const trimmed = target.content.trimEnd();
    let at = trimmed.length;
    if (card.blockId && trimmed.endsWith(' ' + card.blockId)) at = trimmed.length - card.blockId.length - 1;
    target.content = target.content.slice(0, at) + ' ' + comment + target.content.slice(at);
  } else {
    // A new line after the card; a file without a final newline still ends without one.
    const newLine: RawLine = { content: comment, eol: target.eol };
    if (target.eol === '') target.eol = eol;
    lines.splice(lastTextLine - first + 1, 0, newLine);
  }
  return rejoin();
}
