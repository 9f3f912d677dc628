/**
 * A graded cell's metadata: `"cardlab": { "grade": { "id": "composite-layer", "points": 3 } }`.
 * A graded cell is a test cell: it passes when it runs without throwing. In the student copy the
 * grade also carries the checksum of the cell's visible tests.
 */
import crypto from 'crypto';
import { z } from 'zod';
import type { NotebookCell } from '../cells/notebook';

export const gradeSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'a grade id has only letters, digits, "-" and "_"'),
  points: z.number().positive().finite(),
  checksum: z.string().optional(),
});
export type GradeMetadata = z.infer<typeof gradeSchema>;

/** The cell's grade, or undefined for an ungraded cell; bad metadata is an error naming `where`. */
export function gradeOf(cell: NotebookCell, where: string): GradeMetadata | undefined {
  const grade = (cell.metadata as { cardlab?: { grade?: unknown } }).cardlab?.grade;
  if (grade === undefined) return undefined;
  if (cell.cell_type !== 'code') throw new Error(`${where}: only code cells can be graded`);
  const parsed = gradeSchema.safeParse(grade);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${where}: metadata.cardlab.grade must be { "id": "...", "points": N }: ${issue.path.join('.') || 'grade'}: ${issue.message}`);
  }
  return parsed.data;
}

/** Checksum of test code; whitespace at line ends and at the ends of the cell does not count. */
export function testChecksum(source: string): string {
  const normalized = source
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .trim();
  return `sha256:${crypto.createHash('sha256').update(normalized).digest('hex')}`;
}
