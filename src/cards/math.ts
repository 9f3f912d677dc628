/**
 * Finds TeX math in a line (`$…$` inline, `$$…$$` display, possibly over several lines) so that the
 * card syntax inside it (`==`, `::`, a `?` line) is not read as card syntax. The plugin has no such
 * rule; its users report math turning into cards (see docs/ARCHITECTURE.md, Flashcards).
 *
 * Rules follow Obsidian/Pandoc: `$$` opens and closes display math; an inline `$` opens only when
 * followed by a non-space, closes only when preceded by a non-space; `\$` is a literal dollar;
 * nothing inside a backtick code span is math.
 */

/** Stands in for each masked character: not part of any card syntax, same length as what it hides. */
export const MASK_CHAR = '\uE000';

export interface MathSpan {
  start: number;
  /** Exclusive. */
  end: number;
}

/** Tracks display math that stays open across lines. */
export class MathScanner {
  private inDisplay = false;

  /** Whether the next line starts inside `$$` display math. */
  get insideDisplay(): boolean {
    return this.inDisplay;
  }

  /** Forgets open display math (at a blank line or the end of a card: an unclosed `$$` must not
   *  swallow the rest of the file). */
  reset(): void {
    this.inDisplay = false;
  }

  /** The math spans of `line`, advancing the display-math state. */
  scan(line: string): MathSpan[] {
    const spans: MathSpan[] = [];
    // Whether a closing `$` can still come: whether one closes depends only on its own neighbours,
    // so once a search finds none, later ones will not either (keeps long lines linear).
    let closerAhead = true;
    const unclosedRuns = new Set<number>();
    let i = 0;
    let spanStart = this.inDisplay ? 0 : -1;
    while (i < line.length) {
      const ch = line[i];
      if (ch === '\\') {
        i += 2;
        continue;
      }
      if (!this.inDisplay && ch === '`') {
        // Skip a code span: a run of n backticks up to the next run of exactly n.
        let run = 1;
        while (line[i + run] === '`') run++;
        const close = unclosedRuns.has(run) ? -1 : findBacktickRun(line, i + run, run);
        if (close === -1) unclosedRuns.add(run);
        i = close === -1 ? i + run : close + run;
        continue;
      }
      if (ch === '$' && line[i + 1] === '$') {
        if (this.inDisplay) {
          spans.push({ start: spanStart, end: i + 2 });
          this.inDisplay = false;
        } else {
          this.inDisplay = true;
          spanStart = i;
        }
        i += 2;
        continue;
      }
      if (!this.inDisplay && ch === '$' && closerAhead) {
        const end = findInlineMathEnd(line, i);
        if (end !== -1) {
          spans.push({ start: i, end: end + 1 });
          i = end + 1;
          continue;
        }
        const next = line[i + 1];
        if (next !== undefined && !/\s/.test(next) && next !== '$') closerAhead = false; // it searched the whole line
      }
      i += 1;
    }
    if (this.inDisplay) spans.push({ start: spanStart, end: line.length });
    return spans;
  }
}

function findBacktickRun(line: string, from: number, length: number): number {
  let i = from;
  while (i < line.length) {
    if (line[i] === '`') {
      let j = i;
      while (j < line.length && line[j] === '`') j++;
      if (j - i === length) return i;
      i = j;
    } else {
      i++;
    }
  }
  return -1;
}

/** The index of the `$` closing inline math opened at `open`, or -1. */
function findInlineMathEnd(line: string, open: number): number {
  const first = line[open + 1];
  if (first === undefined || /\s/.test(first) || first === '$') return -1;
  for (let i = open + 1; i < line.length; i++) {
    if (line[i] === '\\') {
      i++;
      continue;
    }
    if (line[i] === '$') {
      if (/\s/.test(line[i - 1])) continue;
      // "$5 and $6": a closing `$` followed by a digit is a price, not math.
      if (/\d/.test(line[i + 1] ?? '')) continue;
      return i;
    }
  }
  return -1;
}

/** `line` with each math character replaced by `MASK_CHAR`. */
export function maskSpans(line: string, spans: MathSpan[]): string {
  if (spans.length === 0) return line;
  let out = '';
  let at = 0;
  for (const span of spans) {
    out += line.slice(at, span.start) + MASK_CHAR.repeat(span.end - span.start);
    at = span.end;
  }
  return out + line.slice(at);
}

/** `text` (several lines) with its math masked, and the spans per line. */
export function maskMathInText(text: string): string {
  const scanner = new MathScanner();
  return text
    .split('\n')
    .map((line) => {
      if (line.trim().length === 0) scanner.reset();
      return maskSpans(line, scanner.scan(line));
    })
    .join('\n');
}

/**
 * Replaces each math span of `text` by a placeholder token that no card syntax matches, so that
 * text-level tools (ClozeCrafter) do not see into math; `restore` puts the math back.
 */
export function protectMath(text: string): { text: string; restore: (s: string) => string } {
  const masked = maskMathInText(text);
  const pieces: string[] = [];
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (masked[i] === MASK_CHAR && text[i] !== MASK_CHAR) {
      let j = i;
      while (j < text.length && masked[j] === MASK_CHAR && text[j] !== '\n') j++;
      out += `\uE001${pieces.length}\uE002`;
      pieces.push(text.slice(i, j));
      i = j;
    } else {
      out += text[i];
      i++;
    }
  }
  const restore = (s: string) => s.replace(/\uE001(\d+)\uE002/g, (_m, k: string) => pieces[Number(k)] ?? '');
  return { text: out, restore };
}
