/**
 * V8's code cache for the large modules every cell process loads (tslab's TypeScript, TensorFlow.js,
 * tslab itself): compiling them from source was a fifth of a cold cell's start-up. Node 20 has no
 * built-in compile cache (that came in Node 22), so the child compiles these modules itself with
 * `vm.Script` and the cached data, exactly as Node's CommonJS loader would otherwise do.
 *
 * Trust: the cache is written only by a process that runs no cell code (`writeCodeCache`, started by
 * the parent, see code-cache-maker in cell-process.ts), into node_modules/.cache, which cells see
 * read-only. A cell process only reads it. Entries are named by the SHA-1 of the module's source, so
 * a changed module never meets old code; V8 itself rejects data made by another V8 or other flags.
 */
import { spawn } from 'child_process';
import crypto from 'crypto';
import fs from 'fs';
import Module from 'module';
import path from 'path';
import vm from 'vm';

/** Modules smaller than this compile faster than their cache entry is found and read. */
const MIN_SOURCE_LENGTH = 20_000;
/** Written last by the maker: a folder without it is incomplete (a maker still running, or killed). */
export const COMPLETE_MARKER = 'complete';
/** The child's argument that names the cache folder. */
export const CODE_CACHE_FLAG = '--code-cache=';

/** The cache folder for these node flags (cached data is valid only for the same V8 and flags). */
export function codeCacheDir(projectRoot: string, nodeFlags: string[]): string {
  const key = crypto.createHash('sha1').update([process.version, process.arch, ...nodeFlags].join('\0')).digest('hex').slice(0, 16);
  return path.join(projectRoot, 'node_modules', '.cache', 'cardlab-cells', key);
}

export interface CodeCacheStats {
  /** Modules compiled from the cache. */
  hits: number;
  /** Modules that had no entry (or too small to have one). */
  misses: number;
  /** Entries V8 refused (another V8 or flags): compiled from source instead. */
  rejected: number;
}

export interface CompiledModule {
  entry: string;
  script: vm.Script;
}

type ModuleInternals = Module & {
  _compile(content: string, filename: string): unknown;
};
type ModuleStatics = typeof Module & {
  _resolveFilename(request: string, parent: Module, isMain: boolean, options?: { paths?: string[] }): string;
  _resolveLookupPaths(request: string, parent: Module): string[] | null;
  _extensions: unknown;
  _cache: unknown;
};

/**
 * Compiles large CommonJS modules through `dir`'s cached data from now on. In `record` mode the
 * scripts are kept so that `writeCodeCache` can save what V8 compiled by then (lazily compiled
 * functions included).
 */
export function useCodeCache(dir: string, mode: 'read' | 'record' = 'read'): { stats: CodeCacheStats; recorded: CompiledModule[]; restore: () => void } {
  const stats: CodeCacheStats = { hits: 0, misses: 0, rejected: 0 };
  const recorded: CompiledModule[] = [];
  const readable = mode === 'read' && fs.existsSync(path.join(dir, COMPLETE_MARKER));
  const proto = Module.prototype as ModuleInternals;
  const compileFromSource = proto._compile;
  const statics = Module as ModuleStatics;
  proto._compile = function (this: Module, content: string, filename: string) {
    if (content.length < MIN_SOURCE_LENGTH || !filename.endsWith('.js')) return compileFromSource.call(this, content, filename);
    const entry = crypto.createHash('sha1').update(content).digest('hex');
    let cachedData: Buffer | undefined;
    if (readable) {
      try {
        cachedData = fs.readFileSync(path.join(dir, entry));
      } catch {
        // no entry for this module
      }
    }
    const script = new vm.Script(Module.wrap(content), {
      filename,
      cachedData,
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    if (!cachedData) stats.misses++;
    else if (script.cachedDataRejected) stats.rejected++;
    else stats.hits++;
    if (mode === 'record') recorded.push({ entry, script });
    // The require function Node's loader gives a module (lib/internal/modules/helpers.js).
    const require = ((id: string) => this.require(id)) as NodeJS.Require;
    const resolve = ((request: string, options?: { paths?: string[] }) => statics._resolveFilename(request, this, false, options)) as NodeJS.RequireResolve;
    resolve.paths = (request: string) => statics._resolveLookupPaths(request, this);
    require.resolve = resolve;
    require.main = process.mainModule;
    require.extensions = statics._extensions as NodeJS.Require['extensions'];
    require.cache = statics._cache as NodeJS.Require['cache'];
    const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    return wrapper.call(this.exports, this.exports, require, this, filename, path.dirname(filename));
  };
  return { stats, recorded, restore: () => void (proto._compile = compileFromSource) };
}

/** Saves the cached data of the recorded modules into `dir`, then marks it complete. */
export function writeCodeCache(dir: string, recorded: CompiledModule[]): number {
  fs.mkdirSync(dir, { recursive: true });
  let bytes = 0;
  for (const { entry, script } of recorded) {
    const data = script.createCachedData();
    // Written whole, then renamed: a reader never sees half an entry.
    const temp = path.join(dir, `.${entry}.${process.pid}`);
    fs.writeFileSync(temp, data);
    fs.renameSync(temp, path.join(dir, entry));
    bytes += data.length;
  }
  fs.writeFileSync(path.join(dir, COMPLETE_MARKER), `${recorded.length} modules, ${bytes} bytes\n`);
  return bytes;
}

export const MAKE_CODE_CACHE_FLAG = '--make-code-cache';

const making = new Map<string, Promise<boolean>>();

/**
 * Makes the cache folder for these flags once, if it is not complete: a cell child started with
 * MAKE_CODE_CACHE_FLAG warms up (no job, no cell code) and saves what it compiled. Outside the
 * sandbox and without the permission model, since it writes into node_modules/.cache; it runs only
 * the project's own code. Resolves false if it could not (a read-only install): runs are then as
 * fast as without a cache, never wrong.
 */
export function ensureCodeCache(options: { script: string; cwd: string; nodeFlags: string[]; dir: string }): Promise<boolean> {
  if (fs.existsSync(path.join(options.dir, COMPLETE_MARKER))) return Promise.resolve(true);
  let made = making.get(options.dir);
  if (!made) {
    made = new Promise<boolean>((resolve) => {
      const args = [...options.nodeFlags, options.script, `${CODE_CACHE_FLAG}${options.dir}`, MAKE_CODE_CACHE_FLAG];
      const maker = spawn(process.execPath, args, { cwd: options.cwd, env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' }, stdio: 'ignore' });
      maker.on('error', () => resolve(false));
      maker.on('close', (code) => resolve(code === 0 && fs.existsSync(path.join(options.dir, COMPLETE_MARKER))));
      maker.unref();
    });
    making.set(options.dir, made);
  }
  return made;
}
