/**
 * `cardlab notebooks`: the one command from a fresh checkout to the notebooks in Jupyter. It finds
 * the Python that runs Jupyter (not simply the first python3 on PATH), writes this checkout's tslab
 * kernelspec (absolute node and tslab, node_modules/.bin on the kernel's PATH), and starts
 * JupyterLab when that Python has it, else Notebook, on the notebooks folder. plotly.js is served
 * from the project (`/static/plotly.min.js`) for the charts' Notebook 6 rendering: nothing comes
 * from a CDN.
 */
import { spawn, spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import type { Command } from 'commander';
import { PROJECT_ROOT } from '../cells/runner';
import {
  DEBIAN_PYTHON,
  JUPYTER_PYTHON_ENV,
  findJupyterPython,
  jupyterEnv,
  jupyterPythonCandidates,
  writeKernelSpec,
  type JupyterPython,
} from '../cells/kernelspec';
import { JUPYTER_DEBIAN_PACKAGES } from '../cells/jupyter';
import { plotlyStaticDir } from '../cells/display';

export type Frontend = 'lab' | 'notebook';

export interface NotebooksOptions {
  dir: string;
  frontend?: Frontend;
  port?: number;
  ip?: string;
  browser: boolean;
}

/** The front end to start: JupyterLab when installed (or asked for), else Notebook. */
export function chooseFrontend(found: JupyterPython, wanted?: Frontend): Frontend {
  if (wanted === 'lab' && !found.modules.jupyterlab) throw new Error(`JupyterLab is not installed for ${found.python} (pip install jupyterlab, or use --frontend notebook)`);
  if (wanted === 'notebook' && !found.modules.notebook) throw new Error(`Jupyter Notebook is not installed for ${found.python}`);
  return wanted ?? (found.modules.jupyterlab ? 'lab' : 'notebook');
}

/** Notebook 6 is its own server (NotebookApp); JupyterLab and Notebook 7 run on jupyter_server (ServerApp). */
function serverAppName(python: string, frontend: Frontend): string {
  if (frontend === 'lab') return 'ServerApp';
  const version = spawnSync(python, ['-c', 'import notebook; print(notebook.__version__)'], { encoding: 'utf8', env: process.env }).stdout.trim();
  return Number(version.split('.')[0]) >= 7 ? 'ServerApp' : 'NotebookApp';
}

/** The Jupyter command line: `python -m jupyterlab|notebook` with the options passed through. */
export function jupyterCommand(found: JupyterPython, options: NotebooksOptions): { command: string; args: string[]; frontend: Frontend } {
  const frontend = chooseFrontend(found, options.frontend);
  const app = serverAppName(found.python, frontend);
  const args = ['-m', frontend === 'lab' ? 'jupyterlab' : 'notebook', `--notebook-dir=${options.dir}`, `--${app}.extra_static_paths=${plotlyStaticDir()}`];
  if (!options.browser) args.push('--no-browser');
  if (options.port !== undefined) args.push(`--port=${options.port}`);
  if (options.ip) args.push(`--ip=${options.ip}`);
  // Jupyter refuses to start as root without it (containers, CI machines).
  if (process.getuid?.() === 0) args.push('--allow-root');
  return { command: found.python, args, frontend };
}

function notFoundMessage(): string {
  const tried = jupyterPythonCandidates().join(', ') || DEBIAN_PYTHON;
  return (
    `no Python with Jupyter found (tried ${tried}). Install Jupyter: on Debian/Ubuntu ` +
    `\`apt-get install ${JUPYTER_DEBIAN_PACKAGES.join(' ')}\` (scripts/setup.sh does), or \`pip install jupyterlab\`; ` +
    `or name the Python with ${JUPYTER_PYTHON_ENV}=/path/to/python`
  );
}

/** The user's Jupyter data folder (where `tslab install --user` writes), as that Python reports it. */
function userDataDir(python: string): string {
  const run = spawnSync(python, ['-c', 'from jupyter_core.paths import jupyter_data_dir; print(jupyter_data_dir())'], { encoding: 'utf8', env: process.env });
  if (run.status !== 0) throw new Error(`cannot ask ${python} for its Jupyter data folder: ${run.stderr}`);
  return run.stdout.trim();
}

export function registerNotebooksCommands(program: Command): void {
  program
    .command('notebooks')
    .description("open the notebooks in Jupyter (JupyterLab if installed, else Notebook) with this project's TypeScript kernel")
    .argument('[dir]', 'the notebooks folder', path.join(PROJECT_ROOT, 'notebooks'))
    .option('--port <port>', "Jupyter's port", (v) => {
      const port = Number(v);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number (got "${v}")`);
      return port;
    })
    .option('--ip <address>', 'the address Jupyter listens on (Jupyter\'s default: localhost)')
    .option('--no-browser', 'do not open a browser (print the URL only)')
    .option('--frontend <name>', 'lab or notebook (default: lab when installed)')
    .option('--install-kernel', "only register the kernel in your own Jupyter folder (for VS Code or a Jupyter you start yourself), then exit")
    .option('--dry-run', 'print what would run, start nothing')
    .action(async (dir: string, opts: { port?: number; ip?: string; browser: boolean; frontend?: string; installKernel?: boolean; dryRun?: boolean }) => {
      if (opts.frontend !== undefined && opts.frontend !== 'lab' && opts.frontend !== 'notebook') throw new Error(`--frontend must be lab or notebook (got "${opts.frontend}")`);
      const notebooksDir = path.resolve(dir);
      if (!fs.existsSync(notebooksDir) || !fs.statSync(notebooksDir).isDirectory()) throw new Error(`no notebooks folder at ${notebooksDir}`);
      const found = findJupyterPython('frontend');
      if (!found) throw new Error(notFoundMessage());

      if (opts.installKernel) {
        const file = writeKernelSpec(userDataDir(found.python));
        console.log(`registered the tslab kernel for ${found.python}: ${file}`);
        return;
      }
      const kernel = opts.dryRun ? '(not written: --dry-run)' : writeKernelSpec();
      const { command, args, frontend } = jupyterCommand(found, { dir: notebooksDir, frontend: opts.frontend as Frontend | undefined, port: opts.port, ip: opts.ip, browser: opts.browser });
      const env = jupyterEnv();
      console.error(`cardlab: Jupyter's Python ${found.python}; ${frontend === 'lab' ? 'JupyterLab' : 'Notebook'}; kernel ${kernel}`);
      if (opts.dryRun) {
        console.log(JSON.stringify({ python: found.python, frontend, command, args, JUPYTER_PATH: env.JUPYTER_PATH }, null, 2));
        return;
      }
      const child = spawn(command, args, { env, stdio: 'inherit' });
      const forward = (signal: NodeJS.Signals) => child.kill(signal);
      process.on('SIGINT', forward);
      process.on('SIGTERM', forward);
      const code = await new Promise<number>((resolve, reject) => {
        child.on('error', reject);
        child.on('exit', (status, signal) => resolve(status ?? (signal ? 1 : 0)));
      });
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      if (code !== 0) process.exitCode = code;
    });
}
