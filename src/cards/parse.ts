/**
 * The card parser: the plugin's `parse()` (src/parser.ts, v1.15.4) line for line, as small rules over
 * lines, with the fixes its users asked for (each marked FIX below and listed in docs/ARCHITECTURE.md):
 *
 *  - an HTML comment is skipped up to its closing line only (the plugin skips to the end of the file
 *    when the comment spans lines, and always skips the line after it);
 *  - inline separators (`std::vector`) inside a multi-line card's answer do not re-type the card;
 *  - `::`, `==`, `?` inside `$…$` / `$$…$$` math are not card syntax;
 *  - fenced code is recognised when indented too (code in list items).
 *
 * Everything else, quirks included (`firstLineNum` not reset after a single-line card), is the plugin's.
 */
import { ClozeCrafter } from 'clozecraft';
import type { CardType, ParsedCard, ParserOptions } from './model';
import { MathScanner, maskSpans } from './math';
import { resolveParserOptions } from './options';

/** The callout the plugin (v1.15) may hold a card's scheduling comment in. */
export const SR_METADATA_CALLOUT = '> [!sr|card-metadata]';
export const SR_COMMENT_BEGIN = '<!--SR:';

/** A note's lines as the plugin reads them: CRLF as LF. */
export function splitLines(text: string): string[] {
  return text.replace(/\r\n/g, '\n').split('\n');
}

/**
 * The last line of the frontmatter (`---` on line 0 up to the next `---` line), or -1. The plugin
 * blanks these lines before parsing (splitNoteIntoFrontmatterAndContent) so line numbers stay.
 */
export function frontmatterEnd(lines: string[]): number {
  if (lines[0] !== '---') return -1;
  for (let i = 1; i < lines.length; i++) if (lines[i] === '---') return i;
  return -1;
}

/** The plugin's `markerInsideCodeBlock`: odd backtick counts on both sides of the marker. */
function markerInsideCodeSpan(text: string, marker: string, index: number): boolean {
  let before = 0;
  let after = 0;
  for (let i = 0; i < index; i++) if (text[i] === '`') before++;
  for (let i = index + marker.length; i < text.length; i++) if (text[i] === '`') after++;
  return before % 2 === 1 && after % 2 === 1;
}

/** The plugin's `hasInlineMarker`: the marker's first occurrence, unless it is inside a code span. */
export function inlineMarkerIndex(text: string, marker: string): number {
  if (marker.length === 0) return -1;
  const index = text.indexOf(marker);
  if (index === -1 || markerInsideCodeSpan(text, marker, index)) return -1;
  return index;
}

const FENCE = /^(\s*)(`{3,}|~{3,})/;

/** The opening fence of a code block on this line, or null. The plugin only knows column-0 fences. */
function openingFence(line: string): { indent: string; fence: string } | null {
  const m = FENCE.exec(line);
  if (!m) return null;
  const fence = /`+|~+/.exec(m[2])![0];
  return { indent: m[1], fence };
}

/** Inline separators, longest first (so `:::` wins over `::`). */
function inlineSeparators(options: ParserOptions): { separator: string; type: CardType }[] {
  const list: { separator: string; type: CardType }[] = [
    { separator: options.singleLineCardSeparator, type: 'SingleLineBasic' },
    { separator: options.singleLineReversedCardSeparator, type: 'SingleLineReversed' },
  ];
  return list.sort((a, b) => b.separator.length - a.separator.length);
}

const isMultiLine = (type: CardType | null) => type === 'MultiLineBasic' || type === 'MultiLineReversed';

/**
 * The cards in a note's text, as the plugin finds them. Frontmatter lines are blanked first, as the
 * plugin does before it parses a note. Never throws on any text; bad options throw CardOptionsError.
 */
export function parseCards(text: string, options?: Partial<ParserOptions> | null): ParsedCard[] {
  const resolved = resolveParserOptions(options);
  const lines = splitLines(String(text ?? ''));
  const fmEnd = frontmatterEnd(lines);
  for (let i = 0; i <= fmEnd; i++) lines[i] = '';
  // Exactly the plugin's ParsedQuestionInfo fields, so results compare equal to the plugin's.
  return parseLines(lines, resolved).map(({ cardType, text: cardText, firstLineNum, lastLineNum }) => ({
    cardType,
    text: cardText,
    firstLineNum,
    lastLineNum,
  }));
}

/** A parsed card and the line its text really starts on. */
export interface LocatedCard extends ParsedCard {
  startLine: number;
}

