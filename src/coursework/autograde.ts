/**
 * Autograding: the student's notebook runs top to bottom in the cells sandbox (runner.ts), each
 * graded cell replaced by the instructor's whole test cell (visible and hidden tests), so edited
 * or deleted tests change nothing but the report. Every cell runs even after one fails (as
 * nbgrader does); a graded cell scores its points when it runs without throwing.
 */
import { randomBytes } from 'crypto';
import { runCells, DEFAULT_TIME_LIMIT_MS, type RunResult } from '../cells/runner';
import { cellSource } from '../cells/notebook';
import type { CellEvent, ExitReason } from '../cells/events';
import type { Notebook } from '../cells/notebook';
import { readAssignment, loadNotebook, type GradedCell } from './assignment';
import { gradeOf, testChecksum, type GradeMetadata } from './grade-metadata';

export const DEFAULT_GRADING_MEMORY_MB = 1024;


export interface CellGrade {
  id: string;
  points: number;
  maxPoints: number;
  passed: boolean;
  /** Why the cell scored 0 (the error it threw, a limit, tampering); null when it passed. */
  message: string | null;
}

export interface GradeReport {
  total: number;
  max: number;
  cells: CellGrade[];
  /** What is wrong with the submission itself: graded cells deleted, renamed or edited. */
  problems: string[];
}

export interface AutogradeOptions {
  /** The student's notebook: a path or a parsed notebook. */
  submission: string | Notebook;
  /** The instructor's source notebook (with solutions and hidden tests). */
  source: string | Notebook;
  /** Time limit of the whole run (default: the runner's, 30 s). */
  timeoutMs?: number;
  /** Heap limit of the run, in MB (default 1024). */
  memoryMb?: number;
}

/** One cell of the run, and the graded cell it stands for. */
interface PlannedCell {
  code: string;
  graded?: GradedCell;
}

interface Plan {
  cells: PlannedCell[];
  /** Graded ids scored 0 whatever happens, with the reason. */
  forfeited: Map<string, string>;
  problems: string[];
}

/** Matches the submission's graded cells to the assignment's and lists what was tampered with. */
function planRun(submission: Notebook, name: string, graded: GradedCell[]): Plan {
  const problems: string[] = [];
  const forfeited = new Map<string, string>();
  const forfeit = (id: string, reason: string) => {
    problems.push(reason);
    if (!forfeited.has(id)) forfeited.set(id, reason);
  };
  const seen = new Set<string>();
  const cells: PlannedCell[] = [];
  for (const [index, cell] of submission.cells.entries()) {
    if (cell.cell_type !== 'code') continue;
    const where = `${name}: cell ${index}`;
    let grade: GradeMetadata | undefined;
    try {
      grade = gradeOf(cell, where);
    } catch (err) {
      problems.push((err as Error).message);
      cells.push({ code: cellSource(cell) });
      continue;
    }
    const id = grade?.id;
    const expected = graded.find((g) => g.id === id);
    if (!grade || !expected) {
      if (grade) problems.push(`${where}: graded cell id "${grade.id}" is not in the assignment (was its id changed?)`);
      cells.push({ code: cellSource(cell) });
      continue;
    }
    if (seen.has(expected.id)) {
      forfeit(expected.id, `${where}: graded cell "${expected.id}" appears more than once`);
      continue;
    }
    seen.add(expected.id);
    if (testChecksum(cellSource(cell)) !== expected.checksum) {
      forfeit(expected.id, `${where}: the tests of graded cell "${expected.id}" were edited`);
    }
    cells.push({ code: expected.grader, graded: expected });
  }
  for (const g of graded) {
    if (!seen.has(g.id)) forfeit(g.id, `graded cell "${g.id}" is missing from the submission (deleted, or its id changed)`);
  }
  return { cells, forfeited, problems };
}

/** Why a cell that never ended did not: the reason the run was stopped. */
function stoppedMessage(reason: ExitReason, result: RunResult, timeoutMs: number, memoryMb: number): string {
  switch (reason) {
    case 'timeout':
      return `time limit of ${timeoutMs / 1000} s exceeded`;
    case 'memory':
      return `memory limit of ${memoryMb} MB exceeded`;
    case 'output-limit':
      return 'output limit exceeded: the notebook printed too much';
    default: {
      const exit = result.events.find((e): e is Extract<CellEvent, { type: 'exit' }> => e.type === 'exit');
      const how = exit?.signal ? `signal ${exit.signal}` : `exit code ${exit?.exitCode}`;
      return `the notebook's process ended before this cell finished (${how})`;
    }
  }
}

/** Grades a submission against the instructor's source notebook. */
export async function autograde(options: AutogradeOptions): Promise<GradeReport> {
  const assignment = readAssignment(options.source);
  const { notebook: submission, name } = loadNotebook(options.submission, 'the submission');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIME_LIMIT_MS;
  const memoryMb = options.memoryMb ?? DEFAULT_GRADING_MEMORY_MB;
  const plan = planRun(submission, name, assignment.graded);

  const key = randomBytes(24).toString('hex');
  const result = await runCells(
    plan.cells.map((c) => c.code),
    // The runner's default read access is the code alone (codeReadableRoots): a submission cannot
    // read the instructors' notebooks (hidden tests) or other submissions. `grading` confines the
    // student's cells and has the tests' verdicts written outside their reach (grading-child.ts).
    {
      timeLimitMs: timeoutMs,
      memoryLimitMb: memoryMb,
      continueAfterErrors: true,
      grading: { key, tests: plan.cells.map((c) => c.graded !== undefined), trustedImports: assignment.trustedImports },
    },
  ).result;
  // Only verdicts with this run's key count: any other event (cell-end included) could be forged.
  const verdicts = new Map<number, Extract<CellEvent, { type: 'verdict' }>>();
  for (const event of result.events) {
    if (event.type === 'verdict' && event.key === key && !verdicts.has(event.cell)) verdicts.set(event.cell, event);
  }

  const cells = assignment.graded.map((g): CellGrade => {
    const scored = (passed: boolean, message: string | null): CellGrade => ({
      id: g.id,
      points: passed ? g.points : 0,
      maxPoints: g.points,
      passed,
      message,
    });
    const forfeited = plan.forfeited.get(g.id);
    if (forfeited) return scored(false, forfeited);
    const runIndex = plan.cells.findIndex((c) => c.graded === g);
    const verdict = verdicts.get(runIndex);
    if (!verdict) return scored(false, stoppedMessage(result.reason, result, timeoutMs, memoryMb));
    return verdict.passed ? scored(true, null) : scored(false, verdict.message ?? 'the cell failed');
  });
  return {
    total: cells.reduce((sum, c) => sum + c.points, 0),
    max: cells.reduce((sum, c) => sum + c.maxPoints, 0),
    cells,
    problems: plan.problems,
  };
}
