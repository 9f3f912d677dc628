/**
 * The tensor backend: our wasm convolution and max-pool gradient kernels against the cpu
 * backend, wasm Identity/Cast sharing buffers, and backend selection (CARDLAB_BACKEND) in
 * child processes.
 *
 * Metric: relErr(a, b) = max|a − b| / max|b| over all elements (b = cpu), i.e. the
 * largest error measured against the gradient's own scale. Must be ≤ 1e-4.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { tf, useBackend, BackendName } from '../src/tf';
import { originalWasmKernels } from '../src/backend/wasm-kernels';
import { originalSharedKernels } from '../src/backend/wasm-shared-kernels';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
type ConvCase = { name: string; x: Shape4; filter: Shape4; strides: number | [number, number]; pad: Pad };

const cases: ConvCase[] = [
  { name: '1×1 stride 1 same', x: [2, 5, 7, 6], filter: [1, 1, 6, 4], strides: 1, pad: 'same' },
  { name: '1×1 stride 2 same', x: [3, 7, 9, 5], filter: [1, 1, 5, 4], strides: 2, pad: 'same' },
  { name: '1×1 stride 2 valid', x: [2, 8, 7, 5], filter: [1, 1, 5, 3], strides: 2, pad: 'valid' },
  { name: '3×3 stride 1 same', x: [2, 9, 7, 4], filter: [3, 3, 4, 5], strides: 1, pad: 'same' },
  { name: '3×3 stride 1 valid', x: [3, 7, 8, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'valid' },
  { name: '3×3 stride 2 same, odd size', x: [2, 9, 11, 4], filter: [3, 3, 4, 3], strides: 2, pad: 'same' },
  { name: '3×3 stride 2 same, even size', x: [2, 8, 8, 4], filter: [3, 3, 4, 3], strides: 2, pad: 'same' },
  { name: '3×3 stride 2 valid, exact fit', x: [2, 9, 9, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'valid' },
  { name: '3×3 stride 2 valid, unused last row/column', x: [2, 8, 10, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'valid' },
  { name: '7×7 stride 2 same (ImageNet stem)', x: [2, 15, 16, 3], filter: [7, 7, 3, 8], strides: 2, pad: 'same' },
  { name: '3×3 strides [1, 2] same', x: [2, 7, 9, 3], filter: [3, 3, 3, 2], strides: [1, 2], pad: 'same' },
  { name: '3×3 stride 2 numeric pad 1', x: [2, 9, 9, 3], filter: [3, 3, 3, 4], strides: 2, pad: 1 },
  { name: '2×2 stride 1 same (pads top 0, bottom 1)', x: [2, 6, 7, 3], filter: [2, 2, 3, 4], strides: 1, pad: 'same' },
  { name: '3×3 stride 1 explicit pads (2, 0) × (0, 1)', x: [2, 6, 5, 3], filter: [3, 3, 3, 2], strides: 1, pad: [[0, 0], [2, 0], [0, 1], [0, 0]] },
  { name: '3×3 stride 2 explicit pads (1, 0) × (2, 1)', x: [2, 9, 8, 3], filter: [3, 3, 3, 2], strides: 2, pad: [[0, 0], [1, 0], [2, 1], [0, 0]] },
  { name: '3×3 stride 1 numeric pad 3, batch 1', x: [1, 5, 5, 2], filter: [3, 3, 2, 3], strides: 1, pad: 3 },
  // 8,192 pixels: the weight gradient goes the matrix-product route (wasm-kernels.ts).
  { name: '1×1 stride 1 valid, 8,192 pixels', x: [2, 64, 64, 5], filter: [1, 1, 5, 3], strides: 1, pad: 'valid' },
];

/** Deterministic values in [-1, 1) (a small LCG), so every run compares the same numbers. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

function outShape(c: ConvCase): Shape4 {
  const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad);
  return info.outShape as Shape4;
}

/** dL/dx and dL/dW of L = Σ conv2d(x, W) ⊙ dy on the current backend. */
function convGradients(c: ConvCase, dyShape: Shape4): { dx: tf.Tensor4D; dw: tf.Tensor4D } {
  return tf.tidy(() => {
    const x = tf.tensor4d(values(size(c.x), 1), c.x);
    const w = tf.tensor4d(values(size(c.filter), 2), c.filter);
    const dy = tf.tensor4d(values(size(dyShape), 3), dyShape);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), dy)),
    )([x, w]);
    return { dx: dx as tf.Tensor4D, dw: dw as tf.Tensor4D };
  });
}