/** The parser over lines (frontmatter already blanked). */
export function parseLines(lines: string[], options: ParserOptions): LocatedCard[] {
  const separators = inlineSeparators(options);
  const clozes = new ClozeCrafter(options.clozePatterns);
  const endMarker = options.multilineCardEndMarker;
  const math = new MathScanner();

  const cards: LocatedCard[] = [];
  let cardText = '';
  let cardType: CardType | null = null;
  let firstLineNo = 0;
  let startLine = 0;

  const push = (type: CardType, text: string, first: number, last: number, start: number) =>
    cards.push({ cardType: type, text, firstLineNum: first, lastLineNum: last, startLine: start });

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const trimmed = line.trim();

    // Rule: HTML comments hide what is in them (scheduling comments are card text).
    if (line.startsWith('<!--') && !line.startsWith(SR_COMMENT_BEGIN)) {
      // FIX: stop at the line that closes the comment; the loop's i++ moves past it.
      while (i + 1 < lines.length && !lines[i].includes('-->')) i++;
      // FIX: a card that starts after the comment starts after it.
      if (cardText.length === 0) firstLineNo = i + 1;
      continue;
    }

    // Rule: a blank line (or the end marker) ends the card being built.
    const isEmpty = trimmed.length === 0;
    const isEndMarker = endMarker.length > 0 && trimmed === endMarker;
    if ((isEmpty && !endMarker) || (isEmpty && cardType === null) || isEndMarker) {
      if (cardType) push(cardType, cardText.trimEnd(), firstLineNo, i - 1, startLine);
      cardType = null;
      cardText = '';
      firstLineNo = i + 1;
      math.reset();
      continue;
    }

    if (cardText.length > 0) cardText += '\n';
    else startLine = i;
    cardText += line.trimEnd();

    const startsInMath = math.insideDisplay;
    const masked = maskSpans(line, math.scan(line));

    // Rule: inline cards `Q::A`, `Q:::A`. FIX: not inside a multi-line card's answer.
    if (!isMultiLine(cardType)) {
      for (const { separator, type } of separators) {
        if (inlineMarkerIndex(masked, separator) !== -1) {
          cardType = type;
          break;
        }
      }
    }

    if (cardType === 'SingleLineBasic' || cardType === 'SingleLineReversed') {
      cardText = line;
      firstLineNo = i;
      startLine = i;
      // Its scheduling comment: on the next line, or in the metadata callout up to the comment.
      if (i + 1 < lines.length && lines[i + 1].startsWith(SR_COMMENT_BEGIN)) {
        cardText += '\n' + lines[i + 1];
        i++;
      } else if (i + 1 < lines.length && lines[i + 1].startsWith(SR_METADATA_CALLOUT)) {
        for (let j = i + 1; j < lines.length; j++) {
          cardText += '\n' + lines[j];
          i = j;
          if (lines[j].includes(SR_COMMENT_BEGIN)) break;
        }
      }
      push(cardType, cardText, firstLineNo, i, startLine);
      cardType = null;
      cardText = '';
      math.reset();
    } else if (trimmed === options.multilineCardSeparator && !startsInMath) {
      // Rule: `?` line. A card needs a front ("?" alone is not one).
      if (cardText.length > 1) cardType = 'MultiLineBasic';
    } else if (trimmed === options.multilineReversedCardSeparator && !startsInMath) {
      if (cardText.length > 1) cardType = 'MultiLineReversed';
    } else if (openingFence(line) && !startsInMath) {
      // Rule: fenced code is card text, never card syntax.
      const { indent, fence } = openingFence(line)!;
      const closes = (l: string) => (indent.length === 0 ? l.startsWith(fence) : l.trimStart().startsWith(fence));
      while (i + 1 < lines.length && !closes(lines[i + 1])) {
        i++;
        cardText += '\n' + lines[i];
      }
      // The plugin writes the fence back as bare fence characters; an indented fence keeps its indent.
      // FIX: a scheduling comment after the closing fence (```<!--SR:…-->) stays in the card's text,
      // so the card reads as its source lines and its comment can be written back in place.
      const closing = lines[i + 1];
      const keepLine = indent.length > 0 || (closing !== undefined && closing.includes(SR_COMMENT_BEGIN));
      cardText += '\n' + (keepLine ? (closing ?? indent + fence).trimEnd() : fence);
      i++;
      math.reset();
    } else if (cardType === null && clozes.isClozeNote(masked)) {
      // Rule: a paragraph with a cloze deletion is a cloze card.
      cardType = 'Cloze';
    }
  }

  if (cardType && cardText) push(cardType, cardText.trimEnd(), firstLineNo, lines.length - 1, startLine);
  return cards;
}
