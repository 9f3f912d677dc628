/**
 * The benchmark layout (docs/ARCHITECTURE.md, "Benchmarks"): bench/ is the one home of benchmark
 * code; it imports library code from src/ but never src/cli; src/ imports bench/ only lazily
 * (`await import(...)` in the CLI), so there is no import cycle between them.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'results' ? [] : tsFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Relative module paths a file loads at run time (import … from, export … from, require; `import type` is erased). */
function staticImports(file: string): string[] {
  const source = fs.readFileSync(file, 'utf8');
  const found = [...source.matchAll(/^\s*(?:import|export)\s(?!type\s)[^;]*?from\s+'(\.[^']+)'/gms), ...source.matchAll(/\brequire\('(\.[^']+)'\)/g)];
  return found.map((m) => path.relative(ROOT, path.resolve(path.dirname(file), m[1])));
}

describe('benchmark layout', () => {
  test('no benchmark code under src/ (src/bench is gone)', () => {
    expect(fs.existsSync(path.join(ROOT, 'src', 'bench'))).toBe(false);
  });

  test('bench/ never imports src/cli', () => {
    const offending = tsFiles(path.join(ROOT, 'bench')).flatMap((f) =>
      staticImports(f).filter((m) => m.startsWith(path.join('src', 'cli'))).map((m) => `${path.relative(ROOT, f)} → ${m}`),
    );
    expect(offending).toEqual([]);
  });

  test('src/ never imports bench/ statically (the CLI loads benchmarks with import())', () => {
    const offending = tsFiles(path.join(ROOT, 'src')).flatMap((f) =>
      staticImports(f).filter((m) => m.startsWith(`bench${path.sep}`) || m === 'bench').map((m) => `${path.relative(ROOT, f)} → ${m}`),
    );
    expect(offending).toEqual([]);
    // The lazy imports exist: the CLI does reach the benchmarks.
    const cli = fs.readFileSync(path.join(ROOT, 'src', 'cli', 'bench.ts'), 'utf8');
    expect(cli).toMatch(/await import\('\.\.\/\.\.\/bench\/memory'\)/);
  });
});
