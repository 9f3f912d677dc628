import { assignNotebook } from '../../src/coursework';
import { cellSource, readNotebook, type Notebook } from '../../src/cells/notebook';

export const gradeIdOf = (cell: Notebook['cells'][number]) =>
  (cell.metadata as { cardlab?: { grade?: { id: string } } }).cardlab?.grade?.id;

/** The student copy with every solution cell filled in as the instructor did (a right submission). */
export function solvedCopy(source: string): Notebook {
  const original = readNotebook(source);
  const student = assignNotebook(source);
  return {
    ...student,
    cells: student.cells.map((cell, index) =>
      cell.cell_type === 'code' && !gradeIdOf(cell) ? { ...cell, source: cellSource(original.cells[index]) } : cell,
    ),
  };
}
