import fs from 'fs';
import os from 'os';
import path from 'path';
import { assignNotebook, assignFiles, autograde, parseRegions, studentSource, readAssignment, type GradeReport } from '../src/coursework';
import { formatGradeReport } from '../src/cli/coursework';
import { runCli } from './helpers/cli';
import { cellSource, readNotebook, type Notebook } from '../src/cells/notebook';
import { assertBuilt } from './helpers/built';
import { gradeIdOf, solvedCopy } from './helpers/coursework';

const COURSEWORK = path.join(__dirname, '..', 'coursework');
const ASSIGNMENTS = ['01-composite-layer', '02-transition-compression', '03-dense-block-params'].map((name) =>
  path.join(COURSEWORK, `${name}.ipynb`),
);
const [COMPOSITE, TRANSITION, DENSE_BLOCK] = ASSIGNMENTS;

// Grading runs cells in child processes that load the compiled project.
beforeAll(() => assertBuilt(['cells', 'coursework']));

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cardlab-coursework-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const codeOf = (notebook: Notebook, id: string): string => cellSource(notebook.cells.find((c) => c.id === id)!);
function withCell(notebook: Notebook, id: string, source: string): Notebook {
  return { ...notebook, cells: notebook.cells.map((cell) => (cell.id === id ? { ...cell, source } : cell)) };
}

const scores = (report: GradeReport) => Object.fromEntries(report.cells.map((c) => [c.id, c.points]));

describe('markers', () => {
  const where = 'nb.ipynb: cell 3';

  test('a solution region inside a function becomes a throwing stub, surrounding code kept; hidden tests go', () => {
    const source = [
      'function twice(x: number): number {',
      '  // BEGIN SOLUTION',
      '  return 2 * x;',
      '  // END SOLUTION',
      '}',
      'twice(1);',
      '// BEGIN HIDDEN TESTS',
      "if (twice(2) !== 4) throw new Error('twice');",
      '// END HIDDEN TESTS',
      'const after = 1;',
    ].join('\n');
    expect(studentSource(parseRegions(source, where))).toBe(
      ['function twice(x: number): number {', '  throw new Error("not implemented");', '}', 'twice(1);', 'const after = 1;'].join('\n'),
    );
  });

  test('malformed markers are errors naming the notebook, the cell and the line', () => {
    expect(() => parseRegions('// BEGIN SOLUTION\nx = 1;\n', where)).toThrow(/nb\.ipynb: cell 3: line 1: "\/\/ BEGIN SOLUTION" is never closed/);
    expect(() => parseRegions('// BEGIN SOLUTION\n// BEGIN HIDDEN TESTS\n// END HIDDEN TESTS\n// END SOLUTION', where)).toThrow(
      /nb\.ipynb: cell 3: line 2: .*BEGIN HIDDEN TESTS.* inside the SOLUTION region opened on line 1 \(regions do not nest\)/,
    );
    expect(() => parseRegions('x = 1;\n// END HIDDEN TESTS\n', where)).toThrow(/cell 3: line 2: .*END HIDDEN TESTS.* no region is open/);
    expect(() => parseRegions('// BEGIN SOLUTION\n// END HIDDEN TESTS\n', where)).toThrow(/line 2: .*open region \(line 1\) is SOLUTION/);
  });

  test('a source notebook with malformed markers, or a solution inside a graded cell, is refused by assign', () => {
    const notebook = readNotebook(COMPOSITE);
    const unclosed = withCell(notebook, 'solution', '// BEGIN SOLUTION\nconst x = 1;\n');
    expect(() => assignNotebook(unclosed)).toThrow(/the source notebook: cell 2 \(solution\): line 1: .*never closed/);
    const file = path.join(tmp, 'bad.ipynb');
    fs.writeFileSync(file, JSON.stringify(unclosed));
    expect(() => assignFiles([file], path.join(tmp, 'bad-release'))).toThrow(/bad\.ipynb: cell 2 \(solution\)/);
    expect(fs.existsSync(path.join(tmp, 'bad-release'))).toBe(false);

    const solvedTest = withCell(notebook, 'test-shape', '// BEGIN SOLUTION\nconst y = 2;\n// END SOLUTION\n');
    expect(() => assignNotebook(solvedTest)).toThrow(/cell 4 \(test-shape\): a graded cell is a test cell/);
  });
});

