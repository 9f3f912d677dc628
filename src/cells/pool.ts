/**
 * Warm cell processes for live demos: a few sandboxed children started ahead of time, each one
 * already past the slow start (tslab's converter, `cardlab` loaded and type-checked, the tensor
 * backend up; see warm-up.ts), waiting for a job on stdin. Every run takes a fresh one, which is
 * never reused, and a replacement starts in the background: isolation between runs is the same as
 * with a cold process (own namespaces, cgroups, /tmp). A child may wait as long as it likes; one that
 * died while waiting is dropped. `close()` kills them all (server shutdown).
 */
import fs from 'fs';
import { CellProcess, type CellProcessOptions } from './cell-process';

export const DEFAULT_POOL_SIZE = 1;

export type PoolOptions = Omit<CellProcessOptions, 'warmUp'> & { size: number };

export class WarmPool {
  private ready: CellProcess[] = [];
  private closed = false;
  /** Children that died before being used, one after another: refilling stops after a few. */
  private failures = 0;
  /** Runs going on (`hold`): while there are any, children still warming up are stopped. */
  private holds = 0;

  readonly options: PoolOptions;

  constructor(options: PoolOptions) {
    // Runs ask by real path (runner.ts): a notebooks folder reached through a link still matches.
    this.options = { ...options, cwd: fs.existsSync(options.cwd) ? fs.realpathSync(options.cwd) : options.cwd };
  }

  /** Children waiting (warming up or warm). */
  get size(): number {
    return this.ready.length;
  }

  /** Children that said they are warm (the benchmark waits for these). */
  get warm(): number {
    return this.ready.filter((cell) => cell.readyAt !== undefined).length;
  }

  /**
   * For the length of a run: children still warming up are stopped (SIGSTOP), so that on a
   * machine with few cores the run gets all the CPU (a cold run right after the server started
   * took 2–3.5 s beside a warming child, 1.4 s alone); no new child starts. The returned function
   * ends the hold (once); when the last one ends, they go on and the pool is filled.
   */
  hold(): () => void {
    this.holds++;
    if (this.holds === 1) for (const cell of this.warming()) cell.pause(true);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      if (this.holds > 0 || this.closed) return;
      for (const cell of this.warming()) cell.pause(false);
      this.fill();
    };
  }

  private warming(): CellProcess[] {
    return this.ready.filter((cell) => cell.readyAt === undefined);
  }

  /** Starts children until the pool is full (no-op when it is, closed, or held by a run). */
  fill(): void {
    while (!this.closed && this.holds === 0 && this.ready.length < this.options.size && this.failures < 3) {
      const cell = new CellProcess({ ...this.options, warmUp: true });
      this.ready.push(cell);
      void cell.closed.then(() => {
        // Gone while waiting (killed, or it crashed warming up): drop it, start another.
        const index = this.ready.indexOf(cell);
        if (index < 0) return;
        this.ready.splice(index, 1);
        this.failures++;
        this.fill();
      });
    }
  }

  /**
   * A warm child (one that said `ready`) for a run in `cwd` with that memory limit and sandbox
   * choice, or undefined when none fits (the run then starts a cold one). A replacement starts at once.
   */
  take(request: { cwd: string; memoryLimitMb: number; unsandboxed: boolean }): CellProcess | undefined {
    if (this.closed) return undefined;
    // Only a child that finished warming up: one still starting would spend the run's time on it.
    const fits = (cell: CellProcess) =>
      cell.alive && cell.readyAt !== undefined && cell.options.cwd === request.cwd && cell.options.memoryLimitMb === request.memoryLimitMb && !cell.sandboxed === request.unsandboxed;
    const index = this.ready.findIndex(fits);
    if (index < 0) return undefined;
    const [cell] = this.ready.splice(index, 1);
    this.failures = 0;
    setImmediate(() => this.fill());
    return cell;
  }

  /** Kills every waiting child (their cgroups go with them); no more are started. */
  close(): void {
    this.closed = true;
    for (const cell of this.ready.splice(0)) cell.destroy();
  }
}
