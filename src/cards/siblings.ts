/**
 * A card's sides (the plugin's `CardFrontBackUtil.expand`): one pair for basic cards, two for
 * reversed cards, one per deletion (or per number) for cloze cards. Math is protected: a `::` or
 * `==` inside `$…$` neither splits a card nor makes a deletion.
 */
import { ClozeCrafter } from 'clozecraft';
import type { CardType, ParserOptions } from './model';
import { maskMathInText, protectMath } from './math';
import { inlineMarkerIndex } from './parse';

export interface Sides {
  front: string;
  back: string;
}

/** How a cloze deletion shows on each side (clozecraft's `IClozeFormatter`). */
export interface ClozeFormatter {
  /** The deletion being asked, on the front. */
  asking(answer?: string, hint?: string): string;
  /** The deletion being asked, on the back. */
  showingAnswer(answer: string, hint?: string): string;
  /** Another deletion of an overlapping cloze, on either side. */
  hiding(answer?: string, hint?: string): string;
}

/** Markdown: `[...]` or `[hint]` on the front, the answer highlighted on the back. */
export const MARKDOWN_CLOZE_FORMATTER: ClozeFormatter = {
  asking: (_answer, hint) => (hint ? `[${hint}]` : '[...]'),
  showingAnswer: (answer) => `==${answer}==`,
  hiding: (_answer, hint) => (hint ? `[${hint}]` : '[...]'),
};

/** A reversed card's two siblings: the question both ways round. */
function bothWays({ front, back }: Sides): Sides[] {
  return [
    { front, back },
    { front: back, back: front },
  ];
}

export function expandSides(
  type: CardType,
  question: string,
  options: ParserOptions,
  formatter: ClozeFormatter = MARKDOWN_CLOZE_FORMATTER,
): Sides[] {
  switch (type) {
    case 'SingleLineBasic':
      return [splitInline(question, options.singleLineCardSeparator)];
    case 'SingleLineReversed':
      return bothWays(splitInline(question, options.singleLineReversedCardSeparator));
    case 'MultiLineBasic':
      return [splitMultiLine(question, options.multilineCardSeparator)];
    case 'MultiLineReversed':
      return bothWays(splitMultiLine(question, options.multilineReversedCardSeparator));
    case 'Cloze':
      return expandCloze(question, options.clozePatterns, formatter);
  }
}

/** Splits at the separator the parser found: its first occurrence outside math and code spans. */
function splitInline(question: string, separator: string): Sides {
  const masked = maskMathInText(question);
  let idx = -1;
  for (const [offset, line] of linesWithOffsets(masked)) {
    const at = inlineMarkerIndex(line, separator);
    if (at !== -1) {
      idx = offset + at;
      break;
    }
  }
  if (idx === -1) idx = question.indexOf(separator);
  if (idx === -1) return { front: question, back: '' };
  return { front: question.slice(0, idx), back: question.slice(idx + separator.length) };
}

function* linesWithOffsets(text: string): Generator<[number, string]> {
  let offset = 0;
  for (const line of text.split('\n')) {
    yield [offset, line];
    offset += line.length + 1;
  }
}

/** Splits at the first separator line outside display math (`findLineIndexOfSearchStringIgnoringWs`). */
function splitMultiLine(question: string, separator: string): Sides {
  const lines = question.split('\n');
  const masked = maskMathInText(question).split('\n');
  const idx = lines.findIndex((line, i) => line.trim() === separator && masked[i].trim() === separator);
  if (idx === -1) return { front: question, back: '' };
  return { front: lines.slice(0, idx).join('\n'), back: lines.slice(idx + 1).join('\n') };
}

function expandCloze(question: string, patterns: string[], formatter: ClozeFormatter): Sides[] {
  const { text, restore } = protectMath(question);
  const note = new ClozeCrafter(patterns).createClozeNote(text);
  if (!note) return [];
  const sides: Sides[] = [];
  for (let i = 0; i < note.numCards; i++) {
    sides.push({ front: restore(note.getCardFront(i, formatter)), back: restore(note.getCardBack(i, formatter)) });
  }
  return sides;
}
