/**
 * Feature reuse measured from a DenseNet's weights (the paper's Figure 5): for each layer ℓ of a
 * dense block, the mean absolute weight of the conv that reads [x₀, x₁, …, x_{ℓ-1}] (the 3×3 conv,
 * or the 1×1 conv of a bottleneck layer), split by the source of each input channel. A large value
 * means layer ℓ draws on that earlier layer's maps. The transition after the block reads all of them.
 */
import { tf } from '../tf';
import { denseLayerName, transitionName } from './names';


export interface FeatureReuse {
  block: number;
  /** c₀: channels of the block input. */
  inputChannels: number;
  growthRate: number;
  /** matrix[t][s]: target t (layer t+1, then the transition if any), source s (0 = x₀); null where not read. */
  matrix: (number | null)[][];
  targets: string[];
}

/** The kernel of the conv named `layer` (e.g. `block1_layer3_conv3x3`), also in a memory-efficient model. */
function kernelOf(model: tf.LayersModel, layer: string): tf.Tensor | undefined {
  const weight = model.weights.find((w) => {
    const name = (w as unknown as { originalName?: string }).originalName ?? w.name;
    return name === `${layer}/kernel` || name.startsWith(`${layer}/kernel_`);
  });
  return weight?.read();
}

/** Mean |w| over the kernel's input channels [from, to), for every source. */
function meanAbsBySource(kernel: tf.Tensor, bounds: number[]): number[] {
  const values = kernel.dataSync();
  const [kh, kw, cin, cout] = kernel.shape as number[];
  const perChannel = new Float64Array(cin);
  for (let p = 0; p < kh * kw; p++) {
    for (let c = 0; c < cin; c++) {
      const base = (p * cin + c) * cout;
      for (let o = 0; o < cout; o++) perChannel[c] += Math.abs(values[base + o]);
    }
  }
  return bounds.slice(0, -1).map((from, s) => {
    const to = bounds[s + 1];
    let sum = 0;
    for (let c = from; c < to; c++) sum += perChannel[c];
    return sum / ((to - from) * kh * kw * cout);
  });
}

/** Feature reuse inside dense block `block` (1-based) of a model built by `buildDenseNet`. */
export function featureReuse(model: tf.LayersModel, block = 1): FeatureReuse {
  const readerOf = (layer: number) =>
    kernelOf(model, denseLayerName(block, layer)('conv1x1')) ?? kernelOf(model, denseLayerName(block, layer)('conv3x3'));
  const first = readerOf(1);
  if (!first) throw new Error(`featureReuse: the model has no dense block ${block} (no layer named ${denseLayerName(block, 1)('conv3x3')})`);
  const inputChannels = first.shape[2] as number;
  let layers = 1;
  while (readerOf(layers + 1)) layers++;
  const growthRate = layers > 1 ? (readerOf(2)!.shape[2] as number) - inputChannels : (kernelOf(model, denseLayerName(block, 1)('conv3x3'))!.shape[3] as number);
  const bounds = (sources: number) => Array.from({ length: sources + 1 }, (_, s) => (s === 0 ? 0 : inputChannels + (s - 1) * growthRate));

  const matrix: (number | null)[][] = [];
  const targets: string[] = [];
  const row = (kernel: tf.Tensor, sources: number) => {
    const means = meanAbsBySource(kernel, bounds(sources));
    return Array.from({ length: layers + 1 }, (_, s) => (s < sources ? means[s] : null));
  };
  for (let layer = 1; layer <= layers; layer++) {
    matrix.push(row(readerOf(layer)!, layer));
    targets.push(`layer ${layer}`);
  }
  const transition = kernelOf(model, transitionName(block)('conv'));
  if (transition) {
    matrix.push(row(transition, layers + 1));
    targets.push(`transition ${block}`);
  }
  return { block, inputChannels, growthRate, matrix, targets };
}
