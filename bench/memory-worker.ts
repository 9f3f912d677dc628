/**
 * Child process of `measureInChildProcess`: receives one StepSpec, measures it,
 * sends back a ChildResult and exits. A wasm abort (out of memory) may kill the
 * process before it can answer; the parent reads that from the exit.
 */
import { measureTrainingStep, type StepSpec } from '../src/train/measure';
import type { ChildResult } from './memory';

process.once('message', (spec: StepSpec) => {
  measureTrainingStep(spec)
    .then((result): ChildResult => ({ ok: true, result }))
    .catch((err: unknown): ChildResult => ({ ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }))
    .then((message) => process.send?.(message, () => process.exit(0)));
});
