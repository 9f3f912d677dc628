/**
 * The server's live-demo runs: each gets a random run id (the first NDJSON event of its stream)
 * by which `POST /api/cells/runs/:runId/stop` cancels it, waiting or running. Runs take a warm,
 * pre-started sandboxed child from the pool when one fits (cells of the notebooks folder itself);
 * others start cold. The decks, the data folder and the coursework are hidden from cells even
 * when they lie inside the notebook folder. `close()` (shutdown) stops every run and drains the pool.
 */
import { randomUUID } from 'crypto';
import path from 'path';
import { runCell, childScript, PROJECT_ROOT, type CellRun } from '../src/cells/runner';
import { sandboxProblem, SandboxUnavailableError } from '../src/cells/sandbox';
import type { CellEvent } from '../src/cells/events';
import { WarmPool } from '../src/cells/pool';
import type { ServerConfig } from './config';
import { HttpError } from './errors';

interface Entry {
  /** Cancels the run: a waiting one leaves the queue, a running one is killed. */
  stop: () => void;
  run?: CellRun;
}

export class CellRuns {
  private readonly runs = new Map<string, Entry>();
  private readonly pool: WarmPool | undefined;
  private readonly hidden: string[];
  private closed = false;

  constructor(private readonly config: ServerConfig) {
    this.hidden = [config.cardsDir, config.dataDir, config.courseworkDir];
    this.pool =
      config.warmPool > 0 && (config.trustedCells || !sandboxProblem())
        ? new WarmPool({
            size: config.warmPool,
            script: childScript(),
            projectRoot: PROJECT_ROOT,
            cwd: config.notebooksDir,
            memoryLimitMb: config.cellMemoryMb,
            unsandboxed: config.trustedCells,
            hidden: this.hidden,
          })
        : undefined;
  }

  /** Starts the warm children (at server start, and again after each run takes one). */
  warmUp(): void {
    if (!this.closed) this.pool?.fill();
  }

  /** The pool as GET /api/cells shows it: its size, children started, and those already warm. */
  poolState(): { size: number; waiting: number; warm: number } {
    return { size: this.pool ? this.config.warmPool : 0, waiting: this.pool?.size ?? 0, warm: this.pool?.warm ?? 0 };
  }

  /** 503 with the reason when cells cannot run here (no sandbox and not trusted). */
  assertCanRun(): void {
    if (this.config.trustedCells) return;
    const missing = sandboxProblem();
    if (missing) throw new HttpError(503, new SandboxUnavailableError(missing).message);
  }

  /** A new run id, registered with how to cancel it while it waits for a slot. */
  open(stop: () => void): string {
    const runId = randomUUID();
    this.runs.set(runId, { stop });
    return runId;
  }

  /** Starts the cell for the run `runId` (in its notebook's folder). */
  start(runId: string, code: string, notebookFile: string, onEvent: (event: CellEvent) => void): CellRun {
    const run = runCell(code, {
      cwd: path.dirname(notebookFile),
      timeLimitMs: this.config.cellTimeoutMs,
      memoryLimitMb: this.config.cellMemoryMb,
      unsandboxed: this.config.trustedCells,
      hidden: this.hidden,
      pool: this.pool,
      onEvent,
    });
    const entry = this.runs.get(runId);
    if (entry) entry.run = run;
    this.warmUp();
    return run;
  }

  finish(runId: string): void {
    this.runs.delete(runId);
  }

  /** Cancels a run; false when there is no such run (unknown, or already over). */
  stop(runId: string): boolean {
    const entry = this.runs.get(runId);
    if (!entry) return false;
    entry.stop();
    entry.run?.kill();
    return true;
  }

  get running(): number {
    return this.runs.size;
  }

  close(): void {
    this.closed = true;
    for (const runId of [...this.runs.keys()]) this.stop(runId);
    this.pool?.close();
  }
}
