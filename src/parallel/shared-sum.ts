/**
 * Elementwise sums across the replicas of a data-parallel step, over one SharedArrayBuffer.
 *
 * Each replica (a worker thread) writes its vector into its own slot, waits at a barrier until
 * every replica has written, and then sums all slots itself, in replica order: every replica gets
 * the same bits, so their weights stay identical without sending them around. Slots come in two
 * sets used in turn, so a replica that runs ahead into the next sum never overwrites a slot another
 * is still reading (to reuse a set it must pass the next barrier, which the reader has not reached).
 *
 * A replica that fails calls `abort`; every replica waiting then throws instead of waiting for ever,
 * and so does any later sum. Waits also end after `timeoutMs` without the others.
 */

const GENERATION = 0;
const ARRIVED = 1;
const ABORTED = 2;
const CONTROL_INTS = 4; // padded so the data that follows is 8-byte aligned

export class ReplicaAbortedError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'ReplicaAbortedError';
  }
}

/** The buffer to hand to every replica: `replicas` × 2 slots of `capacity` float64 values. */
export function createSharedSumBuffer(replicas: number, capacity: number): SharedArrayBuffer {
  if (!Number.isInteger(replicas) || replicas < 1) throw new Error(`replicas must be a positive integer (got ${replicas})`);
  if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`capacity must be a positive integer (got ${capacity})`);
  return new SharedArrayBuffer(CONTROL_INTS * 4 + 2 * replicas * capacity * 8);
}

/** Marks the sum failed from outside (e.g. the main thread when a replica's worker died). */
export function abortSharedSum(buffer: SharedArrayBuffer): void {
  const control = new Int32Array(buffer, 0, CONTROL_INTS);
  Atomics.store(control, ABORTED, 1);
  Atomics.add(control, GENERATION, 1); // wakes every waiter: they see the flag
  Atomics.notify(control, GENERATION);
}

export class SharedSum {
  private readonly control: Int32Array;
  private readonly data: Float64Array;
  readonly capacity: number;
  /** Which slot set the next sum uses. */
  private round = 0;

  constructor(
    buffer: SharedArrayBuffer,
    readonly rank: number,
    readonly replicas: number,
    private readonly timeoutMs = 10 * 60_000,
  ) {
    if (!Number.isInteger(rank) || rank < 0 || rank >= replicas) throw new Error(`rank ${rank} is not one of 0…${replicas - 1}`);
    this.control = new Int32Array(buffer, 0, CONTROL_INTS);
    this.data = new Float64Array(buffer, CONTROL_INTS * 4);
    this.capacity = this.data.length / (2 * replicas);
    if (!Number.isInteger(this.capacity) || this.capacity < 1) throw new Error('the shared buffer was not made for this many replicas');
  }

  /** Σ over replicas of `values` (every replica passes the same length); the same result on each. */
  sum(values: ArrayLike<number>): Float64Array {
    const n = values.length;
    if (n > this.capacity) throw new Error(`a cross-replica sum of ${n} values exceeds the buffer's ${this.capacity}`);
    const set = (this.round++ % 2) * this.replicas;
    this.data.set(values, (set + this.rank) * this.capacity);
    this.barrier();
    const out = new Float64Array(n);
    for (let r = 0; r < this.replicas; r++) {
      const slot = this.data.subarray((set + r) * this.capacity, (set + r) * this.capacity + n);
      for (let i = 0; i < n; i++) out[i] += slot[i];
    }
    return out;
  }

  /** Makes every replica's waits (now and later) throw. */
  abort(): void {
    abortSharedSum(this.control.buffer as SharedArrayBuffer);
  }

  private checkAborted(): void {
    if (Atomics.load(this.control, ABORTED)) throw new ReplicaAbortedError('another replica of the data-parallel step failed');
  }

  /** Returns when every replica has arrived at this barrier. */
  private barrier(): void {
    this.checkAborted();
    const generation = Atomics.load(this.control, GENERATION);
    if (Atomics.add(this.control, ARRIVED, 1) === this.replicas - 1) {
      Atomics.store(this.control, ARRIVED, 0);
      Atomics.add(this.control, GENERATION, 1);
      Atomics.notify(this.control, GENERATION);
      return;
    }
    const deadline = Date.now() + this.timeoutMs;
    while (Atomics.load(this.control, GENERATION) === generation) {
      const left = deadline - Date.now();
      if (left <= 0) throw new ReplicaAbortedError(`the other replicas did not arrive within ${this.timeoutMs / 1000} s`);
      Atomics.wait(this.control, GENERATION, generation, left);
    }
    this.checkAborted();
  }
}
