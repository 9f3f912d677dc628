/**
 * Convolution gradients on the wasm backend: our kernels (src/backend/wasm-kernels.ts)
 * against the paths they replace, for the conv shapes of DenseNet-BC (L=100, k=12) on
 * 32×32 CIFAR input, plus the ImageNet 7×7 stride-2 stem.
 *
 *   npm run build && node dist/bench/conv-grad.js [--batch 64] [--reps 3] [--all] [--json]
 *
 * Figures are CPU milliseconds of this (single-threaded) process per gradient.
 * weight gradient: ours (xnnpack Conv2D on transposed tensors) vs the old path
 *   (wasm Conv3DBackpropFilterV2 on a depth-1 view; also wrong for stride 2).
 * input gradient: ours (stride 1: xnnpack Conv2D with the flipped filter) vs the
 *   original wasm Conv2DBackpropInput kernel.
 * Old paths run on a representative subset (first/last layer of each block, the
 * 3×3 convs, transitions, stems) unless --all: they take seconds per conv.
 * The "all convs" line sums our kernels over all 99 convs of one training step.
 */
import { tf, useBackend } from '../src/tf';
import { originalWasmKernels } from '../src/backend/wasm-kernels';

type Shape4 = [number, number, number, number];
type ConvShape = { name: string; x: Shape4; filter: Shape4; strides: number; representative: boolean };

function denseNetBC100(batch: number): ConvShape[] {
  const k = 12;
  const convs: ConvShape[] = [
    { name: 'stem 3×3 3→24 @32', x: [batch, 32, 32, 3], filter: [3, 3, 3, 24], strides: 1, representative: true },
  ];
  let channels = 2 * k;
  [32, 16, 8].forEach((size, b) => {
    for (let i = 0; i < 16; i++) {
      const edge = i === 0 || i === 15;
      convs.push({
        name: `block${b + 1} layer${i + 1} 1×1 ${channels}→${4 * k} @${size}`,
        x: [batch, size, size, channels],
        filter: [1, 1, channels, 4 * k],
        strides: 1,
        representative: edge,
      });
      convs.push({
        name: `block${b + 1} layer${i + 1} 3×3 ${4 * k}→${k} @${size}`,
        x: [batch, size, size, 4 * k],
        filter: [3, 3, 4 * k, k],
        strides: 1,
        representative: i === 0,
      });
      channels += k;
    }
    if (b < 2) {
      const out = Math.floor(channels / 2);
      convs.push({ name: `transition${b + 1} 1×1 ${channels}→${out} @${size}`, x: [batch, size, size, channels], filter: [1, 1, channels, out], strides: 1, representative: true });
      channels = out;
    }
  });
  return convs;
}

const imageNetStem = (batch: number): ConvShape => ({
  name: `ImageNet stem 7×7/2 3→64 @224 (batch ${batch})`,
  x: [batch, 224, 224, 3],
  filter: [7, 7, 3, 64],
  strides: 2,
  representative: true,
});

/**
 * Milliseconds per call of `f`. The wasm backend runs on one thread, so the CPU time of
 * this process is the work done; on a shared machine it is far steadier than wall time.
 */
function msPer(reps: number, f: () => tf.TensorInfo | tf.Tensor): number {
  const once = (): void => {
    const out = f() as tf.Tensor;
    out.dataSync();
    out.dispose();
  };
  once(); // warm-up: operator creation, allocation
  const start = process.cpuUsage();
  for (let i = 0; i < reps; i++) once();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / reps;
}

