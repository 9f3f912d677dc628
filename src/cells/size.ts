/**
 * The notebooks' size knob: CARDLAB_NOTEBOOK_SIZE=quick|full. `quick` (tests, live demos) makes
 * every notebook finish in seconds: tiny models, few samples, one epoch. `full` (the default) is
 * what a student runs. This is the only place that reads the variable.
 */
export const NOTEBOOK_SIZE_ENV = 'CARDLAB_NOTEBOOK_SIZE';
export const NOTEBOOK_SIZES = ['quick', 'full'] as const;
export type NotebookSize = (typeof NOTEBOOK_SIZES)[number];

export function notebookSize(env: NodeJS.ProcessEnv = process.env): NotebookSize {
  const value = (env[NOTEBOOK_SIZE_ENV] ?? '').trim().toLowerCase();
  if (value === '') return 'full';
  if ((NOTEBOOK_SIZES as readonly string[]).includes(value)) return value as NotebookSize;
  throw new Error(`${NOTEBOOK_SIZE_ENV} must be ${NOTEBOOK_SIZES.join(' or ')} (got "${env[NOTEBOOK_SIZE_ENV]}")`);
}

/** The value for the current size: `bySize({ quick: 1, full: 20 })` epochs. */
export function bySize<T>(choices: Record<NotebookSize, T>, env: NodeJS.ProcessEnv = process.env): T {
  return choices[notebookSize(env)];
}
