/**
 * Notebooks through real Jupyter: Debian's nbconvert drives the tslab kernel. Needs the Debian
 * packages jupyter-notebook jupyter-nbconvert python3-nbclient (scripts/setup.sh installs them);
 * without them these tests fail with a message naming the packages.
 */
import path from 'path';
import fs from 'fs';
import { ensureTslabKernel, executeWithJupyter, describeFailures, assertJupyterInstalled, kernelEnv } from '../src/cells/jupyter';
import { projectJupyterDir, KERNEL_NAME } from '../src/cells/kernelspec';
import { runNotebook } from '../src/cells/runner';
import { PLOTLY_MIME } from '../src/cells/display';
import { assertBuilt } from './helpers/built';

const FIXTURES = path.join(__dirname, 'fixtures', 'notebooks');

jest.setTimeout(180_000);

beforeAll(() => {
  assertBuilt(['cells']);
  ensureTslabKernel();
});

test('a good notebook (a cardlab import, displays) passes through Jupyter and through our runner', async () => {
  const file = path.join(FIXTURES, 'good.ipynb');
  const [jupyter, ours] = await Promise.all([executeWithJupyter(file), runNotebook(file).result]);
  if (!jupyter.ok) throw new Error(describeFailures(file, jupyter.failures) + '\n' + jupyter.log);
  expect(ours).toMatchObject({ ok: true, reason: 'done' });

  // The same outputs in the executed notebook as our runner's events.
  const outputs = jupyter.executed!.cells.flatMap((cell) => (cell.cell_type === 'code' ? cell.outputs : []));
  const html = outputs.find((o) => o.output_type === 'display_data' && (o.data as Record<string, unknown>)['text/html']);
  expect((html!.data as Record<string, string[]>)['text/html']).toEqual(['<b>3 layers</b>']);
  const plot = outputs.find((o) => o.output_type === 'display_data' && (o.data as Record<string, unknown>)[PLOTLY_MIME]);
  expect((plot!.data as Record<string, unknown>)[PLOTLY_MIME]).toEqual({
    data: [{ y: [3, 13, 23], type: 'scatter' }],
    layout: { title: 'channels' },
  });
  const ourPlot = ours.events.find((e) => e.type === 'display' && e.data[PLOTLY_MIME]);
  expect(ourPlot).toMatchObject({ data: { [PLOTLY_MIME]: (plot!.data as Record<string, unknown>)[PLOTLY_MIME] } });
});

test('a failing cell is caught although tslab reports it only on stderr', async () => {
  const file = path.join(FIXTURES, 'broken.ipynb');
  const run = await executeWithJupyter(file);
  expect(run.ok).toBe(false);
  expect(run.failures).toHaveLength(1);
  expect(run.failures[0].index).toBe(1);
  expect(run.failures[0].source).toContain("throw new Error('deliberately broken cell')");
  expect(run.failures[0].text).toContain('deliberately broken cell');
  // What makes the check necessary: Jupyter itself records no error output for the cell.
  const failing = run.executed!.cells[1];
  expect(failing.cell_type === 'code' && failing.outputs.some((o) => o.output_type === 'error')).toBe(false);
  expect(describeFailures(file, run.failures)).toMatch(/broken\.ipynb: cell 1 failed/);
});

test("Jupyter runs this checkout's own kernelspec, found first through JUPYTER_PATH", () => {
  ensureTslabKernel();
  const spec = JSON.parse(fs.readFileSync(path.join(projectJupyterDir(), 'kernels', KERNEL_NAME, 'kernel.json'), 'utf8'));
  expect(spec.argv[0]).toBe(process.execPath);
  expect(spec.argv[1]).toBe(path.join(path.dirname(require.resolve('tslab/package.json')), 'bin', 'tslab'));
  expect(kernelEnv({ JUPYTER_PATH: '/elsewhere' }).JUPYTER_PATH).toBe(`${projectJupyterDir()}${path.delimiter}/elsewhere`);
});

test('without Jupyter, the error names the Debian packages to install', () => {
  const saved = process.env.CARDLAB_JUPYTER_PYTHON;
  process.env.CARDLAB_JUPYTER_PYTHON = '/nonexistent/python3';
  try {
    expect(() => assertJupyterInstalled()).toThrow(/jupyter-notebook jupyter-nbconvert python3-nbclient/);
  } finally {
    if (saved === undefined) delete process.env.CARDLAB_JUPYTER_PYTHON;
    else process.env.CARDLAB_JUPYTER_PYTHON = saved;
  }
});
