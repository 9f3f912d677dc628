/** `cardlab assign`: the student copy of an instructor's notebook. */
import fs from 'fs';
import path from 'path';
import { writeNotebook, type Notebook } from '../cells/notebook';
import { readAssignment } from './assignment';

const TSLAB_METADATA = {
  kernelspec: { display_name: 'TypeScript', language: 'typescript', name: 'tslab' },
  language_info: { file_extension: '.ts', mimetype: 'text/typescript', name: 'typescript' },
};

/** Jupyter's way of storing a multi-line string: one entry per line, each with its `\n`. */
function asLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/**
 * The student version: solutions stubbed, hidden tests removed, outputs cleared, the tslab
 * kernelspec, and the checksum of each graded cell's visible tests in its metadata.
 */
export function assignNotebook(source: string | Notebook): Notebook {
  const assignment = readAssignment(source);
  const { notebook } = assignment;
  const cells = notebook.cells.map((cell, index) => {
    const graded = assignment.graded.find((g) => g.index === index);
    const metadata = graded
      ? { ...cell.metadata, cardlab: { ...(cell.metadata.cardlab as object), grade: { id: graded.id, points: graded.points, checksum: graded.checksum } } }
      : cell.metadata;
    const source = asLines(assignment.studentSources[index]);
    if (cell.cell_type !== 'code') return { ...cell, source };
    return { ...cell, metadata, source, outputs: [], execution_count: null };
  });
  return { ...notebook, metadata: { ...notebook.metadata, ...TSLAB_METADATA }, cells };
}

/** Writes the student version of each notebook into `outDir` (same file names); returns the files written. */
export function assignFiles(files: string[], outDir: string): string[] {
  const versions = files.map((file) => ({ file, student: assignNotebook(file) })); // all checked before writing any
  fs.mkdirSync(outDir, { recursive: true });
  return versions.map(({ file, student }) => {
    const target = path.join(outDir, path.basename(file));
    if (path.resolve(target) === path.resolve(file)) {
      throw new Error(`${file}: the student version would overwrite the instructor's source: choose another --out folder`);
    }
    writeNotebook(target, student);
    return target;
  });
}
