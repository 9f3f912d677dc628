/**
 * Marker regions in an instructor's code cell, as nbgrader has them for Python:
 *
 *   // BEGIN SOLUTION … // END SOLUTION          replaced in the student copy by a stub that throws
 *   // BEGIN HIDDEN TESTS … // END HIDDEN TESTS  removed from the student copy, run when grading
 *
 * Regions do not nest; a marker is a line of its own.
 */

export type RegionKind = 'solution' | 'hidden';

export interface Segment {
  kind: 'code' | RegionKind;
  /** The lines of the segment, without the marker lines, each with its line ending. */
  lines: string[];
  /** Indentation of the BEGIN marker: the stub is indented the same. */
  indent: string;
}

const MARKER = /^([ \t]*)\/\/[ \t]*(BEGIN|END)[ \t]+(SOLUTION|HIDDEN TESTS)[ \t]*\r?\n?$/;
const KIND: Record<string, RegionKind> = { SOLUTION: 'solution', 'HIDDEN TESTS': 'hidden' };
const MARKER_NAME: Record<RegionKind, string> = { solution: 'SOLUTION', hidden: 'HIDDEN TESTS' };

/** The stub a solution region becomes in the student copy. */
export const STUB = 'throw new Error("not implemented");';

/** Lines with their endings, so joining them gives the source back. */
function splitLines(source: string): string[] {
  return source.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** Splits a cell into code and regions; `where` (notebook and cell) starts every error message. */
export function parseRegions(source: string, where: string): Segment[] {
  const segments: Segment[] = [];
  let current: Segment = { kind: 'code', lines: [], indent: '' };
  let openedAt = 0;
  for (const [index, line] of splitLines(source).entries()) {
    const marker = MARKER.exec(line);
    if (!marker) {
      current.lines.push(line);
      continue;
    }
    const [, indent, edge, name] = marker;
    const kind = KIND[name];
    const lineNo = index + 1;
    if (edge === 'BEGIN') {
      if (current.kind !== 'code') {
        throw new Error(
          `${where}: line ${lineNo}: "// BEGIN ${name}" inside the ${MARKER_NAME[current.kind]} region opened on line ${openedAt} (regions do not nest)`,
        );
      }
      segments.push(current);
      current = { kind, lines: [], indent };
      openedAt = lineNo;
    } else {
      if (current.kind !== kind) {
        const open = current.kind === 'code' ? 'no region is open' : `the open region (line ${openedAt}) is ${MARKER_NAME[current.kind]}`;
        throw new Error(`${where}: line ${lineNo}: "// END ${name}" without a matching "// BEGIN ${name}": ${open}`);
      }
      segments.push(current);
      current = { kind: 'code', lines: [], indent: '' };
    }
  }
  if (current.kind !== 'code') {
    throw new Error(`${where}: line ${openedAt}: "// BEGIN ${MARKER_NAME[current.kind]}" is never closed by "// END ${MARKER_NAME[current.kind]}"`);
  }
  segments.push(current);
  return segments.filter((segment) => segment.kind !== 'code' || segment.lines.length > 0);
}

export function hasRegion(segments: Segment[], kind: RegionKind): boolean {
  return segments.some((segment) => segment.kind === kind);
}

/** The student copy: solutions stubbed, hidden tests removed. */
export function studentSource(segments: Segment[]): string {
  return segments
    .map((segment) => {
      if (segment.kind === 'code') return segment.lines.join('');
      if (segment.kind === 'solution') return `${segment.indent}${STUB}\n`;
      return '';
    })
    .join('');
}

/** What the grader runs: the visible code and the hidden tests (the markers are comments, and are dropped). */
export function graderSource(segments: Segment[]): string {
  return segments.map((segment) => segment.lines.join('')).join('');
}
