/**
 * Child process of `measureInChild`: receives one SpeedSpec, streams its
 * measurements back as SpeedMessages and exits. A wasm abort may kill the
 * process before it can answer; the parent reads that from the exit.
 */
import { measureSpeed, SpeedMessage, SpeedSpec } from './speed-measure';

// The bench that forked this one is gone (killed): stop at the next turn of the event loop rather
// than train on, orphaned, for minutes.
process.once('disconnect', () => process.exit(1));

process.once('message', (spec: SpeedSpec) => {
  const send = (message: SpeedMessage) => process.send?.(message);
  // measureSpeed reports its own errors; exit once the last message is flushed.
  void measureSpeed(spec, send).then(() => process.send?.({ type: 'done' } satisfies SpeedMessage, () => process.exit(0)));
});
