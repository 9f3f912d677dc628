/**
 * What confining a submission costs per autograde: the solved assignment 1 graded by `autograde`
 * (student cells in an SES compartment after lockdown, tests apart, keyed verdicts) side by side
 * with the same cells run unconfined in one runner child (how autograde ran them before).
 *
 *   npx cardlab bench autograde [--reps 3] [--json]
 *
 * Wall-clock milliseconds from the call to the report (child start-up included), median of --reps.
 */
import path from 'path';
import { assignNotebook, autograde, readAssignment } from '../src/coursework';
import { cellSource, readNotebook, type Notebook } from '../src/cells/notebook';
import { PROJECT_ROOT, runCells } from '../src/cells/runner';

/** The student copy with the instructor's solutions filled in: a right submission. */
function solvedSubmission(source: string): Notebook {
  const original = readNotebook(source);
  const gradedAt = new Set(readAssignment(source).graded.map((g) => g.index));
  const student = assignNotebook(source);
  return {
    ...student,
    cells: student.cells.map((cell, i) => (cell.cell_type === 'code' && !gradedAt.has(i) ? { ...cell, source: cellSource(original.cells[i]) } : cell)),
  };
}

export interface AutogradeReportOptions {
  reps?: number;
  json?: boolean;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

export async function runAutogradeReport(options: AutogradeReportOptions = {}): Promise<{ confinedMs: number; unconfinedMs: number }> {
  const reps = options.reps ?? 3;
  const source = path.join(PROJECT_ROOT, 'coursework', '01-composite-layer.ipynb');
  const submission = solvedSubmission(source);
  const assignment = readAssignment(source);
  // The cells autograde runs: the submission's, each graded one replaced by the instructor's test cell.
  const cells = submission.cells.flatMap((cell, index) => {
    if (cell.cell_type !== 'code') return [];
    const graded = assignment.graded.find((g) => g.index === index);
    return [graded ? graded.grader : cellSource(cell)];
  });
  const confined: number[] = [];
  const unconfined: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    let started = Date.now();
    const report = await autograde({ submission, source });
    if (report.total !== report.max) throw new Error(`the solved assignment scored ${report.total}/${report.max}: ${JSON.stringify(report.cells)}`);
    confined.push(Date.now() - started);
    started = Date.now();
    const run = await runCells(cells, { continueAfterErrors: true }).result;
    if (!run.ok) throw new Error(`the unconfined run failed: ${run.reason}`);
    unconfined.push(Date.now() - started);
  }
  const result = { confinedMs: median(confined), unconfinedMs: median(unconfined) };
  if (options.json) {
    console.log(JSON.stringify({ ...result, reps, confined, unconfined }));
  } else {
    console.log(`autograde of the solved assignment 1, median of ${reps}:`);
    console.log(`  confined (SES, keyed verdicts): ${result.confinedMs} ms`);
    console.log(`  unconfined (same cells, one child): ${result.unconfinedMs} ms`);
    console.log(`  ratio: ${(result.confinedMs / result.unconfinedMs).toFixed(2)}`);
  }
  return result;
}