async function gradientsOn(backend: BackendName, c: ConvCase): Promise<{ dx: Float32Array; dw: Float32Array; shapes: number[][] }> {
  await useBackend(backend);
  expect(tf.getBackend()).toBe(backend);
  const { dx, dw } = convGradients(c, outShape(c));
  const result = { dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array, shapes: [dx.shape, dw.shape] };
  tf.dispose([dx, dw]);
  return result;
}

function relErr(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let maxDiff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  expect(scale).toBeGreaterThan(0);
  return maxDiff / scale;
}

describe('wasm convolution gradients equal the cpu backend (max|a−b| / max|b| ≤ 1e-4)', () => {
  test.each(cases)('$name', async (c) => {
    const cpu = await gradientsOn('cpu', c);
    const wasm = await gradientsOn('wasm', c);
    expect(wasm.shapes).toEqual([c.x, c.filter]);
    expect(wasm.shapes).toEqual(cpu.shapes);
    expect(relErr(wasm.dw, cpu.dw)).toBeLessThanOrEqual(1e-4);
    expect(relErr(wasm.dx, cpu.dx)).toBeLessThanOrEqual(1e-4);
  });
});

describe('wasm weight gradient at DenseNet sizes equals an im2col matrix product', () => {
  // Too big for the cpu backend in a unit test; im2col + matMul is an independent formulation.
  test.each([
    { name: '3×3 48→12 same at 16×16, batch 4', x: [4, 16, 16, 48] as Shape4, filter: [3, 3, 48, 12] as Shape4 },
    { name: '1×1 100→48 at 16×16, batch 4', x: [4, 16, 16, 100] as Shape4, filter: [1, 1, 100, 48] as Shape4 },
    { name: '1×1 100→48 at 32×32, batch 8 (the matrix-product route)', x: [8, 32, 32, 100] as Shape4, filter: [1, 1, 100, 48] as Shape4 },
    { name: '1×1 24→48 at 32×32, batch 8 (the matrix-product route, fewer channels in than out)', x: [8, 32, 32, 24] as Shape4, filter: [1, 1, 24, 48] as Shape4 },
  ])('$name', async ({ x: xShape, filter }) => {
    await useBackend('wasm');
    const [n, h, w, ci] = xShape;
    const [kh, kw, , co] = filter;
    const [ours, reference] = tf.tidy(() => {
      const x = tf.tensor4d(values(size(xShape), 4), xShape);
      const dy = tf.tensor4d(values(n * h * w * co, 5), [n, h, w, co]);
      const dw = tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, 1, 'same'), dy)))(tf.zeros(filter));
      const padded = tf.pad(x, [[0, 0], [(kh - 1) / 2, (kh - 1) / 2], [(kw - 1) / 2, (kw - 1) / 2], [0, 0]]);
      const patches: tf.Tensor[] = [];
      for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) patches.push(tf.slice(padded, [0, i, j, 0], [n, h, w, ci]));
      const columns = tf.concat(patches, 3).reshape([n * h * w, kh * kw * ci]);
      const product = tf.matMul(tf.transpose(columns), dy.reshape([n * h * w, co]));
      return [dw.dataSync() as Float32Array, product.dataSync() as Float32Array];
    });
    expect(relErr(ours, reference)).toBeLessThanOrEqual(1e-4);
  });
});

describe('wasm convolution gradients leak nothing', () => {
  // Intermediates made inside a kernel never become engine tensors, so we also
  // count the wasm backend's data buffers, which would show a missed disposeData.
  const numDataIds = (): number => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();

  test.each(cases.filter((c) => ['1×1 stride 1 same', '3×3 stride 2 valid, unused last row/column', '3×3 stride 1 numeric pad 3, batch 1', '1×1 stride 1 valid, 8,192 pixels'].includes(c.name)))(
    '$name',
    async (c) => {
      await useBackend('wasm');
      const dyShape = outShape(c);
      convGradients(c, dyShape); // warm up (first-use allocations are not leaks)
      const tensors = tf.memory().numTensors;
      const buffers = numDataIds();
      tf.tidy(() => {
        convGradients(c, dyShape);
      });
      expect(tf.memory().numTensors).toBe(tensors);
      expect(numDataIds()).toBe(buffers);
    },
  );
});

