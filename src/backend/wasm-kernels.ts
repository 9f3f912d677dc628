/**
 * Kernels that @tensorflow/tfjs-backend-wasm 4.22 lacks but training needs.
 *
 * Conv2DBackpropFilter (the weight gradient of every conv) is missing, so we
 * compute it with the wasm Conv3DBackpropFilterV2 kernel on a depth-1 view of
 * the same buffers: NHWC data is NDHWC data with D = 1, so no copy is made.
 */
import * as tf from '@tensorflow/tfjs';

type Conv2DBackpropFilterAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | number[][];
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: string;
  filterShape: [number, number, number, number];
};

function conv2DBackpropFilterViaConv3D({ inputs, backend, attrs }: {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs;
  if (dataFormat === 'NCHW') {
    throw new Error('cardlab wasm Conv2DBackpropFilter supports only NHWC data');
  }
  if (Array.isArray(pad)) {
    throw new Error('cardlab wasm Conv2DBackpropFilter supports only "same", "valid" or numeric padding');
  }
  const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
  const asDepthOne = (t: tf.TensorInfo): tf.TensorInfo => ({
    dataId: t.dataId,
    dtype: t.dtype,
    shape: [t.shape[0], 1, t.shape[1], t.shape[2], t.shape[3]],
  });
  const conv3d = tf.getKernel('Conv3DBackpropFilterV2', 'wasm');
  if (!conv3d) throw new Error('the wasm backend has no Conv3DBackpropFilterV2 kernel');
  const dw = conv3d.kernelFunc({
    inputs: { x: asDepthOne(x), dy: asDepthOne(dy) },
    backend,
    attrs: { strides: [1, sh, sw], pad, filterShape: [1, ...filterShape] } as unknown as tf.NamedAttrMap,
  }) as tf.TensorInfo;
  // Drop the depth axis: same buffer, 4-D shape.
  return { dataId: dw.dataId, dtype: dw.dtype, shape: [...filterShape] };
}

let registered = false;

/** Registers the missing gradient kernels on the wasm backend (idempotent). */
export function registerWasmGradientKernels(): void {
  if (registered || tf.getKernel('Conv2DBackpropFilter', 'wasm')) return;
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: conv2DBackpropFilterViaConv3D as unknown as tf.KernelFunc,
  });
  registered = true;
}
