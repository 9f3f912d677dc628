/**
 * Batch statistics across the replicas of a data-parallel step (synchronised batch norm).
 *
 * In a data-parallel step each replica sees a part of the batch. Batch norm with each part's own
 * mean and variance would train a different model (and a worse one for small parts), so every
 * batch-norm computation asks this module instead of reducing over its local rows:
 * - forward: the mean over all replicas' rows, then the variance about that mean (the same two
 *   passes as tf.moments, each local reduction summed across replicas, weighted by rows);
 * - backward: Σ dy and Σ dy·(x−μ) over all rows, which the input gradient needs; the γ and β
 *   gradients stay local, since the step sums the replicas' gradients afterwards.
 * Outside a data-parallel replica (no group set) these are the plain local computations, so the
 * single-process path runs exactly the ops it ran before.
 *
 * Used by the memory-efficient dense block (src/densenet/efficient.ts) and by the batch-norm
 * layers a replica patches (src/parallel/sync-batch-norm.ts).
 */
import { tf } from '../tf';

/** Σ over replicas, elementwise, the same result on every replica (a SharedSum). */
export interface ReplicaGroup {
  sum(values: ArrayLike<number>): Float64Array;
}

let group: ReplicaGroup | undefined;

/** Makes this thread a replica of `g` (undefined: a single process again). */
export function setReplicaGroup(g: ReplicaGroup | undefined): void {
  group = g;
}

/**
 * Tensors of any shape, summed elementwise over every replica in one cross-replica sum, with the
 * rows they cover (`localRows` here; identity outside a group). The caller owns the returned tensors.
 * Used for batch norm's per-channel sums and for a replica's gradients.
 */
export function sumAcrossReplicas<T extends tf.Tensor>(tensors: T[], localRows = 0): { sums: T[]; rows: number } {
  if (!group) return { sums: tensors, rows: localRows };
  const local = new Float64Array(tensors.reduce((n, t) => n + t.size, 0) + 1);
  let offset = 0;
  for (const t of tensors) {
    local.set(t.dataSync(), offset);
    offset += t.size;
  }
  local[offset] = localRows;
  const total = group.sum(local);
  offset = 0;
  const sums = tensors.map((t) => {
    const sum = tf.tensor(new Float32Array(total.subarray(offset, offset + t.size)), t.shape) as T;
    offset += t.size;
    return sum;
  });
  return { sums, rows: total[offset] };
}

/** Mean over all replicas' rows of a per-channel local mean over `localRows` rows. */
function meanAcrossReplicas(localMean: tf.Tensor1D, localRows: number): tf.Tensor1D {
  const { sums, rows } = sumAcrossReplicas([tf.mul(localMean, localRows) as tf.Tensor1D], localRows);
  return tf.div(sums[0], rows);
}

/**
 * Mean and biased variance per channel over `axes` (all but the channel axis), as tf.moments
 * computes them, over the whole batch of every replica.
 */
export function batchMoments(x: tf.Tensor, axes: number[]): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  if (!group) {
    const { mean, variance } = tf.moments(x, axes);
    return { mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  return tf.tidy(() => {
    const rows = x.size / x.shape[x.shape.length - 1];
    const mean = meanAcrossReplicas(tf.mean(x, axes) as tf.Tensor1D, rows);
    const variance = meanAcrossReplicas(tf.mean(tf.squaredDifference(x, mean), axes) as tf.Tensor1D, rows);
    return { mean, variance };
  });
}
