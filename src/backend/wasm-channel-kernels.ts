/**
 * Faster wasm kernels for the channel-wise work of a DenseNet (NHWC, channels last).
 *
 * tfjs-backend-wasm 4.22 is slow exactly where a DenseNet spends its non-convolution time:
 * `FusedBatchNorm` is a scalar loop that recomputes the channel of every element; channel `Concat`
 * copies one row per `TypedArray.set(subarray)` per input; `Slice` (and `SplitV`) index generically;
 * `Sum` / `Mean` over N, H, W transpose to channels-first before reducing. The kernels below replace
 * those cases and hand every other case (other axes, other dtypes, broadcasting they do not cover) to
 * the original wasm kernel, so results only change by float rounding:
 * - FusedBatchNorm: y = x·a + b with per-channel a = scale/√(variance+ε), b = offset − mean·a,
 *   computed in JavaScript, then one XNNPACK 1×1 depthwise convolution with bias (threaded; at
 *   64×32×32×204 15.6 → 6.6 ms against wasm's SIMD `Mul` then `Add`, 5.4 → 1.3 ms at 48 channels);
 * - Sum / Mean over N, H, W: a global average pooling on XNNPACK (channels last, no transpose);
 *   the sum is the mean times the count. (A matrix product ones·x was slower: XNNPACK packs and
 *   transposes its weight operand, and tfjs caches that packing by tensor id, which a reshaped view
 *   of the same data would wrongly reuse.)
 * - channel Concat / Slice / SplitV: row copies on the wasm heap, `copyWithin` for rows of ≥ 16 floats.
 * CPU time per call on a fresh 16×32×32×C tensor, one thread, original → ours:
 *   C = 48:  FusedBatchNorm 4.1 → 2.0 ms, Concat (+12 channels) 4.5 → 1.7, Slice 3.5 → 1.2, Sum 3.5 → 0.9;
 *   C = 204: FusedBatchNorm 19.6 → 7.6 ms, Concat 9.7 → 4.7, Slice 8.4 → 2.9, Sum 15.0 → 2.0.
 */
import * as tf from '@tensorflow/tfjs';
import { replaceWasmKernel } from './replace-kernel';

type KernelArgs = { inputs: tf.NamedTensorInfoMap | tf.TensorInfo[]; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };
/** The pieces of BackendWasm used here (it is not exported as a type from tfjs). */
interface WasmBackend extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object): boolean;
  wasm: { HEAPU8: Uint8Array };
}

