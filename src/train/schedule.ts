/**
 * Learning-rate schedules. The paper's (Huang et al. 2017, §4.2): start at 0.1,
 * divide by 10 at 50% and 75% of the training epochs. `cosine` (Loshchilov &
 * Hutter's SGDR without restarts) lowers the rate smoothly to 0 after every
 * step, which suits runs of only a few epochs, where a step would come too late.
 */

export type ScheduleName = 'step' | 'constant' | 'cosine';
export const SCHEDULES: readonly ScheduleName[] = ['step', 'constant', 'cosine'];

/** Fractions of the run at which the step schedule divides the rate. */
export const PAPER_MILESTONES = [0.5, 0.75] as const;
export const PAPER_DECAY = 0.1;

/** Whether the rate changes within an epoch (the loop then sets it before every step). */
export function changesEveryStep(schedule: ScheduleName): boolean {
  return schedule === 'cosine';
}

/**
 * The learning rate after `epoch` epochs of `epochs` (0-based; a fraction for
 * the steps of an epoch done). The step schedule changes only at whole epochs.
 */
export function learningRateAt(
  schedule: ScheduleName,
  baseLr: number,
  epoch: number,
  epochs: number,
  milestones: readonly number[] = PAPER_MILESTONES,
  factor = PAPER_DECAY,
): number {
  switch (schedule) {
    case 'constant':
      return baseLr;
    case 'cosine':
      return 0.5 * baseLr * (1 + Math.cos((Math.PI * Math.min(epoch, epochs)) / epochs));
    case 'step': {
      const passed = milestones.filter((m) => Math.floor(epoch) >= m * epochs).length;
      return baseLr * factor ** passed;
    }
    default:
      throw new Error(`unknown learning-rate schedule ${String(schedule)}: use one of ${SCHEDULES.join(', ')}`);
  }
}
