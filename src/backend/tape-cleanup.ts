/**
 * Frees what a failed gradient computation kept for its backward pass.
 *
 * tfjs-core 4.22 keeps a clone of every tensor a kernel saves for the backward pass (on the
 * engine's tape) and frees them when the backward pass completes. When the forward or the backward
 * throws (out of memory, a shape error in a student's layer), nothing frees them: one failed
 * DenseNet-BC L=100 step at batch 32 left 2,786 tensors behind, most of the 4 GB wasm heap, so the
 * step tried next with a smaller batch ran out of memory too. Patched here (idempotent): when
 * `gradients` throws at the outermost level, the tape's saved tensors are disposed, and so is the
 * value f returned, which the caller never receives.
 */
import * as tf from '@tensorflow/tfjs';

interface TapeNode {
  saved?: tf.Tensor[];
}
interface EngineInternals {
  state: { gradientDepth: number; activeTape: TapeNode[] | null };
  gradients: (...args: unknown[]) => unknown;
  cardlabTapeCleanup?: boolean;
}

export function freeTapeOnFailedGradients(): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.cardlabTapeCleanup) return;
  const gradients = engine.gradients.bind(engine);
  engine.gradients = (f: unknown, ...rest: unknown[]) => {
    let y: tf.Tensor | undefined;
    const recordingF = (...a: unknown[]) => (y = (f as (...b: unknown[]) => tf.Tensor)(...a));
    try {
      return gradients(recordingF, ...rest);
    } catch (err) {
      const tape = engine.state.activeTape;
      // Nested (higher-order) gradients share the outer tape: the outermost call frees it.
      if (engine.state.gradientDepth === 0 && tape) {
        for (const node of tape) for (const tensor of node.saved ?? []) tensor.dispose();
        engine.state.activeTape = null;
      }
      // y = f(): the caller never receives it when the backward pass fails.
      if (y && !(rest[0] as tf.Tensor[]).includes(y)) y.dispose();
      throw err;
    }
  };
  engine.cardlabTapeCleanup = true;
}