/** Runs a registered wasm kernel (the original, not ours, when we replaced it); the caller owns the result. */
function runKernel(name: string, args: KernelArgs): tf.TensorInfo {
  const kernel = originalChannelKernels[name] ?? tf.getKernel(name, 'wasm')?.kernelFunc;
  if (!kernel) throw new Error(`the wasm backend has no ${name} kernel`);
  return kernel(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
}

/** A float32 tensor on the wasm heap holding `values`. */
function upload(backend: WasmBackend, values: ArrayLike<number>, shape: number[]): tf.TensorInfo {
  const t = backend.makeOutput(shape, 'float32');
  (backend.typedArrayFromHeap(t) as Float32Array).set(values);
  return t;
}

/** The whole heap as floats, for copyWithin (views into it are taken after every allocation). */
function heapF32(backend: WasmBackend): Float32Array {
  const heap = backend.wasm.HEAPU8;
  return new Float32Array(heap.buffer, 0, heap.buffer.byteLength >>> 2);
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Float32 views of tensors, taken after the output is allocated (allocation may grow the heap, detaching older views). */
function views(backend: WasmBackend, tensors: tf.TensorInfo[]): Float32Array[] {
  return tensors.map((t) => backend.typedArrayFromHeap(t) as Float32Array);
}

/**
 * Concat of float32 tensors along the last axis: each output row is the inputs' rows side by side.
 * The widest input goes first, through wasm's own `PadV2` (C++, one memcpy per row: 7.9 ms for
 * 65,536 rows of 204 floats, where a JavaScript copy per row takes 19 ms), which also allocates the
 * output; the other inputs (a dense layer's k new maps) are then copied into its rows.
 */
function concatChannels(inputs: tf.TensorInfo[], backend: WasmBackend): tf.TensorInfo {
  const rank = inputs[0].shape.length;
  const widths = inputs.map((t) => t.shape[rank - 1]);
  const starts: number[] = [];
  let total = 0;
  for (const width of widths) {
    starts.push(total);
    total += width;
  }
  const rows = size(inputs[0].shape.slice(0, -1));
  const widest = widths.indexOf(Math.max(...widths));
  const paddings = inputs[0].shape.map((): [number, number] => [0, 0]);
  paddings[rank - 1] = [starts[widest], total - starts[widest] - widths[widest]];
  const out = runKernel('PadV2', { inputs: { x: inputs[widest] }, backend, attrs: { paddings, constantValue: 0 } as unknown as tf.NamedAttrMap });
  const [y, ...xs] = views(backend, [out, ...inputs]);
  const heap = heapF32(backend);
  for (let i = 0; i < xs.length; i++) {
    if (i !== widest) copyRows(heap, xs[i].byteOffset >>> 2, widths[i], y.byteOffset >>> 2, starts[i], total, rows, widths[i]);
  }
  return out;
}

/**
 * Copies `rows` rows of `width` floats: row r from heap[from + r·fromStride …] to
 * heap[to + offset + r·toStride …]. Wide rows go through copyWithin (a native memmove), narrow ones
 * through a loop (a call per row costs more than a few floats).
 */
function copyRows(heap: Float32Array, from: number, fromStride: number, to: number, offset: number, toStride: number, rows: number, width: number): void {
  let s = from;
  let o = to + offset;
  if (width >= 16) {
    for (let r = 0; r < rows; r++, s += fromStride, o += toStride) heap.copyWithin(o, s, s + width);
  } else {
    for (let r = 0; r < rows; r++, s += fromStride, o += toStride) {
      for (let c = 0; c < width; c++) heap[o + c] = heap[s + c];
    }
  }
}

/** x[..., begin : begin + width] of a float32 tensor (all other axes whole). */
function sliceChannels(x: tf.TensorInfo, begin: number, width: number, backend: WasmBackend): tf.TensorInfo {
  const channels = x.shape[x.shape.length - 1];
  const rows = size(x.shape.slice(0, -1));
  const out = backend.makeOutput([...x.shape.slice(0, -1), width], 'float32');
  const [y, xv] = views(backend, [out, x]);
  copyRows(heapF32(backend), (xv.byteOffset >>> 2) + begin, channels, y.byteOffset >>> 2, 0, width, rows, width);
  return out;
}

/** Whether `axis` (any form tfjs accepts) is exactly every axis but the last of a rank-`rank` tensor. */
function isLeadingAxes(axis: unknown, rank: number): boolean {
  if (rank < 2 || axis === null || axis === undefined) return false;
  const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => ((a as number) + rank) % rank);
  const set = new Set(axes);
  return set.size === rank - 1 && axes.length === rank - 1 && !set.has(rank - 1);
}

function reduceChannels(kind: 'Sum' | 'Mean', original: tf.KernelFunc) {
  return (args: KernelArgs): tf.TensorInfo => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = (args.attrs ?? {}) as { axis?: number | number[]; keepDims?: boolean };
    if (x.dtype !== 'float32' || !isLeadingAxes(axis, x.shape.length) || size(x.shape) === 0) {
      return original(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    }
    const backend = args.backend as WasmBackend;
    const channels = x.shape[x.shape.length - 1];
    const rows = size(x.shape.slice(0, -1));
    // The mean over the rows is a global average pooling of x viewed as one image [1, rows/w, w, C]
    // (XNNPACK, channels last: no transpose); the sum is the mean times the rows.
    const w = x.shape.length >= 3 ? x.shape[x.shape.length - 2] : 1;
    const out = runKernel('AvgPool', {
      inputs: { x: { dataId: x.dataId, shape: [1, rows / w, w, channels], dtype: 'float32' } },
      backend,
      attrs: { filterSize: [rows / w, w], strides: 1, pad: 'valid', dimRoundingMode: undefined } as unknown as tf.NamedAttrMap,
    });
    if (kind === 'Sum') {
      const y = backend.typedArrayFromHeap({ ...out, shape: [channels] }) as Float32Array;
      for (let c = 0; c < channels; c++) y[c] *= rows;
    }
    out.shape = keepDims ? [...x.shape.slice(0, -1).map(() => 1), channels] : [channels];
    return out;
  };
}

/** A per-channel parameter of FusedBatchNorm as `channels` numbers, or null when its shape is not [C] or [1]. */
function perChannel(t: tf.TensorInfo | undefined, fill: number, channels: number, backend: WasmBackend): Float64Array | null {
  const out = new Float64Array(channels);
  if (!t) return out.fill(fill);
  if (t.dtype !== 'float32') return null;
  const n = size(t.shape);
  if (n !== channels && n !== 1) return null;
  // [C] or any shape of C values that broadcasts over the last axis only ([1,1,1,C]); a scalar fills.
  if (n === channels && t.shape[t.shape.length - 1] !== channels) return null;
  const v = backend.typedArrayFromHeap(t) as Float32Array;
  for (let c = 0; c < channels; c++) out[c] = v[n === 1 ? 0 : c];
  return out;
}

/** y = (x − mean)·scale/√(variance + ε) + offset, per channel of the last axis, as x·a + b. */
function makeFusedBatchNorm(original: tf.KernelFunc) {
  return (args: KernelArgs): tf.TensorInfo => {
    const { x, mean, variance, offset, scale } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const { varianceEpsilon } = (args.attrs ?? {}) as { varianceEpsilon: number };
    const backend = args.backend as WasmBackend;
    if (!x || x.dtype !== 'float32' || x.shape.length < 1 || size(x.shape) === 0) {
      return original(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    }
    const channels = x.shape[x.shape.length - 1];
    const m = perChannel(mean, 0, channels, backend);
    const v = perChannel(variance, 1, channels, backend);
    const o = perChannel(offset, 0, channels, backend);
    const s = perChannel(scale, 1, channels, backend);
    if (!m || !v || !o || !s) return original(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    const a = new Float32Array(channels);
    const b = new Float32Array(channels);
    for (let c = 0; c < channels; c++) {
      a[c] = s[c] / Math.sqrt(v[c] + varianceEpsilon);
      b[c] = o[c] - m[c] * a[c];
    }
    // x·a + b is a 1×1 depthwise convolution with bias: one XNNPACK pass on the thread pool (x seen
    // as one image [1, rows, 1, C]; a reshape is only another shape on the same buffer).
    const owned = [upload(backend, a, [1, 1, channels, 1]), upload(backend, b, [channels])];
    try {
      const image: tf.TensorInfo = { dataId: x.dataId, shape: [1, size(x.shape) / channels, 1, channels], dtype: 'float32' };
      const y = runKernel('FusedDepthwiseConv2D', {
        inputs: { x: image, filter: owned[0], bias: owned[1] },
        backend,
        attrs: { strides: [1, 1], pad: 'valid', dilations: [1, 1], dataFormat: 'NHWC', dimRoundingMode: undefined, activation: 'linear' } as unknown as tf.NamedAttrMap,
      });
      return { ...y, shape: x.shape };
    } finally {
      for (const t of owned) backend.disposeData(t.dataId);
    }
  };
}

function makeConcat(original: tf.KernelFunc) {
  return (args: KernelArgs): tf.TensorInfo => {
    const inputs = (Array.isArray(args.inputs) ? args.inputs : Object.values(args.inputs)) as tf.TensorInfo[];
    const rank = inputs[0]?.shape.length ?? 0;
    const raw = (args.attrs as { axis: number | number[] }).axis;
    const axis = ((Array.isArray(raw) ? raw[0] : raw) + rank) % rank;
    const simple =
      rank >= 2 &&
      axis === rank - 1 &&
      inputs.length > 1 &&
      inputs.every((t) => t.dtype === 'float32' && t.shape.length === rank && size(t.shape) > 0) &&
      inputs.every((t) => t.shape.slice(0, -1).every((d, i) => d === inputs[0].shape[i]));
    if (!simple) return original(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    return concatChannels(inputs, args.backend as WasmBackend);
  };
}

/** SplitV along the channels (the gradient of a channel Concat): one row copy per piece, as Slice. */
function makeSplitV(original: tf.KernelFunc) {
  return (args: KernelArgs): tf.TensorInfo[] => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { numOrSizeSplits, axis } = (args.attrs ?? {}) as { numOrSizeSplits: number | number[]; axis: number | number[] };
    const rank = x.shape.length;
    const $axis = tf.util.parseAxisParam(axis, x.shape)[0];
    if (x.dtype !== 'float32' || rank < 2 || $axis !== rank - 1) return original(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo[];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, $axis) as number[];
    if (sizes.some((width) => width <= 0)) return original(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo[];
    const backend = args.backend as WasmBackend;
    let begin = 0;
    return sizes.map((width) => {
      const piece = sliceChannels(x, begin, width, backend);
      begin += width;
      return piece;
    });
  };
}

function makeSlice(original: tf.KernelFunc) {
  return (args: KernelArgs): tf.TensorInfo => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { begin, size: sizes } = (args.attrs ?? {}) as { begin: number | number[]; size: number | number[] };
    const rank = x.shape.length;
    if (x.dtype !== 'float32' || rank < 2 || !Array.isArray(begin) || !Array.isArray(sizes) || begin.length !== rank || sizes.length !== rank) {
      return original(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    }
    const whole = (i: number) => begin[i] === 0 && (sizes[i] === -1 || sizes[i] === x.shape[i]);
    const last = rank - 1;
    const width = sizes[last] === -1 ? x.shape[last] - begin[last] : sizes[last];
    const onlyChannels = x.shape.slice(0, -1).every((_, i) => whole(i)) && width > 0 && width < x.shape[last] && begin[last] >= 0 && begin[last] + width <= x.shape[last];
    if (!onlyChannels) return original(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    return sliceChannels(x, begin[last], width, args.backend as WasmBackend);
  };
}

let registered = false;

/** The wasm kernels replaced here, for the cases they do not cover and for comparisons (tests, benchmarks). */
export const originalChannelKernels: Record<string, tf.KernelFunc> = {};

/** Replaces the wasm kernels above, keeping the originals for the cases they do not cover (idempotent). */
export function registerWasmChannelKernels(): void {
  if (registered) return;
  const replace = (name: string, make: (original: tf.KernelFunc) => (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]) =>
    replaceWasmKernel(name, make, originalChannelKernels);
  replace('FusedBatchNorm', makeFusedBatchNorm);
  replace('Concat', makeConcat);
  replace('Slice', makeSlice);
  replace('SplitV', makeSplitV);
  replace('Sum', (original) => reduceChannels('Sum', original));
  replace('Mean', (original) => reduceChannels('Mean', original));
  registered = true;
}
