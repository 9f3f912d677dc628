/**
 * What a parsed card's text holds besides the question (the plugin's `QuestionText.splitText`):
 * a deck tag at its start, its scheduling comment (same line, next line, or in the metadata
 * callout), an Obsidian block id at its end. And the comment's schedules, one per sibling.
 */
import type { CardSchedule, ScheduleComment } from './model';
import { SR_COMMENT_BEGIN, SR_METADATA_CALLOUT } from './parse';
import { formatYmd, parsePluginDate } from './scheduling/dates';

/** A tag at the start of a card's text (`OBSIDIAN_TAG_AT_STARTOFLINE_REGEX`). */
const TAG_AT_START = /^#[^\s#]+/;
/** A block id at the end of the question (`OBSIDIAN_BLOCK_ID_ENDOFLINE_REGEX`). */
const BLOCK_ID_AT_END = / (\^[a-zA-Z0-9-]+)$/;
/** A scheduling comment; the plugin removes them with `/<!--SR:.+-->/gm`. */
const SR_COMMENT = /<!--SR:(.*?)-->/g;
/** One SM-2 segment (`MULTI_SCHEDULING_EXTRACTOR` without the `!`). */
const SEGMENT = /^([\d-]+),(\d+(?:\.\d+)?),(\d+)/;
/** The due date the plugin writes for siblings not yet reviewed. */
export const NEW_CARD_DUMMY_DUE = '2000-01-01';

export interface QuestionParts {
  /** The question without tag, comment and block id (the plugin's `actualQuestion`). */
  question: string;
  /** The tag at the start, without `#`, or null. */
  tag: string | null;
  blockId: string | null;
}

/** Removes the metadata callout lines and the scheduling comments from a card's text. */
export function removeScheduleInfo(text: string): string {
  const lines = text.split('\n');
  const calloutAt = lines.findIndex((l) => l.startsWith(SR_METADATA_CALLOUT));
  let kept = lines;
  if (calloutAt > 0) {
    let end = calloutAt;
    while (end < lines.length - 1 && !lines[end].includes(SR_COMMENT_BEGIN)) end++;
    kept = [...lines.slice(0, calloutAt), ...lines.slice(end + 1)];
  }
  return kept.join('\n').replace(/<!--SR:.+-->/gm, '');
}

export function splitQuestionText(text: string): QuestionParts {
  const withoutSchedule = removeScheduleInfo(text);
  let question = withoutSchedule.trimEnd();
  let tag: string | null = null;
  const tagMatch = TAG_AT_START.exec(withoutSchedule.trimStart());
  if (tagMatch && tagMatch[0].length > 1) {
    tag = tagMatch[0].slice(1);
    question = withoutSchedule.trimStart().slice(tagMatch[0].length).trim();
  }
  let blockId: string | null = null;
  const idMatch = BLOCK_ID_AT_END.exec(question);
  if (idMatch) {
    blockId = idMatch[1];
    question = question.slice(0, question.length - idMatch[0].length).trimEnd();
  }
  return { question, tag, blockId };
}

/**
 * The card's scheduling comment within its source lines `lines[start..end]`, or null. With several
 * comments (hand edits), their segments are read in order and the last one is the one to rewrite.
 */
export function findScheduleComment(lines: string[], start: number, end: number): ScheduleComment | null {
  const segments: string[] = [];
  let found: ScheduleComment | null = null;
  let legacy = false;
  for (let i = start; i <= end && i < lines.length; i++) {
    for (const m of lines[i].matchAll(SR_COMMENT)) {
      const body = m[1];
      const own = body.startsWith('!') ? body.slice(1).split('!') : [body];
      legacy = !body.startsWith('!');
      segments.push(...own);
      found = {
        line: i,
        start: m.index!,
        end: m.index! + m[0].length,
        placement: 'same-line',
        raw: m[0],
        segments: [],
        legacy,
      };
    }
  }
  if (!found) return null;
  found.segments = segments;
  const calloutLine = findCallout(lines, start, found.line);
  if (calloutLine !== -1) {
    found.placement = 'callout';
    found.calloutLine = calloutLine;
  } else if (found.line > start && found.start === 0) {
    found.placement = 'next-line';
  }
  return found;
}

function findCallout(lines: string[], start: number, commentLine: number): number {
  for (let i = commentLine; i > start; i--) {
    if (lines[i].startsWith(SR_METADATA_CALLOUT)) return i;
    if (!lines[i].startsWith('>')) return -1;
  }
  return -1;
}

/** One segment's schedule: null for a new card (`2000-01-01` placeholder), a bad date, or a non-SM-2 segment. */
export function parseSegment(segment: string): CardSchedule | null {
  const m = SEGMENT.exec(segment);
  if (!m) return null;
  const date = parsePluginDate(m[1]);
  if (!date) return null;
  const due = formatYmd(date);
  if (due === NEW_CARD_DUMMY_DUE) return null;
  return { due, interval: Number(m[2]), ease: parseInt(m[3], 10) };
}

/** The plugin's `cyrb53` string hash (hex): how it identifies a card's text. */
export function cyrb53(str: string, seed = 0): string {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16);
}