type PoolCase = { name: string; x: Shape4; size: number; strides: number; pad: 'same' | 'valid' | number; relu?: boolean };
const poolCases: PoolCase[] = [
  { name: '3×3 stride 2 valid (the ImageNet stem after its zero padding)', x: [3, 16, 16, 5], size: 3, strides: 2, pad: 'valid' },
  { name: '3×3 stride 2 valid on ReLU outputs (ties of zeros)', x: [2, 16, 16, 6], size: 3, strides: 2, pad: 'valid', relu: true },
  { name: '3×3 stride 2 same, odd size', x: [2, 9, 11, 4], size: 3, strides: 2, pad: 'same' },
  { name: '2×2 stride 2 valid', x: [2, 8, 8, 3], size: 2, strides: 2, pad: 'valid' },
  { name: '3×3 stride 1 same (overlapping windows)', x: [2, 7, 6, 3], size: 3, strides: 1, pad: 'same', relu: true },
  { name: '3×3 stride 2 numeric pad 1, one channel', x: [2, 9, 9, 1], size: 3, strides: 2, pad: 1 },
];

/** dL/dx of L = Σ maxPool(x) ⊙ dy on the current backend (x through a ReLU when asked, for ties). */
function poolGradient(c: PoolCase): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(values(size(c.x), 6), c.x);
    const pooled = (a: tf.Tensor) => tf.maxPool((c.relu ? tf.relu(a) : a) as tf.Tensor4D, c.size, c.strides, c.pad);
    const dy = tf.tensor(values(size(pooled(x).shape), 7), pooled(x).shape);
    return tf.grad((a: tf.Tensor) => tf.sum(tf.mul(pooled(a), dy)))(x).dataSync() as Float32Array;
  });
}

describe('wasm max-pool gradient equals the cpu backend (same first maximum on ties)', () => {
  test.each(poolCases)('$name', async (c) => {
    const cpu = await cpuPoolGradient(c);
    expect((tf.getKernel('MaxPoolGrad', 'wasm')!.kernelFunc as { cardlab?: boolean }).cardlab).toBe(true);
    const wasm = poolGradient(c);
    expect(relErr(wasm, cpu)).toBeLessThanOrEqual(1e-6);
  });

  test("tfjs-wasm's own kernel is wrong for several images of several channels (why it is replaced); ours leaks nothing", async () => {
    const c = poolCases[0]; // [3, 16, 16, 5], no ties
    const cpu = await cpuPoolGradient(c);
    poolGradient(c); // warm up
    const buffers = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    expect(relErr(poolGradient(c), cpu)).toBeLessThanOrEqual(1e-6);
    expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(buffers);
    const ours = tf.getKernel('MaxPoolGrad', 'wasm')!;
    try {
      tf.unregisterKernel('MaxPoolGrad', 'wasm');
      tf.registerKernel({ ...ours, kernelFunc: originalWasmKernels.MaxPoolGrad! });
      expect(relErr(poolGradient(c), cpu)).toBeGreaterThan(0.1);
      expect(relErr(poolGradient({ ...c, x: [1, 16, 16, 5] }), (await cpuPoolGradient({ ...c, x: [1, 16, 16, 5] })))).toBeLessThanOrEqual(1e-6);
    } finally {
      tf.unregisterKernel('MaxPoolGrad', 'wasm');
      tf.registerKernel(ours);
    }
  });
});

async function cpuPoolGradient(c: PoolCase): Promise<Float32Array> {
  await useBackend('cpu');
  const result = poolGradient(c);
  await useBackend('wasm');
  return result;
}

