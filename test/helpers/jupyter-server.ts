/**
 * `cardlab notebooks --no-browser` as a user starts it, for tests: the bin in its own process
 * group, the URL (with its token) read from Jupyter's log, and a kernel client over Jupyter's
 * REST and WebSocket API.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import { randomUUID } from 'crypto';
import net from 'net';
import path from 'path';
import WebSocket from 'ws';

const ROOT = path.join(__dirname, '..', '..');

export interface NotebookServer {
  /** e.g. http://localhost:8888/ (the base URL, with a trailing slash). */
  base: string;
  port: number;
  token: string;
  process: ChildProcess;
  /** Everything the command and Jupyter printed so far. */
  log(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Starts `node bin/cardlab.js notebooks DIR --no-browser --port P ...extra` and waits for Jupyter's URL. */
export async function startNotebooks(options: { dir?: string; extra?: string[]; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<NotebookServer> {
  const port = await freePort();
  const args = [path.join(ROOT, 'bin', 'cardlab.js'), 'notebooks', ...(options.dir ? [options.dir] : []), '--no-browser', '--port', String(port), ...(options.extra ?? [])];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...options.env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // Kernels run in sessions of their own: shut them down through Jupyter first, so that none
    // outlives the server (opening a notebook in the browser starts one).
    if (server) {
      const kernels = await api<{ id: string }[]>(server, 'api/kernels').catch(() => []);
      await Promise.all(kernels.map((k) => api(server!, `api/kernels/${k.id}`, { method: 'DELETE' }).catch(() => undefined)));
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* already gone */
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 15_000);
    await exited;
    clearTimeout(timer);
  };
  let server: NotebookServer | undefined;
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  const urlPattern = new RegExp(`(http://(?:localhost|127\\.0\\.0\\.1):${port}/)\\S*\\?token=([0-9a-f]+)`);
  for (;;) {
    const match = urlPattern.exec(log);
    if (match) {
      server = { base: match[1], port, token: match[2], process: child, log: () => log, stop };
      return server;
    }
    if (child.exitCode !== null) throw new Error(`cardlab notebooks exited with ${child.exitCode} before Jupyter served:\n${log}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Jupyter did not print its URL within ${options.timeoutMs ?? 90_000} ms:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function api<T>(server: NotebookServer, route: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${server.base}${route}`, { ...init, headers: { Authorization: `token ${server.token}`, 'Content-Type': 'application/json', ...(init.headers ?? {}) } });
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${route}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

interface Message {
  header: { msg_id: string; msg_type: string };
  parent_header: { msg_id?: string };
  content: Record<string, unknown>;
  channel: string;
}

/**
 * Starts a kernel by name (REST), executes `code` on it (WebSocket, Jupyter's message protocol) and
 * returns what it printed and its result, then shuts the kernel down.
 */
export async function executeOnNewKernel(server: NotebookServer, kernelName: string, code: string, timeoutMs = 120_000): Promise<{ status: string; stdout: string; stderr: string; result?: string }> {
  const kernel = await api<{ id: string; name: string }>(server, 'api/kernels', { method: 'POST', body: JSON.stringify({ name: kernelName }) });
  const session = randomUUID();
  const wsUrl = `${server.base.replace(/^http/, 'ws')}api/kernels/${kernel.id}/channels?session_id=${session}&token=${server.token}`;
  const ws = new WebSocket(wsUrl);
  const msgId = randomUUID();
  try {
    return await new Promise((resolve, reject) => {
      const out = { status: '', stdout: '', stderr: '', result: undefined as string | undefined };
      let replied = false;
      let idle = false;
      const timer = setTimeout(() => reject(new Error(`no answer to ${JSON.stringify(code)} within ${timeoutMs} ms: ${JSON.stringify(out)}\n${server.log().slice(-2000)}`)), timeoutMs);
      const done = () => {
        if (replied && idle) {
          clearTimeout(timer);
          resolve(out);
        }
      };
      ws.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      ws.on('open', () => {
        ws.send(
          JSON.stringify({
            header: { msg_id: msgId, msg_type: 'execute_request', session, username: 'test', version: '5.3', date: new Date().toISOString() },
            parent_header: {},
            metadata: {},
            content: { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
            channel: 'shell',
          }),
        );
      });
      ws.on('message', (raw: Buffer) => {
        const msg = JSON.parse(raw.toString()) as Message;
        if (msg.parent_header.msg_id !== msgId) return;
        const c = msg.content;
        if (msg.header.msg_type === 'stream') out[c.name === 'stderr' ? 'stderr' : 'stdout'] += String(c.text);
        if (msg.header.msg_type === 'execute_result') out.result = String((c.data as Record<string, string>)['text/plain']);
        if (msg.header.msg_type === 'execute_reply') {
          out.status = String(c.status);
          replied = true;
        }
        if (msg.header.msg_type === 'status' && c.execution_state === 'idle') idle = true;
        done();
      });
    });
  } finally {
    ws.close();
    await api(server, `api/kernels/${kernel.id}`, { method: 'DELETE' }).catch(() => undefined);
  }
}

/**
 * Marks a notebook's outputs as trusted, as Notebook does for a notebook its user ran and saved
 * (nbformat's NotebookNotary, the same signature database the server reads); untrusted outputs
 * show their HTML without running its scripts, so the charts would stay tables.
 */
export function trustNotebook(python: string, file: string): void {
  const code = 'import sys, nbformat\nfrom nbformat.sign import NotebookNotary\nnb = nbformat.read(sys.argv[1], 4)\nNotebookNotary().sign(nb)\n';
  const run = spawnSync(python, ['-c', code, file], { encoding: 'utf8', env: process.env });
  if (run.status !== 0) throw new Error(`cannot sign ${file}: ${run.stderr}`);
}
