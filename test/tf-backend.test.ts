/**
 * The tensor backend: our wasm convolution gradient kernels against the cpu
 * backend, and backend selection (CARDLAB_BACKEND) in child processes.
 *
 * Metric: relErr(a, b) = max|a − b| / max|b| over all elements (b = cpu), i.e. the
 * largest error measured against the gradient's own scale. Must be ≤ 1e-4.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { tf, useBackend, BackendName } from '../src/tf';

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
