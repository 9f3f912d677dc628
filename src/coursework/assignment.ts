/**
 * An instructor's source notebook read as an assignment: each code cell split into its marker
 * regions, and the graded cells with what the student sees and what the grader runs.
 */
import path from 'path';
import { cellSource, readNotebook, parseNotebook, type Notebook } from '../cells/notebook';
import { gradeOf, testChecksum } from './grade-metadata';
import { graderSource, hasRegion, parseRegions, studentSource } from './markers';

export interface GradedCell {
  id: string;
  points: number;
  /** Position among all the notebook's cells. */
  index: number;
  /** The visible tests, as released to the student. */
  visible: string;
  /** Checksum of the visible tests: a submission's cell must have the same. */
  checksum: string;
  /** Visible and hidden tests: what the grader runs in the student's cell's place. */
  grader: string;
}

export interface Assignment {
  name: string;
  notebook: Notebook;
  /** Student source of every cell (code cells stubbed; other cells unchanged). */
  studentSources: string[];
  graded: GradedCell[];
  /**
   * The notebook's own imports from 'cardlab' and 'tslab' (outside graded cells), on one line: the
   * grader gives the tests these names, whatever the student bound to them.
   */
  trustedImports: string;
}

/** Top-level `import … from 'cardlab' | 'tslab'` statements (what the grader's tests may import). */
const TRUSTED_IMPORT = /^import\s[^;]*?\sfrom\s*(['"])(?:cardlab|tslab)\1;?/gm;

export function trustedImportsOf(sources: string[]): string {
  const statements = sources.flatMap((source) => source.match(TRUSTED_IMPORT) ?? []);
  return [...new Set(statements.map((s) => s.replace(/\s+/g, ' ').replace(/;?$/, ';')))].join(' ');
}

/** A notebook given as a path or already parsed; `name` names it in errors. */
export function loadNotebook(notebook: string | Notebook, fallbackName: string): { notebook: Notebook; name: string } {
  if (typeof notebook === 'string') return { notebook: readNotebook(notebook), name: notebook };
  return { notebook: parseNotebook(notebook, fallbackName), name: fallbackName };
}

export function readAssignment(source: string | Notebook): Assignment {
  const { notebook, name } = loadNotebook(source, 'the source notebook');
  const graded: GradedCell[] = [];
  const studentSources = notebook.cells.map((cell, index) => {
    const where = `${name}: cell ${index}${cell.id ? ` (${cell.id})` : ''}`;
    const grade = gradeOf(cell, where);
    if (cell.cell_type !== 'code') return cellSource(cell);
    const segments = parseRegions(cellSource(cell), where);
    const student = studentSource(segments);
    if (grade) {
      if (hasRegion(segments, 'solution')) {
        throw new Error(`${where}: a graded cell is a test cell: move the solution region to a cell of its own`);
      }
      const twin = graded.find((g) => g.id === grade.id);
      if (twin) throw new Error(`${where}: grade id "${grade.id}" is used twice (also cell ${twin.index})`);
      graded.push({
        id: grade.id,
        points: grade.points,
        index,
        visible: student,
        checksum: testChecksum(student),
        grader: graderSource(segments),
      });
    }
    return student;
  });
  const setup = notebook.cells.flatMap((cell, index) =>
    cell.cell_type === 'code' && !graded.some((g) => g.index === index) ? [cellSource(cell)] : [],
  );
  return { name: path.basename(name), notebook, studentSources, graded, trustedImports: trustedImportsOf(setup) };
}
