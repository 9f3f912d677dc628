/**
 * `cardlab notebooks` (npm run notebooks): finding Jupyter's Python as a newcomer's machine has it
 * (a pyenv/venv python3 first on PATH, Jupyter's scripts pointing elsewhere), and the real thing:
 * the command started headless, Jupyter serving, the project's kernelspec, a tslab kernel that
 * evaluates 1+1 through Jupyter's REST and WebSocket API, plotly.js served from the project.
 * Needs the Debian packages jupyter-notebook jupyter-nbconvert python3-nbclient.
 */
import fs from 'fs';
import os from 'os';
import path from 'path';
import { findJupyterPython, jupyterPythonCandidates, shebangInterpreter, projectJupyterDir, KERNEL_NAME } from '../src/cells/kernelspec';
import { assertJupyterInstalled } from '../src/cells/jupyter';
import { runCli } from './helpers/cli';
import { api, executeOnNewKernel, startNotebooks, type NotebookServer } from './helpers/jupyter-server';
import { ROOT } from './helpers/notebooks';

jest.setTimeout(240_000);

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cardlab-launch-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function script(dir: string, name: string, text: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, text, { mode: 0o755 });
  return file;
}

describe("finding Jupyter's Python", () => {
  test('reads the interpreter from a shebang, direct or through env', () => {
    const bin = path.join(tmp, 'bin');
    script(bin, 'python3', '#!/bin/sh\nexit 1\n');
    expect(shebangInterpreter(script(tmp, 'a', '#!/usr/bin/python3\nprint()\n'))).toBe('/usr/bin/python3');
    expect(shebangInterpreter(script(tmp, 'b', '#! /opt/venv/bin/python -E\n'))).toBe('/opt/venv/bin/python');
    expect(shebangInterpreter(script(tmp, 'c', '#!/usr/bin/env python3\n'), { PATH: bin })).toBe(path.join(bin, 'python3'));
    expect(shebangInterpreter(script(tmp, 'd', 'no shebang\n'))).toBeUndefined();
  });

  test('a python3 without Jupyter first on PATH is passed over for the one the jupyter scripts name', () => {
    // As on this machine: pyenv's python3 first on PATH (here a stand-in that cannot import anything),
    // Jupyter's scripts written for Debian's /usr/bin/python3.
    const pyenv = path.join(tmp, 'pyenv');
    script(pyenv, 'python3', '#!/bin/sh\necho "ModuleNotFoundError: No module named jupyter_client" >&2\nexit 1\n');
    const jupyterBin = path.join(tmp, 'jupyter-bin');
    script(jupyterBin, 'jupyter-notebook', '#!/usr/bin/python3\nimport sys\n');
    const env = { PATH: [pyenv, jupyterBin].join(path.delimiter) };
    const candidates = jupyterPythonCandidates(env);
    expect(candidates[0]).toBe('/usr/bin/python3');
    expect(candidates).toContain(path.join(pyenv, 'python3'));
    const found = findJupyterPython('frontend', env);
    expect(found?.python).toBe('/usr/bin/python3');
    expect(found?.modules.notebook).toBe(true);
  });

  test('CARDLAB_JUPYTER_PYTHON names it outright; a Python without Jupyter is an error naming the packages', async () => {
    expect(jupyterPythonCandidates({ PATH: '/usr/bin', CARDLAB_JUPYTER_PYTHON: '/x/python' })).toEqual(['/x/python']);
    const saved = process.env.CARDLAB_JUPYTER_PYTHON;
    process.env.CARDLAB_JUPYTER_PYTHON = script(tmp, 'nojupyter', '#!/bin/sh\nexit 1\n');
    try {
      await expect(runCli('notebooks', '--dry-run')).rejects.toThrow(/no Python with Jupyter found \(tried .*nojupyter\).*apt-get install jupyter-notebook jupyter-nbconvert python3-nbclient/);
      expect(() => assertJupyterInstalled()).toThrow(/jupyter-notebook jupyter-nbconvert python3-nbclient/);
    } finally {
      if (saved === undefined) delete process.env.CARDLAB_JUPYTER_PYTHON;
      else process.env.CARDLAB_JUPYTER_PYTHON = saved;
    }
  });

  test('bad options are clear errors', async () => {
    await expect(runCli('notebooks', '--frontend', 'spyder', '--dry-run')).rejects.toThrow(/--frontend must be lab or notebook/);
    await expect(runCli('notebooks', '--port', 'abc', '--dry-run')).rejects.toThrow(/--port must be a port number/);
    await expect(runCli('notebooks', path.join(tmp, 'missing'), '--dry-run')).rejects.toThrow(/no notebooks folder/);
  });

  test('--dry-run shows the command: JupyterLab when installed, else Notebook, with the options passed through', async () => {
    const out = JSON.parse(await runCli('notebooks', '--dry-run', '--no-browser', '--port', '8123'));
    const found = findJupyterPython('frontend')!;
    expect(out.python).toBe(found.python);
    expect(out.frontend).toBe(found.modules.jupyterlab ? 'lab' : 'notebook');
    expect(out.args).toEqual(expect.arrayContaining(['--no-browser', '--port=8123', `--notebook-dir=${path.join(ROOT, 'notebooks')}`]));
    expect(out.args.find((a: string) => a.includes('extra_static_paths'))).toContain(path.join('node_modules', 'plotly.js-dist-min'));
    expect(out.JUPYTER_PATH.split(path.delimiter)[0]).toBe(projectJupyterDir());
  });

  test('--install-kernel writes the kernelspec into the user Jupyter folder of that Python', async () => {
    const dataDir = path.join(tmp, 'jupyter-data');
    const saved = process.env.JUPYTER_DATA_DIR;
    process.env.JUPYTER_DATA_DIR = dataDir;
    try {
      expect(await runCli('notebooks', '--install-kernel')).toContain(path.join(dataDir, 'kernels', KERNEL_NAME, 'kernel.json'));
    } finally {
      if (saved === undefined) delete process.env.JUPYTER_DATA_DIR;
      else process.env.JUPYTER_DATA_DIR = saved;
    }
    const spec = JSON.parse(fs.readFileSync(path.join(dataDir, 'kernels', KERNEL_NAME, 'kernel.json'), 'utf8'));
    expect(spec.argv.slice(0, 3)).toEqual([process.execPath, path.join(ROOT, 'node_modules', 'tslab', 'bin', 'tslab'), 'kernel']);
  });
});

