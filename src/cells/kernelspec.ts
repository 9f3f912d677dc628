/**
 * The Jupyter side of the notebooks: which Python runs Jupyter, and the project's own tslab
 * kernelspec.
 *
 * The first `python3` on PATH is often not Jupyter's (pyenv, conda, a venv), so the Python is found
 * the way Jupyter itself is started: the shebang of the `jupyter-lab`, `jupyter-notebook` or
 * `jupyter` scripts on PATH, then Debian's /usr/bin/python3. `CARDLAB_JUPYTER_PYTHON` overrides it.
 *
 * The kernelspec is written into the project (`.cardlab/jupyter/kernels/tslab`), not into the
 * user's or the system's Jupyter folders: its argv names this checkout's node and tslab by absolute
 * path and puts this checkout's node_modules/.bin first on the kernel's PATH, so two checkouts never
 * overwrite each other's kernel. Jupyter finds it through JUPYTER_PATH (`jupyterEnv`), which it
 * searches before every other folder. `writeKernelSpec(dir)` writes the same spec anywhere else
 * (`cardlab notebooks --install-kernel`: the user's Jupyter, for VS Code or a Jupyter started by hand).
 */
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { PROJECT_ROOT } from './runner';

export const KERNEL_NAME = 'tslab';
export const JUPYTER_PYTHON_ENV = 'CARDLAB_JUPYTER_PYTHON';
/** The commands whose shebang names Jupyter's Python, most capable first. */
export const JUPYTER_COMMANDS = ['jupyter-lab', 'jupyter-notebook', 'jupyter'];
export const DEBIAN_PYTHON = '/usr/bin/python3';

/** The project's Jupyter data folder (holds kernels/tslab); first on JUPYTER_PATH when cardlab starts Jupyter. */
export function projectJupyterDir(root: string = PROJECT_ROOT): string {
  return path.join(root, '.cardlab', 'jupyter');
}

function onPath(command: string, env: NodeJS.ProcessEnv): string[] {
  return (env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, command))
    .filter((file) => {
      try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
      } catch {
        return false;
      }
    });
}

/**
 * The interpreter a script's `#!` line names: `#!/usr/bin/python3` → /usr/bin/python3;
 * `#!/usr/bin/env python3` → the first python3 on PATH. Undefined for a file without a shebang.
 */
export function shebangInterpreter(file: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  let head: string;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(512);
      head = buffer.subarray(0, fs.readSync(fd, buffer, 0, 512, 0)).toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const match = /^#!\s*(\S+)(?:[ \t]+(\S+))?/.exec(head);
  if (!match) return undefined;
  if (path.basename(match[1]) === 'env' && match[2]) return match[2].startsWith('/') ? match[2] : onPath(match[2], env)[0];
  return match[1];
}

/** Candidate Pythons in order: the override alone, else the Jupyter scripts' shebangs, Debian's, then python3 on PATH. */
export function jupyterPythonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const override = env[JUPYTER_PYTHON_ENV];
  if (override) return [override];
  const fromScripts = JUPYTER_COMMANDS.flatMap((command) => onPath(command, env).map((file) => shebangInterpreter(file, env)));
  const all = [...fromScripts, DEBIAN_PYTHON, ...onPath('python3', env)].filter((p): p is string => Boolean(p));
  return [...new Set(all)];
}

/** What a Python can import of Jupyter. */
export interface JupyterModules {
  jupyterlab: boolean;
  notebook: boolean;
  nbclient: boolean;
  jupyter_client: boolean;
}

const PROBE = `import importlib.util, json
print(json.dumps({m: importlib.util.find_spec(m) is not None for m in ["jupyterlab", "notebook", "nbclient", "jupyter_client"]}))`;

export function probeJupyter(python: string, env: NodeJS.ProcessEnv = process.env): JupyterModules | undefined {
  const run = spawnSync(python, ['-c', PROBE], { encoding: 'utf8', timeout: 30_000, env });
  if (run.status !== 0) return undefined;
  try {
    return JSON.parse(run.stdout.trim().split('\n').pop()!) as JupyterModules;
  } catch {
    return undefined;
  }
}

export interface JupyterPython {
  python: string;
  modules: JupyterModules;
}

/**
 * The first candidate Python that can run Jupyter (`want`: a front end — JupyterLab or Notebook —
 * or nbclient for executing notebooks). Undefined when none can; `jupyterPythonCandidates` says
 * which were tried.
 */
export function findJupyterPython(want: 'frontend' | 'nbclient', env: NodeJS.ProcessEnv = process.env): JupyterPython | undefined {
  for (const python of jupyterPythonCandidates(env)) {
    const modules = probeJupyter(python, { ...process.env, ...env });
    if (!modules || !modules.jupyter_client) continue;
    if (want === 'frontend' ? modules.jupyterlab || modules.notebook : modules.nbclient) return { python, modules };
  }
  return undefined;
}

/** The tslab kernelspec of this checkout: absolute node and tslab, its node_modules/.bin first on PATH. */
export function tslabKernelSpec(root: string = PROJECT_ROOT): { argv: string[]; display_name: string; language: string; env: Record<string, string>; metadata: object } {
  const tslabMain = path.join(path.dirname(require.resolve('tslab/package.json', { paths: [root] })), 'bin', 'tslab');
  const bin = path.join(root, 'node_modules', '.bin');
  return {
    argv: [process.execPath, tslabMain, 'kernel', '--config-path', '{connection_file}'],
    display_name: 'TypeScript',
    language: 'typescript',
    // ${PATH} is filled in by jupyter_client (≥ 7) from the server's environment.
    env: { PATH: [bin, path.dirname(process.execPath), '${PATH}'].join(path.delimiter) },
    metadata: { cardlab: { project: root } },
  };
}

/** Writes the kernelspec into `<dataDir>/kernels/tslab/kernel.json` (a Jupyter data folder); returns that file. */
export function writeKernelSpec(dataDir: string = projectJupyterDir(), root: string = PROJECT_ROOT): string {
  const dir = path.join(dataDir, 'kernels', KERNEL_NAME);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'kernel.json');
  const text = JSON.stringify(tslabKernelSpec(root), null, 1) + '\n';
  // Written only when different, so a running Jupyter never reads a half-written file.
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  }
  return file;
}

/**
 * The environment for a Jupyter process that should use this checkout's kernel: the project's
 * Jupyter folder first on JUPYTER_PATH, node_modules/.bin first on PATH.
 */
export function jupyterEnv(base: NodeJS.ProcessEnv = process.env, root: string = PROJECT_ROOT): NodeJS.ProcessEnv {
  const bin = path.join(root, 'node_modules', '.bin');
  return {
    ...base,
    JUPYTER_PATH: [projectJupyterDir(root), base.JUPYTER_PATH].filter(Boolean).join(path.delimiter),
    PATH: [bin, path.dirname(process.execPath), base.PATH ?? ''].join(path.delimiter),
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
  };
}
