/**
 * A deck file → a Note with its cards (the plugin's NoteQuestionParser): frontmatter (tags, note
 * schedule), tags and headings of the body, each card's deck, context, siblings and schedules.
 */
import type { Card, CardSchedule, Note, ParserOptions } from './model';
import { DEFAULT_FLASHCARD_TAGS, resolveParserOptions } from './options';
import { frontmatterEnd, parseLines, splitLines, type LocatedCard } from './parse';
import { cyrb53, findScheduleComment, parseSegment, splitQuestionText } from './question';
import { expandSides } from './siblings';
import { formatYmd, parsePluginDate } from './scheduling/dates';

export interface ParseNoteOptions extends Partial<ParserOptions> {
  /** The note's path (card ids, title). Default `note.md`. */
  path?: string;
  /** Tags that make a deck. Default `["#flashcards"]`. */
  flashcardTags?: string[];
}

/** A tag and the line it is on (-1: frontmatter, as the plugin's `frontmatterTagPseudoLineNum`). */
interface TagAt {
  tag: string;
  line: number;
}

interface Heading {
  line: number;
  level: number;
  text: string;
}

export function parseNote(text: string, options: ParseNoteOptions = {}): Note {
  const parserOptions = resolveParserOptions(options);
  const flashcardTags = (options.flashcardTags ?? [...DEFAULT_FLASHCARD_TAGS]).map((t) => (t.startsWith('#') ? t : '#' + t));
  const path = options.path ?? 'note.md';
  const source = String(text ?? '');
  const lines = splitLines(source);
  const fmEnd = frontmatterEnd(lines);
  const frontmatter = fmEnd > 0 ? readFrontmatter(lines.slice(1, fmEnd)) : new Map<string, string[]>();

  const content = lines.map((line, i) => (i <= fmEnd ? '' : line));
  const located = parseLines(content, parserOptions);
  const structure = scanBody(content);

  const fmTags: TagAt[] = [...(frontmatter.get('tags') ?? []), ...(frontmatter.get('tag') ?? [])]
    .flatMap(splitFrontmatterTags)
    .map((tag) => ({ tag, line: -1 }));
  const allTags = [...fmTags, ...structure.tags];
  const isFlashcardTag = (tag: string) => flashcardTags.some((ft) => tag === ft || tag.startsWith(ft + '/'));
  const deckOf = decksFinder(allTags.filter((t) => isFlashcardTag(t.tag)), located);

  const seen = new Map<string, number>();
  const cards: Card[] = located.map((parsed) => {
    const end = realEnd(content, parsed);
    const parts = splitQuestionText(parsed.text);
    const hashed = (parts.tag ? `#${parts.tag} ` : '') + parts.question;
    const textHash = cyrb53(hashed);
    const occurrence = seen.get(textHash) ?? 0;
    seen.set(textHash, occurrence + 1);
    const comment = findScheduleComment(content, parsed.startLine, end);
    const sides = expandSides(parsed.cardType, parts.question, parserOptions);
    const segments = comment?.segments ?? [];
    const tagIsDeck = parts.tag !== null && isFlashcardTag('#' + parts.tag);
    return {
      id: `${path}#${textHash}:${occurrence}`,
      type: parsed.cardType,
      parsed: { cardType: parsed.cardType, text: parsed.text, firstLineNum: parsed.firstLineNum, lastLineNum: parsed.lastLineNum },
      range: { start: parsed.startLine, end },
      question: parts.question,
      textHash,
      tag: parts.tag,
      blockId: parts.blockId,
      context: contextAt(structure.headings, parsed.startLine),
      decks: tagIsDeck ? [parts.tag!] : deckOf(parsed),
      siblings: sides.map((side, index) => ({
        index,
        front: side.front,
        back: side.back,
        segment: segments[index] ?? null,
        schedule: segments[index] !== undefined ? parseSegment(segments[index]) : null,
      })),
      comment,
    };
  });

  const tags = [...new Set(allTags.map((t) => t.tag.slice(1)))];
  return {
    path,
    title: noteTitle(path),
    eol: source.includes('\r\n') ? '\r\n' : '\n',
    frontmatterEnd: fmEnd,
    tags,
    isDeck: allTags.some((t) => isFlashcardTag(t.tag)),
    schedule: noteSchedule(frontmatter),
    options: parserOptions,
    cards,
  };
}

function noteTitle(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? path;
  return base.replace(/\.md$/i, '');
}

/** The card's last real line: the plugin's last line without the blank lines before an end marker. */
function realEnd(lines: string[], card: LocatedCard): number {
  let end = Math.min(card.lastLineNum, lines.length - 1);
  while (end > card.startLine && lines[end].trim().length === 0) end--;
  return end;
}

/**
 * The plugin's deck rule (determineQuestionTopicPathList): tags on a card's own lines belong to that
 * card; otherwise the last tag line above the card, else the frontmatter tags, else the first
 * flashcard tag of the note.
 */
