/**
 * Convolution gradient kernels for @tensorflow/tfjs-backend-wasm 4.22.
 *
 * - `Conv2DBackpropFilter` (the weight gradient) is missing on wasm. The obvious
 *   stand-in, wasm `Conv3DBackpropFilterV2` on a depth-1 view, is a scalar loop
 *   (~1 s per DenseNet 1×1 conv) and wrong for strides > 1: its loop bounds use
 *   C integer division, so `DivCeil(pad - k, stride)` rounds a negative numerator
 *   the wrong way and the exclusive end uses floor instead of ceil; rows and
 *   columns are dropped whenever stride > 1.
 *   We instead run the weight gradient as a forward convolution on the xnnpack
 *   `Conv2D` kernel (see `conv2DBackpropFilter` below).
 * - `Conv2DBackpropInput` exists on wasm but is also a scalar loop (~10× slower
 *   than the forward conv); for stride 1 we run it as a forward convolution with
 *   the flipped filter and keep the original kernel for strides > 1.
 * - `MaxPoolGrad` on wasm is wrong for a batch of several images with several
 *   channels (e.g. [3,16,16,5], 3×3/2 'valid': max error 273 on gradients ≤ 300)
 *   and for 'same' padding, and slow (it recomputes the maximum of every window
 *   around every input pixel). Ours finds each window's maximum once and adds dy
 *   there (`maxPoolGrad` below); it equals the cpu backend's, ties included.
 *
 * Kernel functions must call kernels directly (not tf ops) and dispose every
 * intermediate they create, so nothing leaks into the engine or the wasm heap
 * (xnnpack operators are cached per filter tensor and freed with it).
 */
import * as tf from '@tensorflow/tfjs';
import { replaceWasmKernel } from './replace-kernel';

type Conv2DGradAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};
type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };
/** The pieces of BackendWasm we use (it is not exported as a type from tfjs). */
type WasmBackend = tf.KernelBackend & {
  disposeData(dataId: object): boolean;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
};

/** Runs a registered wasm kernel; the caller owns (and must dispose) the result. */
function runKernel(name: string, args: KernelArgs): tf.TensorInfo {
  const kernel = tf.getKernel(name, 'wasm');
  if (!kernel) throw new Error(`the wasm backend has no ${name} kernel`);
  return kernel.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
}

function checkInputs(kernel: string, attrs: Conv2DGradAttrs, tensors: tf.TensorInfo[]): void {
  if (attrs.dataFormat === 'NCHW') throw new Error(`cardlab wasm ${kernel} supports only NHWC data`);
  for (const t of tensors) {
    if (t.dtype !== 'float32') throw new Error(`cardlab wasm ${kernel} needs float32 tensors, got ${t.dtype}`);
  }
}

/**
 * dW[kh,kw,ci,co] = Σ_{n,oh,ow} x[n, oh·sh + kh − top, ow·sw + kw − left, ci] · dy[n,oh,ow,co]
 *
 * is a forward convolution in which ci plays the batch, n the channel, and dy the
 * filter, dilated by the stride:
 *   input  x' = transpose(x, [3,1,2,0])   [Ci, H, W, N]
 *   filter dy' = transpose(dy, [1,2,0,3]) [OH, OW, N, Co]
 *   out = conv2d(x', dy', stride 1, dilation (sh, sw), padding (top, left, …))  [Ci, kh, kw, Co]
 *   dW = transpose(out, [1,2,0,3])
 * xnnpack then does one GEMM of (Ci·kh·kw) × (N·OH·OW) × Co without an im2col copy.
 * The bottom/right padding makes the output exactly kh × kw; when that would need
 * a negative padding (rows that 'valid' never reads) we pad 0 and crop the output.
 */
