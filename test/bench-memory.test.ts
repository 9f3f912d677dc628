/**
 * `cardlab bench memory`: the JSON contract of DESIGN.md (one row per depth with
 * depth, naivePeakBytes, efficientPeakBytes, naiveMs, efficientMs), run through
 * the built CLI on a tiny model, and the pieces of the report (fit, table,
 * out-of-memory classification). The benchmark figures themselves come from
 * `npm run bench`, not from here.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { formatMemoryTable, isOutOfMemory, linearFit, MemoryRow, OUT_OF_MEMORY } from '../bench/memory';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'bin', 'cardlab.js');

describe('cardlab bench memory', () => {
  test('--json prints one row per depth with the contract fields; the efficient peak is lower', async () => {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'bench', 'memory-worker.js'))) {
      throw new Error('dist/bench/memory-worker.js is missing: run `npm run build` first (npm test does)');
    }
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [CLI, 'bench', 'memory', '--json', '--depths', '10,16', '--batch', '2', '--steps', '1', '--backend', 'wasm'],
      { cwd: ROOT, timeout: 120_000 },
    );
    const rows = stdout.trim().split('\n').map((line) => JSON.parse(line) as MemoryRow);
    expect(rows.map((r) => r.depth)).toEqual([10, 16]);
    for (const row of rows) {
      for (const key of ['naivePeakBytes', 'efficientPeakBytes', 'naiveMs', 'efficientMs'] as const) {
        expect(typeof row[key]).toBe('number');
        expect(row[key]).toBeGreaterThan(0);
      }
      expect(row.efficientPeakBytes!).toBeLessThan(row.naivePeakBytes!);
      expect(row.backend).toBe('wasm');
    }
  }, 180_000);

  test('rejects a depth that is not a CIFAR DenseNet-BC depth', async () => {
    await expect(promisify(execFile)(process.execPath, [CLI, 'bench', 'memory', '--depths', '41'], { cwd: ROOT })).rejects.toMatchObject({
      stderr: expect.stringContaining('L = 6n + 4'),
    });
  });
});

describe('memory report pieces', () => {
  test('linearFit recovers a line and reports R² = 1 for it, less for a parabola', () => {
    const fit = linearFit([40, 70, 100], [40 * 3 + 7, 70 * 3 + 7, 100 * 3 + 7]);
    expect(fit.slope).toBeCloseTo(3, 10);
    expect(fit.intercept).toBeCloseTo(7, 8);
    expect(fit.r2).toBeCloseTo(1, 12);
    expect(linearFit([1, 2, 3, 4, 5], [1, 4, 9, 16, 100]).r2).toBeLessThan(0.9);
    expect(() => linearFit([1], [1])).toThrow(/at least two points/);
  });

  test('the wasm abort and allocation failures count as out of memory; other errors do not', () => {
    expect(isOutOfMemory('RuntimeError: Aborted(). Build with -sASSERTIONS for more info.')).toBe(true);
    expect(isOutOfMemory('FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory')).toBe(true);
    expect(isOutOfMemory('Error: no CIFAR DenseNet-BC has depth 41')).toBe(false);
  });

  test('the table shows an aborted naive run as such, with ratios where both ran', () => {
    const row = (depth: number, naive: number | null, efficient: number): MemoryRow => ({
      depth,
      batch: 8,
      backend: 'wasm',
      naivePeakBytes: naive,
      efficientPeakBytes: efficient,
      naiveMs: naive === null ? null : 1000,
      efficientMs: 1200,
      naiveWasmHeapBytes: null,
      efficientWasmHeapBytes: null,
      naiveMaxRssBytes: null,
      efficientMaxRssBytes: null,
      ...(naive === null ? { naiveError: OUT_OF_MEMORY } : {}),
    });
    const table = formatMemoryTable([row(100, 1000 * 2 ** 20, 250 * 2 ** 20), row(190, null, 480 * 2 ** 20)]);
    expect(table).toContain('25.0%');
    expect(table).toContain('20%'); // time overhead 1200 vs 1000 ms
    expect(table).toContain(OUT_OF_MEMORY);
    expect(table.split('\n')).toHaveLength(3);
  });
});
