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

export function cellScriptName(cell: number): string {
  return `cardlab-cell-${cell}`;
}

const CELL_FRAME = /cardlab-cell-(\d+):(\d+):(\d+)/g;

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

/**
 * The line in the cell of the innermost stack frame inside that cell (`output` is the JavaScript
 * tslab ran for it), or undefined when no frame is in the cell (an error thrown from library code
 * called asynchronously, or inside a function of an earlier cell called from a timer).
 */
export function cellLineOfRuntimeError(
  stack: string,
  cell: number,
  output: string,
  source: string,
): { line: number } | undefined {
  if (!output) return undefined;
  for (const frame of stack.matchAll(CELL_FRAME)) {
    if (Number(frame[1]) !== cell) continue;
    // The executor wraps the output as `(function(exports, require) { <output>`: lines stay the same.
    const line = sourceLineOf(output, Number(frame[2]) - 1, source);
    return line === undefined ? undefined : { line };
  }
  return undefined;
}
