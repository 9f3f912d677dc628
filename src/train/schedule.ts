/**
 * Learning-rate schedules. The paper's (Huang et al. 2017, §4.2): start at 0.1,
 * divide by 10 at 50% and 75% of the training epochs.
 */

export type ScheduleName = 'step' | 'constant';
export const SCHEDULES: readonly ScheduleName[] = ['step', 'constant'];

/** Fractions of the run at which the step schedule divides the rate. */
export const PAPER_MILESTONES = [0.5, 0.75] as const;
export const PAPER_DECAY = 0.1;

/** The learning rate for `epoch` (0-based) of `epochs`. */
export function learningRateAt(
  schedule: ScheduleName,
  baseLr: number,
  epoch: number,
  epochs: number,
  milestones: readonly number[] = PAPER_MILESTONES,
  factor = PAPER_DECAY,
): number {
  if (schedule === 'constant') return baseLr;
  const passed = milestones.filter((m) => epoch >= m * epochs).length;
  return baseLr * factor ** passed;
}
