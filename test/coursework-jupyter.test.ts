/**
 * Released assignments run in Jupyter on the tslab kernel (Debian's nbconvert drives it; needs the
 * packages jupyter-notebook jupyter-nbconvert python3-nbclient, installed by scripts/setup.sh).
 * A student's copy lives inside the project (e.g. notebooks/), where `cardlab` resolves.
 */
import fs from 'fs';
import path from 'path';
import { assignNotebook } from '../src/coursework';
import { writeNotebook } from '../src/cells/notebook';
import { ensureTslabKernel, executeWithJupyter, describeFailures } from '../src/cells/jupyter';
import { PROJECT_ROOT } from '../src/cells/runner';
import { assertBuilt } from './helpers/built';
import { solvedCopy } from './helpers/coursework';

jest.setTimeout(240_000);

const COURSEWORK = path.join(PROJECT_ROOT, 'coursework');
const ASSIGNMENTS = fs.readdirSync(COURSEWORK).filter((f) => f.endsWith('.ipynb')).sort();

let dir: string;
beforeAll(() => {
  assertBuilt(['cells', 'coursework']);
  ensureTslabKernel();
  dir = fs.mkdtempSync(path.join(PROJECT_ROOT, '.cardlab-coursework-jupyter-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('there are at least three assignments', () => {
  expect(ASSIGNMENTS.length).toBeGreaterThanOrEqual(3);
});

test.each(ASSIGNMENTS)('%s: the released copy, solved, runs top to bottom in Jupyter (tslab)', async (name) => {
  const file = path.join(dir, `solved-${name}`);
  writeNotebook(file, solvedCopy(path.join(COURSEWORK, name)));
  const run = await executeWithJupyter(file);
  if (!run.ok) throw new Error(describeFailures(file, run.failures) + '\n' + run.log);
  expect(run.failures).toEqual([]);
});

test('the released copy as handed out fails in Jupyter at its stub with "not implemented"', async () => {
  const name = ASSIGNMENTS[0];
  const file = path.join(dir, `released-${name}`);
  writeNotebook(file, assignNotebook(path.join(COURSEWORK, name)));
  const run = await executeWithJupyter(file);
  expect(run.ok).toBe(false);
  expect(run.failures.map((f) => f.text).join('\n')).toMatch(/not implemented/);
});