describe('cardlab notebooks, started headless', () => {
  let server: NotebookServer;

  beforeAll(async () => {
    assertJupyterInstalled();
    server = await startNotebooks();
  });
  afterAll(async () => {
    await server?.stop();
  });

  test("Jupyter serves the notebooks folder with the project's tslab kernelspec", async () => {
    const contents = await api<{ content: { name: string }[] }>(server, 'api/contents');
    const names = contents.content.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(fs.readdirSync(path.join(ROOT, 'notebooks')).filter((f) => f.endsWith('.ipynb'))));

    const specs = await api<{ kernelspecs: Record<string, { resource_dir?: string; spec: { argv: string[]; env: Record<string, string>; display_name: string } }> }>(server, 'api/kernelspecs');
    const tslab = specs.kernelspecs[KERNEL_NAME];
    expect(tslab).toBeDefined();
    expect(tslab.spec.display_name).toBe('TypeScript');
    expect(tslab.spec.argv).toEqual([process.execPath, path.join(ROOT, 'node_modules', 'tslab', 'bin', 'tslab'), 'kernel', '--config-path', '{connection_file}']);
    expect(tslab.spec.env.PATH.split(path.delimiter)[0]).toBe(path.join(ROOT, 'node_modules', '.bin'));
    expect(fs.existsSync(path.join(projectJupyterDir(), 'kernels', KERNEL_NAME, 'kernel.json'))).toBe(true);
  });

  test('a tslab kernel starts and evaluates 1+1', async () => {
    const out = await executeOnNewKernel(server, KERNEL_NAME, '1+1');
    expect(out.status).toBe('ok');
    expect(out.stderr).toBe('');
    // tslab prints the last expression's value (as console.log would).
    expect((out.result ?? out.stdout).trim()).toBe('2');
  });

  test('the kernel sees the project: node_modules/.bin on its PATH, cardlab importable', async () => {
    const out = await executeOnNewKernel(server, KERNEL_NAME, "import { notebookSize } from 'cardlab';\nconsole.log(process.env.PATH!.split(':')[0]);\nconsole.log(typeof notebookSize);");
    expect(out.stderr).toBe('');
    expect(out.stdout.trim().split('\n')).toEqual([path.join(ROOT, 'node_modules', '.bin'), 'function']);
  });

  test('plotly.js is served by Jupyter from the project (for charts in Notebook 6), not from a CDN', async () => {
    const res = await fetch(`${server.base}static/plotly.min.js`);
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.equals(fs.readFileSync(path.join(ROOT, 'node_modules', 'plotly.js-dist-min', 'plotly.min.js')))).toBe(true);
  });
});
