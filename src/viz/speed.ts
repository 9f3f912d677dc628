/**
 * Plotly figure of the speed benchmark: forward and training-step time of each
 * framework/backend as grouped bars, labelled with the ratio to PyTorch; a run
 * that aborted or timed out is named under the chart instead of a bar.
 */
import type { PlotlyFigure } from './memory';

/**
 * The speed benchmark's model variants (bench/speed.ts): the naive DenseNet, the memory-efficient
 * one, and the memory-efficient one trained data-parallel over wasm replicas (src/parallel).
 */
export type Variant = 'naive' | 'memory-efficient' | 'data-parallel';

/** Where the kernel time of one run went (tf.profile): the kernels that took longest, and their share. */
export interface KernelProfile {
  /** Wall time of the profiled run (profiling adds a little overhead). */
  wallMs: number;
  /** Sum of the kernels' own times; the rest of the wall time is JavaScript between kernels. */
  kernelMs: number;
  /** How many kernels ran. */
  kernels: number;
  /** The top kernels by total time: name, total ms, share of kernelMs, calls. */
  top: { kernel: string; ms: number; share: number; calls: number }[];
}

/** One JSON row of `cardlab bench speed`: null figures with an error when that part could not run. */
export interface SpeedRow {
  framework: 'tfjs' | 'pytorch';
  /** tfjs backend name, or "cpu" for PyTorch. */
  backend: string;
  variant: Variant;
  /** tfjs core or torch version (null when the run did not start). */
  version: string | null;
  depth: number;
  growthRate: number;
  batch: number;
  repeats: number;
  /** PyTorch's intra-op threads; the wasm backend's XNNPACK threads; null for the other tfjs backends. */
  threads: number | null;
  /** Data-parallel rows: the replicas (worker threads, each with `threads` XNNPACK threads). */
  replicas?: number;
  trainableParams: number | null;
  /** Median milliseconds after one warm-up; null when not measured. */
  forwardMs: number | null;
  trainStepMs: number | null;
  /** Each timed run; fewer than `repeats` when the time limit cut the phase short. */
  forwardRunsMs: number[];
  trainStepRunsMs: number[];
  /** This row's time ÷ PyTorch's (null without both). */
  forwardRatio: number | null;
  trainStepRatio: number | null;
  /** tfjs rows: where one extra profiled run of each phase spent its kernel time (absent when not measured). */
  forwardProfile?: KernelProfile;
  trainStepProfile?: KernelProfile;
  /** PyTorch: the OpenMP wait policy whose run gave each figure (the faster), and each policy's medians. */
  waitPolicy?: { forward: string; trainStep: string };
  byWaitPolicy?: Record<string, { forwardMs: number; trainStepMs: number }>;
  /** Why the framework/backend could not run at all. */
  error?: string;
  forwardError?: string;
  trainStepError?: string;
}

/** "4.41×", "12.3×", "0.87×". */
export function formatRatio(ratio: number): string {
  return `${ratio.toFixed(ratio < 10 ? 2 : 1)}×`;
}

export function speedRowLabel(row: SpeedRow): string {
  if (row.framework === 'pytorch') return `PyTorch ${row.version ?? ''} (${row.threads} threads)`.replace(/\s+/g, ' ');
  return `tfjs ${row.backend}${row.variant === 'naive' ? '' : ` ${row.variant}`}`;
}

export function speedFigure(rows: SpeedRow[]): PlotlyFigure {
  const x = rows.map(speedRowLabel);
  const bars = (ms: (r: SpeedRow) => number | null, ratio: (r: SpeedRow) => number | null, name: string, color: string) => ({
    type: 'bar',
    name,
    x,
    y: rows.map((r) => (ms(r) === null ? null : ms(r)! / 1000)),
    text: rows.map((r) => (ratio(r) === null || r.framework === 'pytorch' ? '' : formatRatio(ratio(r)!))),
    textposition: 'outside',
    marker: { color },
  });
  const missing = rows.flatMap((r) => {
    const label = speedRowLabel(r);
    if (r.error) return [`${label}: ${r.error.length > 110 ? `${r.error.slice(0, 107)}...` : r.error}`];
    return [
      ...(r.forwardError ? [`${label} forward: ${r.forwardError}`] : []),
      ...(r.trainStepError ? [`${label} training step: ${r.trainStepError}`] : []),
    ];
  });
  const first = rows[0];
  return {
    data: [
      bars((r) => r.forwardMs, (r) => r.forwardRatio, 'forward', '#1f77b4'),
      bars((r) => r.trainStepMs, (r) => r.trainStepRatio, 'training step', '#ff7f0e'),
    ],
    layout: {
      title: {
        text:
          `DenseNet-BC (L=${first?.depth}, k=${first?.growthRate}), batch ${first?.batch}, 32×32×3: median of ${first?.repeats} run(s)` +
          '<br><sub>bar labels: time ÷ PyTorch</sub>',
      },
      barmode: 'group',
      yaxis: { title: { text: 'time (s)' }, rangemode: 'tozero' },
      legend: { orientation: 'h', x: 1, xanchor: 'right', y: 1.02, yanchor: 'bottom' },
      margin: { b: 60 + 16 * missing.length },
      // Under the axis labels, one line each (pixel offsets: independent of the chart's height).
      annotations: missing.map((text, i) => ({
        text: text.replace(/</g, '&lt;'),
        xref: 'paper',
        yref: 'paper',
        x: 0,
        xanchor: 'left',
        y: 0,
        yanchor: 'top',
        yshift: -36 - 16 * i,
        showarrow: false,
        font: { size: 11, color: '#d62728' },
      })),
    },
  };
}
