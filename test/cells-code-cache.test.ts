import fs from 'fs';
import { execFileSync } from 'child_process';
import os from 'os';
import path from 'path';
import { COMPLETE_MARKER, codeCacheDir, ensureCodeCache } from '../src/cells/code-cache';
import { runCell, childScript, PROJECT_ROOT } from '../src/cells/runner';
import { cellNodeFlags } from '../src/cells/cell-process';
import { assertBuilt } from './helpers/built';

beforeAll(() => assertBuilt(['cells']));

/** A module big enough to be cached, whose value says which source ran. */
function writeModule(dir: string, name: string, value: string): string {
  const file = path.join(dir, name);
  const padding = Array.from({ length: 1500 }, (_, i) => `function pad${i}() { return ${i}; }`).join('\n');
  fs.writeFileSync(file, `${padding}\nmodule.exports = { value: ${JSON.stringify(value)}, dir: __dirname, self: require.resolve('./${name}') };\n`);
  return file;
}

describe('the code cache in one process', () => {
  let dir: string;
  let cache: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cardlab-code-cache-'));
    cache = path.join(dir, 'cache');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Loads `file` in a fresh node (jest has its own module loader) through the built code cache. */
  function load(file: string, mode: 'read' | 'record'): { value: { value: string; dir: string; self: string }; stats: object } {
    const script = `
      const { useCodeCache, writeCodeCache } = require(${JSON.stringify(path.join(PROJECT_ROOT, 'dist/src/cells/code-cache.js'))});
      const hook = useCodeCache(${JSON.stringify(cache)}, ${JSON.stringify(mode)});
      const value = require(${JSON.stringify(file)});
      if (${JSON.stringify(mode)} === 'record') writeCodeCache(${JSON.stringify(cache)}, hook.recorded);
      process.stdout.write(JSON.stringify({ value, stats: hook.stats }));`;
    return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
  }

  test('a module compiled from the cache behaves as from source (exports, require, __dirname)', () => {
    const file = writeModule(dir, 'big.js', 'first');
    const recorded = load(file, 'record');
    expect(recorded.value).toEqual({ value: 'first', dir, self: file });
    expect(fs.existsSync(path.join(cache, COMPLETE_MARKER))).toBe(true);
    const read = load(file, 'read');
    expect(read.value).toEqual({ value: 'first', dir, self: file });
    expect(read.stats).toEqual({ hits: 1, misses: 0, rejected: 0 });
  });

  test('a changed module never meets the old code; a damaged entry is refused by V8 and the source runs', () => {
    const file = writeModule(dir, 'big.js', 'first');
    load(file, 'record');
    writeModule(dir, 'big.js', 'second');
    const changed = load(file, 'read');
    expect(changed.value.value).toBe('second');
    expect(changed.stats).toEqual({ hits: 0, misses: 1, rejected: 0 });

    const entries = fs.readdirSync(cache).filter((name) => name !== COMPLETE_MARKER);
    expect(entries).toHaveLength(1); // the first source's (a reader writes nothing)
    writeModule(dir, 'big.js', 'first');
    for (const entry of entries) fs.writeFileSync(path.join(cache, entry), Buffer.alloc(4096, 7));
    const damaged = load(file, 'read');
    expect(damaged.value.value).toBe('first');
    expect(damaged.stats).toEqual({ hits: 0, misses: 0, rejected: 1 });
  });

  test('a folder without its complete marker (a maker still writing, or killed) is not read', () => {
    const file = writeModule(dir, 'big.js', 'first');
    load(file, 'record');
    fs.rmSync(path.join(cache, COMPLETE_MARKER));
    expect(load(file, 'read').stats).toEqual({ hits: 0, misses: 1, rejected: 0 });
  });
});

describe('cell processes', () => {
  // The flags of a cell with a 512 MB limit: the cache is made for exactly these.
  const flags = cellNodeFlags(512);
  const dir = codeCacheDir(PROJECT_ROOT, flags);
  let made: boolean;
  beforeAll(async () => {
    made = await ensureCodeCache({ script: childScript(), cwd: path.join(PROJECT_ROOT, 'notebooks'), nodeFlags: flags, dir });
  });

  test('a sandboxed cell compiles TypeScript and tslab from the cache the maker wrote, none refused', async () => {
    expect(made).toBe(true);
    const result = await runCell('1 + 1', { memoryLimitMb: 512 }).result;
    expect(result).toMatchObject({ ok: true });
    const ready = result.events.find((e) => e.type === 'ready');
    expect(ready).toMatchObject({ codeCache: { rejected: 0, misses: 0 } });
    expect(ready?.type === 'ready' && ready.codeCache!.hits).toBeGreaterThanOrEqual(2);
  });

  test('a cell cannot write into the cache (it would run in every later cell), even with the permission model off', async () => {
    const cell = [
      "import fs from 'fs'",
      `const dir = ${JSON.stringify(dir)}`,
      'const tries: string[] = []',
      "for (const target of [dir + '/poison', dir + '/' + fs.readdirSync(dir).find((name) => name !== 'complete')]) {",
      "  try { fs.writeFileSync(target, 'x'); tries.push('written') } catch (e) { tries.push((e as { code: string }).code) }",
      '}',
      'console.log(tries.join(" "))',
    ].join('\n');
    for (const permissionModel of [true, false]) {
      const result = await runCell(cell, { memoryLimitMb: 512, permissionModel }).result;
      expect(result).toMatchObject({ ok: true });
      const out = result.events.map((e) => (e.type === 'stream' ? e.text : '')).join('').trim();
      expect(out).toBe(permissionModel ? 'ERR_ACCESS_DENIED ERR_ACCESS_DENIED' : 'EROFS EROFS');
    }
  });
});