describe('assign', () => {
  test('writes student versions: stubs, no hidden tests, no outputs, tslab kernel, checksums of the visible tests', () => {
    const out = path.join(tmp, 'release');
    const sourceWithOutputs = readNotebook(COMPOSITE);
    const written = assignFiles(ASSIGNMENTS, out);
    expect(written.map((f) => path.basename(f))).toEqual(ASSIGNMENTS.map((f) => path.basename(f)));
    for (const [i, file] of written.entries()) {
      const text = fs.readFileSync(file, 'utf8');
      expect(text).not.toMatch(/BEGIN|END (SOLUTION|HIDDEN)/);
      expect(text).toContain('throw new Error(\\"not implemented\\");');
      const student = readNotebook(file);
      expect(student.metadata.kernelspec).toEqual({ display_name: 'TypeScript', language: 'typescript', name: 'tslab' });
      const source = readAssignment(ASSIGNMENTS[i]);
      for (const graded of source.graded) {
        const cell = student.cells[graded.index];
        expect(cell.metadata.cardlab).toEqual({ grade: { id: graded.id, points: graded.points, checksum: graded.checksum } });
        expect(cellSource(cell)).toBe(graded.visible);
      }
      for (const cell of student.cells) if (cell.cell_type === 'code') expect([cell.outputs, cell.execution_count]).toEqual([[], null]);
    }
    // the solution's own code is gone, the code around it kept
    const student = readNotebook(written[0]);
    expect(codeOf(student, 'solution')).toContain('function compositeLayer(x: tf.SymbolicTensor, growthRate: number): tf.SymbolicTensor {');
    expect(codeOf(student, 'solution')).not.toContain('batchNormalization');
    expect(codeOf(sourceWithOutputs, 'solution')).toContain('batchNormalization');
  });

  test('cardlab assign --out writes the release folder and refuses to overwrite the sources', async () => {
    const out = path.join(tmp, 'cli-release');
    await runCli('assign', COMPOSITE, TRANSITION, '--out', out);
    expect(fs.readdirSync(out).sort()).toEqual(['01-composite-layer.ipynb', '02-transition-compression.ipynb']);
    expect(() => assignFiles([COMPOSITE], COURSEWORK)).toThrow(/would overwrite the instructor's source/);
  });
});

describe('the three assignments: the released stub fails, the solution passes', () => {
  test.each(ASSIGNMENTS)('%s', async (source) => {
    const stub = await autograde({ submission: assignNotebook(source), source });
    expect(stub.max).toBeGreaterThanOrEqual(3);
    expect(stub.total).toBe(0);
    expect(stub.problems).toEqual([]);
    for (const cell of stub.cells) expect(cell).toMatchObject({ passed: false, points: 0, message: expect.stringContaining('not implemented') });

    const solved = await autograde({ submission: solvedCopy(source), source });
    expect(solved.problems).toEqual([]);
    expect(solved.cells.map((c) => [c.id, c.passed, c.message])).toEqual(stub.cells.map((c) => [c.id, true, null]));
    expect(solved.total).toBe(solved.max);
  });
});

describe('grading', () => {
  test('cardlab autograde --json prints the grade report', async () => {
    const submission = path.join(tmp, 'stub-submission.ipynb');
    fs.writeFileSync(submission, JSON.stringify(assignNotebook(COMPOSITE)));
    const report = JSON.parse(await runCli('autograde', submission, '--source', COMPOSITE, '--json', '--timeout', '60')) as GradeReport;
    expect(report).toEqual({
      total: 0,
      max: 3,
      problems: [],
      cells: [
        { id: 'composite-layer-shape', points: 0, maxPoints: 1, passed: false, message: 'Error: not implemented' },
        { id: 'composite-layer-structure', points: 0, maxPoints: 2, passed: false, message: 'Error: not implemented' },
      ],
    });
  });

  test('a wrong answer that passes the visible tests fails the hidden ones', async () => {
    const wrongPooling = codeOf(solvedCopy(TRANSITION), 'solution').replace('averagePooling2d', 'maxPooling2d');
    const submission = withCell(solvedCopy(TRANSITION), 'solution', wrongPooling);
    const report = await autograde({ submission, source: TRANSITION });
    expect(scores(report)).toEqual({ 'transition-channels': 1, 'transition-layer': 0 });
    expect(report).toMatchObject({ total: 1, max: 3, problems: [] });
    expect(report.cells[1].message).toMatch(/expected BatchNormalization … AveragePooling2D, got .*MaxPooling2D/);

    const table = formatGradeReport(report);
    expect(table).toMatch(/pass\s+transition-channels\s+1\/1/);
    expect(table).toMatch(/FAIL\s+transition-layer\s+0\/2\s+Error: expected BatchNormalization/);
    expect(table).toMatch(/total\s+1\/3/);
  });

  test('tampering: a deleted cell, a changed id and edited tests are reported and score 0', async () => {
    const solved = solvedCopy(DENSE_BLOCK);
    const cells = solved.cells
      .filter((cell) => gradeIdOf(cell) !== 'dense-block-one-layer')
      .map((cell) => {
        if (gradeIdOf(cell) === 'dense-block-growth') {
          return { ...cell, metadata: { cardlab: { grade: { id: 'renamed', points: 1 } } } };
        }
        if (gradeIdOf(cell) === 'dense-block-library') {
          // tests "fixed" to pass whatever the answer
          return { ...cell, source: "import { denseBlock, BuildContext } from 'cardlab';\nconsole.log('all good');\n" };
        }
        return cell;
      });
    const file = path.join(tmp, 'tampered.ipynb');
    fs.writeFileSync(file, JSON.stringify({ ...solved, cells }));
    const report = await autograde({ submission: file, source: DENSE_BLOCK });
    expect(report.total).toBe(0);
    expect(report.cells.every((c) => !c.passed)).toBe(true);
    expect(report.problems).toEqual([
      expect.stringMatching(/tampered\.ipynb: cell \d+: graded cell id "renamed" is not in the assignment/),
      expect.stringMatching(/tampered\.ipynb: cell \d+: the tests of graded cell "dense-block-library" were edited/),
      expect.stringMatching(/graded cell "dense-block-one-layer" is missing from the submission/),
      expect.stringMatching(/graded cell "dense-block-growth" is missing from the submission/),
    ]);
    expect(report.cells.find((c) => c.id === 'dense-block-library')!.message).toMatch(/were edited/);
  });

  test('a submission that loops forever is killed at the time limit and scores 0 from there on', async () => {
    const solved = solvedCopy(DENSE_BLOCK);
    const submission = withCell(solved, 'solution', `${codeOf(solved, 'solution')}\nwhile (true) {}\n`);
    const started = Date.now();
    const report = await autograde({ submission, source: DENSE_BLOCK, timeoutMs: 3000 });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(report.total).toBe(0);
    for (const cell of report.cells) expect(cell).toMatchObject({ passed: false, message: 'time limit of 3 s exceeded' });
  });

  // node_modules/cardlab links back to the project, and Node's permission model follows links.
  test.each([
    ['directly', TRANSITION],
    ['through node_modules/cardlab', path.join(COURSEWORK, '..', 'node_modules', 'cardlab', 'coursework', path.basename(TRANSITION))],
  ])('a submission cannot read the hidden tests from the instructor\'s notebook (%s)', async (_how, target) => {
    const solved = solvedCopy(TRANSITION);
    const peeking = codeOf(solved, 'solution').replace(
      'return Math.floor(theta * m);',
      `return Math.floor(theta * m) + require('fs').readFileSync(${JSON.stringify(target)}, 'utf8').length * 0;`,
    );
    expect(peeking).toContain('readFileSync');
    const report = await autograde({ submission: withCell(solved, 'solution', peeking), source: TRANSITION });
    // (node_modules/cardlab links to packages/cardlab, which holds nothing but a package.json: ENOENT.)
    expect(report.cells[0]).toMatchObject({ id: 'transition-channels', passed: false, message: expect.stringMatching(/ERR_ACCESS_DENIED|Access to this API has been restricted|ENOENT|can import only 'cardlab' and 'tslab', not 'fs'/) });
    expect(JSON.stringify(report)).not.toContain('HIDDEN');
  });

  test('a submission that allocates without bound is killed at the memory limit and scores 0', async () => {
    const solved = solvedCopy(COMPOSITE);
    const hoarding = `${codeOf(solved, 'solution')}\nconst hoard: number[][] = [];\nwhile (true) hoard.push(new Array(100_000).fill(1));\n`;
    const report = await autograde({ submission: withCell(solved, 'solution', hoarding), source: COMPOSITE, memoryMb: 300, timeoutMs: 60_000 });
    expect(report.total).toBe(0);
    for (const cell of report.cells) expect(cell).toMatchObject({ passed: false, message: 'memory limit of 300 MB exceeded' });
  });
});
