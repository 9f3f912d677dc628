/**
 * The course notebooks through real Jupyter, as a student runs them: Debian's nbconvert drives the
 * tslab kernel (src/cells/jupyter.ts), at the quick size. A failing cell shows only as stderr in
 * tslab; executeWithJupyter inspects the executed copy for that (proved on a deliberately broken
 * notebook in cells-jupyter.test.ts). Needs the Debian packages jupyter-notebook jupyter-nbconvert
 * python3-nbclient: without them the tests fail with a message naming them.
 */
import path from 'path';
import { ensureTslabKernel, executeWithJupyter, describeFailures } from '../src/cells/jupyter';
import { PLOTLY_MIME } from '../src/cells/display';
import { assertBuilt } from './helpers/built';
import { notebookFiles, QUICK_ENV } from './helpers/notebooks';

jest.setTimeout(300_000);

beforeAll(() => {
  assertBuilt(['cells', 'viz', 'densenet', 'train', 'data']);
  ensureTslabKernel();
});

test.each(notebookFiles().map((f) => [path.basename(f), f]))('%s runs top to bottom in Jupyter (tslab kernel, quick size)', async (name, file) => {
  const run = await executeWithJupyter(file, { env: QUICK_ENV, cellTimeoutSeconds: 240 });
  if (!run.ok) throw new Error(describeFailures(name, run.failures));
  console.log(`${name}: ${run.ms} ms through Jupyter`);
  const outputs = run.executed!.cells.flatMap((cell) => (cell.cell_type === 'code' ? cell.outputs : []));
  expect(outputs.length).toBeGreaterThan(0);
  // Charts reach Jupyter as plotly JSON with an HTML fallback (what nbconvert HTML shows).
  for (const output of outputs.filter((o) => o.output_type === 'display_data' && (o.data as Record<string, unknown>)[PLOTLY_MIME])) {
    expect((output.data as Record<string, unknown>)['text/html']).toEqual(expect.anything());
  }
});