function conv2DBackpropFilter({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = attrs as unknown as Conv2DGradAttrs & { filterShape: [number, number, number, number] };
  checkInputs('Conv2DBackpropFilter', a, [x, dy]);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode,
  );
  if (isPointwise(info) && info.batchSize * info.inHeight * info.inWidth >= POINTWISE_MATMUL_MIN_ROWS) {
    return pointwiseBackpropFilter(x, dy, backend);
  }
  const { inHeight, inWidth, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const [, outHeight, outWidth] = dy.shape; // dy' is the filter, so its size is what counts
  const { top, left } = info.padInfo;
  const bottom = filterHeight + (outHeight - 1) * strideHeight - inHeight - top;
  const right = filterWidth + (outWidth - 1) * strideWidth - inWidth - left;
  const wasm = backend as WasmBackend;
  const owned: tf.TensorInfo[] = [];
  const keep = (t: tf.TensorInfo): tf.TensorInfo => (owned.push(t), t);
  try {
    const xT = keep(runKernel('Transpose', { inputs: { x }, backend, attrs: { perm: [3, 1, 2, 0] } }));
    const dyT = keep(runKernel('Transpose', { inputs: { x: dy }, backend, attrs: { perm: [1, 2, 0, 3] } }));
    const explicitPad = [[0, 0], [top, Math.max(bottom, 0)], [left, Math.max(right, 0)], [0, 0]];
    let out = keep(runKernel('Conv2D', {
      inputs: { x: xT, filter: dyT },
      backend,
      attrs: { strides: 1, pad: explicitPad, dataFormat: 'NHWC', dilations: [strideHeight, strideWidth] } as unknown as tf.NamedAttrMap,
    }));
    if (bottom < 0 || right < 0) {
      out = keep(runKernel('Slice', {
        inputs: { x: out },
        backend,
        attrs: { begin: [0, 0, 0, 0], size: [-1, filterHeight, filterWidth, -1] },
      }));
    }
    return runKernel('Transpose', { inputs: { x: out }, backend, attrs: { perm: [1, 2, 0, 3] } });
  } finally {
    for (const t of owned) wasm.disposeData(t.dataId);
  }
}

/** A 1×1 convolution with stride 1 and no padding: a matrix product over the pixels. */
function isPointwise(info: tf.backend_util.Conv2DInfo): boolean {
  const { top, bottom, left, right } = info.padInfo;
  return info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1 &&
    info.dilationHeight === 1 && info.dilationWidth === 1 && top === 0 && bottom === 0 && left === 0 && right === 0;
}

/**
 * Below this many pixels (N·H·W) the convolution route above is faster for a 1×1 weight gradient;
 * above it, a transpose and one matrix product is (both measured side by side on DenseNet-BC
 * bottleneck shapes at batch 64, 2 threads: 32×32 maps 238 → 150 ms with 300 channels in,
 * 58 → 11 ms with 24; 16×16 52 → 39 ms; 8×8 maps 9.6 → 12 ms, so those stay).
 */
const POINTWISE_MATMUL_MIN_ROWS = 8192;

/** dW[0,0,ci,co] = Σ_pixels x[p,ci]·dy[p,co] = xᵀ·dy, with x as [pixels, Ci] and dy as [pixels, Co]. */
function pointwiseBackpropFilter(x: tf.TensorInfo, dy: tf.TensorInfo, backend: tf.KernelBackend): tf.TensorInfo {
  const [ci, co] = [x.shape[3], dy.shape[3]];
  const pixels = x.shape[0] * x.shape[1] * x.shape[2];
  const wasm = backend as WasmBackend;
  const owned: tf.TensorInfo[] = [];
  const keep = (t: tf.TensorInfo): tf.TensorInfo => (owned.push(t), t);
  try {
    const x3 = keep(runKernel('Reshape', { inputs: { x }, backend, attrs: { shape: [1, pixels, ci] } }));
    // wasm BatchMatMul's own transposeA path is a scalar loop (9× slower, measured): transpose first.
    const xT = keep(runKernel('Transpose', { inputs: { x: x3 }, backend, attrs: { perm: [0, 2, 1] } }));
    const dy3 = keep(runKernel('Reshape', { inputs: { x: dy }, backend, attrs: { shape: [1, pixels, co] } }));
    const product = keep(runKernel('BatchMatMul', { inputs: { a: xT, b: dy3 }, backend, attrs: { transposeA: false, transposeB: false } }));
    return runKernel('Reshape', { inputs: { x: product }, backend, attrs: { shape: [1, 1, ci, co] } });
  } finally {
    for (const t of owned) wasm.disposeData(t.dataId);
  }
}

/**
 * For stride 1: dx = conv2d(dy, W'), W'[i,j,co,ci] = W[kh−1−i, kw−1−j, ci, co], with
 * padding (kh−1−top, kh−1−bottom, kw−1−left, kw−1−right). Other cases (strides,
 * paddings larger than the filter) go to the original wasm kernel.
 */
function makeConv2DBackpropInput(original: tf.KernelFunc) {
  return function conv2DBackpropInput(args: KernelArgs): tf.TensorInfo {
    const { inputs, backend, attrs } = args;
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const a = attrs as unknown as Conv2DGradAttrs & { inputShape: [number, number, number, number] };
    checkInputs('Conv2DBackpropInput', a, [dy, filter]);
    const info = tf.backend_util.computeConv2DInfo(
      a.inputShape, filter.shape as [number, number, number, number], a.strides, 1, a.pad, a.dimRoundingMode,
    );
    const { filterHeight: kh, filterWidth: kw, strideHeight, strideWidth, padInfo } = info;
    const pads = [kh - 1 - padInfo.top, kh - 1 - padInfo.bottom, kw - 1 - padInfo.left, kw - 1 - padInfo.right];
    if (strideHeight !== 1 || strideWidth !== 1 || pads.some((p) => p < 0)) {
      return original(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    }
    const wasm = backend as WasmBackend;
    const owned: tf.TensorInfo[] = [];
    const keep = (t: tf.TensorInfo): tf.TensorInfo => (owned.push(t), t);
    try {
      const flipped = keep(runKernel('Reverse', { inputs: { x: filter }, backend, attrs: { dims: [0, 1] } }));
      const swapped = keep(runKernel('Transpose', { inputs: { x: flipped }, backend, attrs: { perm: [0, 1, 3, 2] } }));
      return runKernel('Conv2D', {
        inputs: { x: dy, filter: swapped },
        backend,
        attrs: {
          strides: 1,
          pad: [[0, 0], [pads[0], pads[1]], [pads[2], pads[3]], [0, 0]],
          dataFormat: 'NHWC',
          dilations: 1,
        } as unknown as tf.NamedAttrMap,
      });
    } finally {
      for (const t of owned) wasm.disposeData(t.dataId);
    }
  };
}

type PoolGradAttrs = {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

/**
 * dx of a max pooling (NHWC, float32): each window's dy goes to its maximum, the first one in
 * row-major order when several are equal (as on the cpu backend), then all windows that chose the
 * same pixel add up. One pass over the windows, channels innermost, so every read is sequential.
 */
function maxPoolGrad({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as PoolGradAttrs;
  if (dy.dtype !== 'float32' || input.dtype !== 'float32') throw new Error('cardlab wasm MaxPoolGrad needs float32 tensors');
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const wasm = backend as WasmBackend;
  const dx = wasm.makeOutput(input.shape, 'float32');
  const x = wasm.typedArrayFromHeap(input) as Float32Array;
  const g = wasm.typedArrayFromHeap(dy) as Float32Array;
  const out = wasm.typedArrayFromHeap(dx) as Float32Array;
  out.fill(0);
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth, strideHeight, strideWidth } = info;
  const { filterHeight, filterWidth } = info;
  const best = new Float32Array(c);
  const where = new Int32Array(c);
  let dyAt = 0;
  for (let b = 0; b < batchSize; b++) {
    const image = b * inHeight * inWidth * c;
    for (let oy = 0; oy < outHeight; oy++) {
      const top = oy * strideHeight - info.padInfo.top;
      const y0 = Math.max(0, top);
      const y1 = Math.min(inHeight, top + filterHeight);
      for (let ox = 0; ox < outWidth; ox++, dyAt += c) {
        const left = ox * strideWidth - info.padInfo.left;
        const x0 = Math.max(0, left);
        const x1 = Math.min(inWidth, left + filterWidth);
        best.fill(-Infinity);
        where.fill(-1);
        for (let iy = y0; iy < y1; iy++) {
          for (let ix = x0; ix < x1; ix++) {
            const pixel = image + (iy * inWidth + ix) * c;
            for (let k = 0; k < c; k++) {
              if (x[pixel + k] > best[k]) {
                best[k] = x[pixel + k];
                where[k] = pixel + k;
              }
            }
          }
        }
        for (let k = 0; k < c; k++) if (where[k] >= 0) out[where[k]] += g[dyAt + k];
      }
    }
  }
  return dx;
}

let registered = false;

/** The wasm kernels we replaced, kept for the fallback and for bench/conv-grad.ts. */
export const originalWasmKernels: Record<string, tf.KernelFunc | undefined> = {};

/** Registers the gradient kernels on the wasm backend (idempotent; call after loading tfjs-backend-wasm). */
export function registerWasmGradientKernels(): void {
  if (registered) return;
  replaceWasmKernel('MaxPoolGrad', () => maxPoolGrad, originalWasmKernels);
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm')) tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: conv2DBackpropFilter as unknown as tf.KernelFunc,
  });
  replaceWasmKernel('Conv2DBackpropInput', makeConv2DBackpropInput, originalWasmKernels);
  registered = true;
}
