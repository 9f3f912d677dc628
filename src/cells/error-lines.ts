/**
 * Finds the cell line of a runtime error. tslab runs the JavaScript that TypeScript emitted for
 * the cell (without a source map: its compiler options are fixed), so the stack names a line of
 * that JavaScript. TypeScript's emit keeps statements in order and mostly as written (types
 * removed, `;` added, `exports.x = x;` lines added), so the line is found by matching its text
 * against the cell's lines: first exactly (ignoring spaces and `;`), else by the most shared tokens.
 *
 * The child names each cell's script with a `//# sourceURL=cardlab-cell-N` comment (tslab's
 * scripts are otherwise all `evalmachine.<anonymous>`), so frames of functions defined in earlier
 * cells are told apart from the failing cell's own.
 */
import { inspect, types } from 'util';

export function cellScriptName(cell: number): string {
  return `cardlab-cell-${cell}`;
}

function normalize(line: string): string {
  return line.replace(/\s+/g, '').replace(/;+$/, '').replace(/"/g, "'");
}

function tokens(line: string): Set<string> {
  return new Set(line.match(/[A-Za-z_$][\w$]*|\d+(?:\.\d+)?|'[^']*'|"[^"]*"|`[^`]*`/g) ?? []);
}

/** The 1-based line in `source` that emitted the JavaScript line `jsLine` (0-based) of `output`. */
export function sourceLineOf(output: string, jsLine: number, source: string): number | undefined {
  const jsLines = output.split('\n');
  const target = jsLines[jsLine];
  if (target === undefined || target.trim() === '') return undefined;
  const sourceLines = source.split('\n');

  // Same text: the k-th JavaScript line with that text came from the k-th cell line with it.
  const key = normalize(target);
  const occurrence = jsLines.slice(0, jsLine).filter((l) => normalize(l) === key).length;
  const exact = sourceLines.flatMap((l, i) => (normalize(l) === key ? [i] : []));
  if (exact.length > 0) return exact[Math.min(occurrence, exact.length - 1)] + 1;

  const wanted = tokens(target);
  let best: number | undefined;
  let bestScore = 0;
  sourceLines.forEach((line, i) => {
    const have = tokens(line);
    let shared = 0;
    for (const t of wanted) if (have.has(t)) shared++;
    const score = shared / Math.max(wanted.size, have.size, 1);
    if (score > bestScore) {
      bestScore = score;
      best = i + 1;
    }
  });
  return bestScore >= 0.5 ? best : undefined;
}

/** A cell as the user wrote it and as tslab ran it. */
export interface CellCode {
  source: string;
  output: string;
}

interface Token {
  text: string;
  start: number;
}

const TOKEN = /[A-Za-z_$][\w$]*|\d+(?:\.\d+)?|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`]*`|\S/g;

function lexLine(line: string): Token[] {
  return [...line.matchAll(TOKEN)].map((m) => ({ text: m[0].replace(/^"(.*)"$/, "'$1'"), start: m.index! }));
}

/**
 * Tokens of an emitted line without what the emitter put in front of the user's names:
 * `exports.x` (a declaration of an earlier cell), `cardlab_1.f` and `(0, cardlab_1.f)` (imports).
 */
function userTokens(tokens: Token[]): Token[] {
  const kept: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    const qualifier = (t.text === 'exports' || /^\w+_\d+$/.test(t.text)) && tokens[i + 1]?.text === '.';
    if (qualifier) {
      i++; // and the dot
      continue;
    }
    if (t.text === '(' && tokens[i + 1]?.text === '0' && tokens[i + 2]?.text === ',') {
      i += 2;
      continue;
    }
    kept.push(t);
  }
  return kept;
}

/** The 1-based column in `sourceLine` of what sits at 1-based column `jsColumn` of `jsLine`. */
export function sourceColumnOf(jsLine: string, jsColumn: number, sourceLine: string): number {
  const fallback = (sourceLine.match(/^\s*/)?.[0].length ?? 0) + 1;
  const js = userTokens(lexLine(jsLine));
  const at = js.findIndex((t) => t.start + t.text.length > jsColumn - 1);
  if (at < 0) return fallback;
  const target = js[at];
  const occurrence = js.slice(0, at).filter((t) => t.text === target.text).length;
  const matches = lexLine(sourceLine).filter((t) => t.text === target.text);
  const match = matches[Math.min(occurrence, matches.length - 1)];
  return match ? match.start + 1 : fallback;
}

/** Where in the cell's source a 0-based line and 1-based column of its JavaScript come from. */
export function sourcePositionOf(code: CellCode, jsLine: number, jsColumn: number): { line: number; column: number } | undefined {
  const line = sourceLineOf(code.output, jsLine, code.source);
  if (line === undefined) return undefined;
  const column = sourceColumnOf(code.output.split('\n')[jsLine], jsColumn, code.source.split('\n')[line - 1]);
  return { line, column };
}

/** A stack frame in a cell: the function's name (when it has one), the cell, its line and column. */
export interface UserFrame {
  fn?: string;
  cell: number;
  line: number;
  column: number;
}

const FRAME = /^\s*at (?:async )?(?:(.*?) \()?cardlab-cell-(\d+):(\d+):(\d+)\)?\s*$/;

/**
 * The frames of a stack that are in the user's cells, mapped to their source, innermost first;
 * the runner's, tslab's, Node's and the libraries' frames are left out.
 */
export function userFrames(stack: string, cells: ReadonlyMap<number, CellCode>): UserFrame[] {
  const frames: UserFrame[] = [];
  for (const line of stack.split('\n')) {
    const m = FRAME.exec(line);
    if (!m) continue;
    const cell = Number(m[2]);
    const code = cells.get(cell);
    // The executor wraps the output as `(function(exports, require) { <output>`: lines stay the same.
    const where = code && sourcePositionOf(code, Number(m[3]) - 1, Number(m[4]));
    if (!where) continue;
    frames.push({ fn: functionName(m[1]), cell, ...where });
  }
  return frames;
}

/** The user's function name of a frame: not the receiver V8 adds (`Proxy.f`), nor Node's or SES's wrappers. */
function functionName(raw: string | undefined): string | undefined {
  if (!raw || /^(?:eval|<anonymous>|Object\.eval|Timeout\._onTimeout|Immediate\.<anonymous>|Immediate\._onImmediate)$/.test(raw)) return undefined;
  return raw.replace(/^(?:Object|Proxy|exports)\./, '');
}

export function formatFrame(frame: UserFrame): string {
  const place = `cell ${frame.cell}, line ${frame.line}, column ${frame.column}`;
  return frame.fn ? `${frame.fn} (${place})` : place;
}

/** A TypeScript diagnostic as the user sees it: the message, then where in the cell. */
export function compileErrorText(cell: number, line: number, column: number, message: string): string {
  return `${message}\n    at ${formatFrame({ cell, line, column })}\n`;
}

/** What the user sees of an error: its message and their own frames only. */
export function userStack(message: string, frames: UserFrame[]): string {
  return [message, ...frames.map((f) => `    at ${formatFrame(f)}`)].join('\n');
}

/**
 * The line and column in `cell` of the innermost frame inside that cell (for an error thrown in
 * a function of an earlier cell: where the failing cell called it), or undefined when no frame is
 * in the cell (an error thrown from library code called asynchronously).
 */
export function locateRuntimeError(frames: UserFrame[], cell: number): { line: number; column: number } | undefined {
  const frame = frames.find((f) => f.cell === cell);
  return frame && { line: frame.line, column: frame.column };
}

/**
 * A thrown value described without running code it carries (getters, Proxy traps, toString,
 * Symbol.toPrimitive): a native error's own name/message/stack, else the value's type.
 */
export function describeThrown(value: unknown): { message: string; stack?: string } {
  try {
    if (types.isNativeError(value)) {
      const own = (key: string) => {
        try {
          // V8 formats `stack` on first read (through Error.prepareStackTrace, when one is set).
          const d = Object.getOwnPropertyDescriptor(value, key);
          return d && 'value' in d && typeof d.value === 'string' ? d.value : undefined;
        } catch {
          return undefined;
        }
      };
      let name = own('name');
      if (name === undefined) {
        // The constructor's prototype chain is frozen intrinsics or frozen library code.
        for (let p = Object.getPrototypeOf(value); p && name === undefined; p = Object.getPrototypeOf(p)) {
          const d = Object.getOwnPropertyDescriptor(p, 'name');
          if (d && 'value' in d && typeof d.value === 'string') name = d.value;
        }
      }
      return { message: `${name ?? 'Error'}: ${own('message') ?? ''}`, stack: own('stack') };
    }
    return { message: `a non-error value was thrown: ${inspect(value, { customInspect: false, showProxy: true, depth: 1, getters: false }).slice(0, 500)}` };
  } catch {
    return { message: 'an unprintable value was thrown' };
  }
}