describe('wasm Identity and same-dtype Cast share the buffer instead of copying it', () => {
  const numDataIds = (): number => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();

  test('a clone is the same buffer, outlives its original, and frees it last', async () => {
    await useBackend('wasm');
    const buffers = numDataIds();
    const x = tf.tensor([1.5, -2, 3]);
    const copy = tf.clone(x);
    const same = tf.cast(x, 'float32');
    expect(numDataIds()).toBe(buffers + 1); // wasm's own kernels made two more buffers
    x.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1.5, -2, 3]);
    copy.dispose();
    expect(Array.from(same.dataSync())).toEqual([1.5, -2, 3]);
    same.dispose();
    expect(numDataIds()).toBe(buffers);
  });

  test('a Cast to another dtype still converts', async () => {
    await useBackend('wasm');
    const x = tf.tensor([1.7, -2.2, 0]);
    const ints = tf.cast(x, 'int32');
    expect([ints.dtype, Array.from(ints.dataSync())]).toEqual(['int32', [1, -2, 0]]);
    tf.dispose([x, ints]);
  });

  test('a training step saves its activations for the backward pass without copying them', async () => {
    await useBackend('wasm');
    const w = tf.variable(tf.tensor2d(values(64 * 64, 8), [64, 64]));
    const x = tf.tensor2d(values(32 * 64, 9), [32, 64]);
    const forward = () => tf.sum(tf.relu(tf.matMul(tf.relu(tf.matMul(x, w)), w)));
    /** wasm buffers the forward pass made: without a tape, and recording one (the tape clones what it saves). */
    const buffersMade = () => {
      let before = numDataIds();
      const plain = tf.tidy(() => (forward(), numDataIds() - before));
      let recorded = 0;
      tf.tidy(() => {
        tf.variableGrads(() => {
          before = numDataIds();
          const y = forward();
          recorded = numDataIds() - before;
          return y as tf.Scalar;
        });
      });
      return { plain, recorded };
    };
    const ours = buffersMade();
    expect(ours.plain).toBeGreaterThan(0);
    expect(ours.recorded).toBe(ours.plain);
    const identity = tf.getKernel('Identity', 'wasm')!;
    try {
      tf.unregisterKernel('Identity', 'wasm');
      tf.registerKernel({ ...identity, kernelFunc: originalSharedKernels.Identity });
      const copying = buffersMade();
      expect(copying.recorded).toBeGreaterThan(copying.plain); // what the copies cost
    } finally {
      tf.unregisterKernel('Identity', 'wasm');
      tf.registerKernel(identity);
    }
    tf.dispose([w, x]);
  });
});

describe('backend selection in a fresh process (CARDLAB_BACKEND)', () => {
  const root = path.join(__dirname, '..');
  const builtTf = path.join(root, 'dist', 'src', 'tf.js');
  // Makes `require('@tensorflow/tfjs-node')` fail as it does where npm skipped it, so the
  // test means the same on a machine where the optional dependency did install.
  const hideTfjsNode =
    "const Module = require('module'); const resolve = Module._resolveFilename; " +
    "Module._resolveFilename = function (request, ...rest) { " +
    "if (request === '@tensorflow/tfjs-node') throw new Error(\"Cannot find module '@tensorflow/tfjs-node'\"); " +
    'return resolve.call(this, request, ...rest); }; ';
  const script =
    hideTfjsNode +
    `require(${JSON.stringify(builtTf)}).initBackend().then(` +
    `(b) => { const { tf } = require(${JSON.stringify(builtTf)}); ` +
    `console.log(JSON.stringify({ backend: b, sum: tf.sum(tf.tensor([1, 2, 3])).dataSync()[0] })); }, ` +
    `(e) => { console.error(e.message); process.exit(1); })`;

  beforeAll(() => {
    // The child runs the built JavaScript; a stale build would test old code.
    const sources = ['src/tf.ts', ...fs.readdirSync(path.join(root, 'src', 'backend')).map((f) => `src/backend/${f}`)];
    for (const source of sources.filter((f) => f.endsWith('.ts'))) {
      const built = path.join(root, 'dist', source.replace(/\.ts$/, '.js'));
      if (!fs.existsSync(built) || fs.statSync(built).mtimeMs < fs.statSync(path.join(root, source)).mtimeMs) {
        throw new Error(`${path.relative(root, built)} is missing or older than ${source}: run \`npm run build\` (npm test does)`);
      }
    }
  });

  const run = (backend: string) =>
    spawnSync(process.execPath, ['-e', script], {
      cwd: root,
      env: { ...process.env, CARDLAB_BACKEND: backend },
      encoding: 'utf8',
      timeout: 60000,
    });

  test('CARDLAB_BACKEND=tensorflow where @tensorflow/tfjs-node is missing fails naming it', () => {
    const r = run('tensorflow');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot use the tensorflow backend: .*@tensorflow\/tfjs-node/);
    expect(r.stdout).toBe('');
  });

  test('CARDLAB_BACKEND=bogus is an error listing the valid names', () => {
    const r = run('bogus');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('CARDLAB_BACKEND=bogus is not one of tensorflow, wasm, cpu');
  });

  test.each(['cpu', 'wasm'])('CARDLAB_BACKEND=%s: stdout is only our JSON, no tfjs banner anywhere', (backend) => {
    const r = run(backend);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ backend, sum: 6 });
    expect(r.stdout + r.stderr).not.toMatch(/looks like you are running TensorFlow\.js/);
  });

  test('plain tfjs does print the banner (on stderr), so the test above can fail', () => {
    const r = spawnSync(process.execPath, ['-e', "const tf = require('@tensorflow/tfjs'); tf.setBackend('cpu').then(() => tf.tensor([1]).dataSync())"], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/looks like you are running TensorFlow\.js/);
  });
});