function decksFinder(flashcardTags: TagAt[], cards: LocatedCard[]): (card: LocatedCard) => string[] {
  const sorted = [...flashcardTags].sort((a, b) => a.line - b.line);
  const onCardLine = (line: number) => cards.some((c) => line >= c.firstLineNum && line <= c.lastLineNum);
  const noteLevel = sorted.filter((t) => !onCardLine(t.line));
  const frontmatter = noteLevel.filter((t) => t.line === -1).map((t) => t.tag);
  const groups = new Map<number, string[]>();
  for (const t of noteLevel) if (t.line >= 0) groups.set(t.line, [...(groups.get(t.line) ?? []), t.tag]);
  const groupLines = [...groups.keys()].sort((a, b) => a - b);
  return (card) => {
    let result: string[] = frontmatter;
    for (let i = groupLines.length - 1; i >= 0; i--) {
      if (groupLines[i] < card.firstLineNum) {
        result = groups.get(groupLines[i])!;
        break;
      }
    }
    if (result.length === 0 && sorted.length > 0) result = [sorted[0].tag];
    return [...new Set(result.map((t) => t.slice(1).split('/').filter(Boolean).join('/')))];
  };
}

function contextAt(headings: Heading[], line: number): string[] {
  const stack: Heading[] = [];
  for (const h of headings) {
    if (h.line > line) break;
    while (stack.length > 0 && stack[stack.length - 1].level >= h.level) stack.pop();
    stack.push(h);
  }
  // The plugin drops footnote references from headings.
  return stack.map((h) => h.text.replace(/\[\^\d+\]/g, '').trim());
}

/** A line that opens or closes fenced code, and an ATX heading (outside code). */
export const FENCE_LINE = /^\s*(`{3,}|~{3,})/;
export const HEADING_LINE = /^(#{1,6})[ \t]+(.*?)[ \t]*$/;

/** The tags on one line (`#tag` with at least one non-digit, outside code spans), with their `#`. */
export function tagsInLine(line: string): string[] {
  const prose = line.replace(/(`+)[\s\S]*?\1/g, ' ');
  const tags: string[] = [];
  for (const m of prose.matchAll(/(^|\s)#([\p{L}\p{N}_\-/]+)/gu)) if (/[^\d/]/.test(m[2])) tags.push('#' + m[2]);
  return tags;
}

/** Tags (`#tag`, at least one non-digit) and ATX headings of the body, outside code. */
function scanBody(lines: string[]): { tags: TagAt[]; headings: Heading[] } {
  const tags: TagAt[] = [];
  const headings: Heading[] = [];
  let fence: string | null = null;
  lines.forEach((line, i) => {
    const fenceMatch = FENCE_LINE.exec(line);
    if (fence !== null) {
      if (fenceMatch && fenceMatch[1][0] === fence[0] && fenceMatch[1].length >= fence.length) fence = null;
      return;
    }
    if (fenceMatch) {
      fence = fenceMatch[1];
      return;
    }
    const heading = HEADING_LINE.exec(line);
    if (heading) headings.push({ line: i, level: heading[1].length, text: heading[2].replace(/[ \t]+#+$/, '') });
    for (const tag of tagsInLine(line)) tags.push({ tag, line: i });
  });
  return { tags, headings };
}

/** A small YAML reader for the keys the plugin reads: `key: value`, `key: [a, b]`, `key:` + `- a` lines. */
function readFrontmatter(lines: string[]): Map<string, string[]> {
  const result = new Map<string, string[]>();
  let listKey: string | null = null;
  for (const line of lines) {
    const item = /^\s+-\s+(.*)$/.exec(line) ?? /^-\s+(.*)$/.exec(line);
    if (item && listKey) {
      result.get(listKey)!.push(unquote(item[1]));
      continue;
    }
    const kv = /^([A-Za-z0-9_-]+)\s*:\s*(.*)$/.exec(line);
    if (!kv) continue;
    const [, key, raw] = kv;
    const value = raw.trim();
    listKey = null;
    if (value === '') {
      result.set(key, []);
      listKey = key;
    } else if (value.startsWith('[') && value.endsWith(']')) {
      result.set(key, value.slice(1, -1).split(',').map(unquote).filter((v) => v.length > 0));
    } else {
      result.set(key, [unquote(value)]);
    }
  }
  return result;
}

function unquote(s: string): string {
  const t = s.trim();
  if (t.length >= 2 && ((t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'")))) return t.slice(1, -1);
  return t;
}

/** Obsidian reads a frontmatter tag value as tags separated by commas or spaces, `#` optional. */
function splitFrontmatterTags(value: string): string[] {
  return value
    .split(/[,\s]+/)
    .filter((t) => t.length > 0 && t !== '#')
    .map((t) => (t.startsWith('#') ? t : '#' + t));
}

function noteSchedule(frontmatter: Map<string, string[]>): CardSchedule | null {
  const due = frontmatter.get('sr-due')?.[0];
  const interval = frontmatter.get('sr-interval')?.[0];
  const ease = frontmatter.get('sr-ease')?.[0];
  if (due === undefined || interval === undefined || ease === undefined) return null;
  const date = parsePluginDate(due);
  const i = parseFloat(interval);
  const e = parseFloat(ease);
  if (!date || !Number.isFinite(i) || !Number.isFinite(e)) return null;
  return { due: formatYmd(date), interval: i, ease: e };
}