function weightGradOurs(x: tf.Tensor4D, dy: tf.Tensor4D, c: ConvShape): tf.Tensor {
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
    strides: c.strides, pad: 'same', dataFormat: 'NHWC', filterShape: c.filter,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

function weightGradOld(x: tf.Tensor4D, dy: tf.Tensor4D, c: ConvShape): tf.Tensor {
  return tf.tidy(() => {
    const depthOne = (t: tf.Tensor4D) => t.reshape([t.shape[0], 1, t.shape[1], t.shape[2], t.shape[3]]);
    return tf.engine().runKernel('Conv3DBackpropFilterV2', { x: depthOne(x), dy: depthOne(dy) }, {
      strides: [1, c.strides, c.strides], pad: 'same', filterShape: [1, ...c.filter],
    } as unknown as tf.NamedAttrMap) as tf.Tensor;
  });
}

function inputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, c: ConvShape, original: boolean): tf.Tensor {
  const attrs = { strides: c.strides, pad: 'same', dataFormat: 'NHWC', inputShape: c.x } as unknown as tf.NamedAttrMap;
  if (!original) return tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, attrs) as tf.Tensor;
  const kernel = originalWasmKernels.Conv2DBackpropInput;
  if (!kernel) throw new Error('the original wasm Conv2DBackpropInput kernel was not recorded');
  const info = kernel({ inputs: { dy, filter: w }, backend: tf.backend(), attrs }) as tf.TensorInfo;
  return tf.engine().makeTensorFromTensorInfo(info);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: number): number => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const batch = option('--batch', 64);
  const reps = option('--reps', 3);
  const all = args.includes('--all');
  const json = args.includes('--json');
  await useBackend('wasm');

  const rows: Record<string, string | number | null>[] = [];
  let oursTotal = 0;
  let inputTotal = 0;
  for (const c of [...denseNetBC100(batch), imageNetStem(Math.max(1, Math.round(batch / 8)))]) {
    const outSize = Math.ceil(c.x[1] / c.strides);
    const x = tf.randomNormal(c.x) as tf.Tensor4D;
    const dy = tf.randomNormal([c.x[0], outSize, outSize, c.filter[3]]) as tf.Tensor4D;
    const w = tf.randomNormal(c.filter) as tf.Tensor4D;
    const compareOld = all || c.representative;
    const row = {
      conv: c.name,
      dwOursMs: msPer(reps, () => weightGradOurs(x, dy, c)),
      dwOldMs: compareOld ? msPer(1, () => weightGradOld(x, dy, c)) : null,
      dxOursMs: msPer(reps, () => inputGrad(dy, w, c, false)),
      dxOriginalMs: compareOld ? msPer(1, () => inputGrad(dy, w, c, true)) : null,
    };
    if (!c.name.startsWith('ImageNet')) {
      oursTotal += row.dwOursMs;
      inputTotal += row.dxOursMs;
    }
    tf.dispose([x, dy, w]);
    rows.push(row);
    if (json) console.log(JSON.stringify(row));
  }
  if (json) {
    console.log(JSON.stringify({ conv: 'DenseNet-BC-100 all 99 convs', dwOursMs: oursTotal, dxOursMs: inputTotal, batch }));
    return;
  }
  const fmt = (v: number | string | null): string => (v === null ? '—' : typeof v === 'number' ? v.toFixed(1) : v);
  console.log(`conv-grad on wasm, batch ${batch}, CPU ms per gradient (old paths: 1 run; ours: mean of ${reps})`);
  console.log(`${'conv'.padEnd(46)} ${'dW ours'.padStart(9)} ${'dW old'.padStart(9)} ${'dX ours'.padStart(9)} ${'dX orig'.padStart(9)}`);
  for (const r of rows) {
    console.log(`${String(r.conv).padEnd(46)} ${fmt(r.dwOursMs).padStart(9)} ${fmt(r.dwOldMs).padStart(9)} ${fmt(r.dxOursMs).padStart(9)} ${fmt(r.dxOriginalMs).padStart(9)}`);
  }
  console.log(`DenseNet-BC-100, all 99 convs, one training step: dW ${oursTotal.toFixed(0)} ms, dX ${inputTotal.toFixed(0)} ms (ours)`);
  console.log('(old dW path = Conv3DBackpropFilterV2 at depth 1: wrong results for stride 2, timed only)');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
