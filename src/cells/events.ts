/**
 * What a cell run reports, one event per line of newline-delimited JSON from the child
 * process to the runner (and from the server to the browser). `cell` is the index of the
 * cell in the run (0 for a single linked cell).
 */

/** A MIME bundle as Jupyter has it: `text/html`, `image/png` (base64), `application/vnd.plotly.v1+json`... */
export type MimeBundle = Record<string, string | object>;

export type CellEvent =
  /** The TypeScript converter is ready (it takes about a second to start). */
  | { type: 'ready'; ms: number; codeCache?: { hits: number; misses: number; rejected: number } }
  | { type: 'cell-start'; cell: number }
  | { type: 'stream'; cell: number; name: 'stdout' | 'stderr'; text: string }
  /** tslab.display.* and cardlab's displayPlotly; `update` replaces the output with the same displayId. */
  | { type: 'display'; cell: number; data: MimeBundle; metadata: object; displayId?: string; update: boolean }
  /** The value of the cell's last expression, formatted as tslab prints it (on stdout, in Jupyter). */
  | { type: 'result'; cell: number; text: string }
  /**
   * A compile error (TypeScript diagnostic) or a runtime error. `line` and `column` are 1-based and
   * relative to the cell; for runtime errors they are found from the stack (see child.ts).
   * `text` is what tslab prints on stderr in Jupyter.
   */
  | { type: 'error'; cell: number; kind: 'compile' | 'runtime'; message: string; line?: number; column?: number; text: string }
  | { type: 'cell-end'; cell: number; ok: boolean; ms: number }
  /**
   * Grading only: an instructor's test cell passed or failed (`message` says why). Written by the
   * child's trusted grading code with the run's `key`; autograde counts no verdict without it.
   */
  | { type: 'verdict'; cell: number; passed: boolean; message: string | null; key: string }
  /**
   * Always the last event, sent by the runner when the child process is gone (the child cannot send
   * one). `ms` counts from the hand-over of the job; `message` says which limit stopped the run.
   */
  | { type: 'exit'; ok: boolean; reason: ExitReason; exitCode: number | null; signal: string | null; ms: number; message?: string };

/**
 * Why the run ended: `done` (every cell ran), `cell-error` (a cell failed; later cells were not run),
 * `timeout` (killed at the time limit), `memory` (killed at the memory limit), `output-limit` (killed
 * for printing too much), `stopped` (cancelled by the caller: the Stop button, a client that went
 * away, a shutdown), `crash` (anything else, such as a cell calling process.exit).
 */
export type ExitReason = 'done' | 'cell-error' | 'timeout' | 'memory' | 'output-limit' | 'stopped' | 'crash';

/** The job the runner sends the child on stdin. */
export interface CellJob {
  /** Sources of the code cells, run in order in one kernel-like context. */
  cells: string[];
  /** Run every cell even after one failed (as nbgrader does to grade each cell); default: stop. */
  continueAfterErrors?: boolean;
  /** Grade: student cells confined, tests run apart from them (src/coursework/grading-child.ts). */
  grading?: GradingJob;
}

export interface GradingJob {
  /** A secret of this run: verdict events carry it. */
  key: string;
  /** For each cell: true when it is an instructor's test cell. */
  tests: boolean[];
  /** The source notebook's imports, on one line (e.g. `import { tf } from 'cardlab';`): the tests' names. */
  trustedImports: string;
}
