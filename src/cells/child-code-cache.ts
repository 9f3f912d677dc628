/**
 * The first module a cell process loads (child.ts imports it before tslab): from here on, large
 * modules compile through V8's code cache named by the parent (code-cache.ts). Recording only in
 * the cache maker, which runs no cell code.
 */
import { CODE_CACHE_FLAG, MAKE_CODE_CACHE_FLAG, useCodeCache } from './code-cache';

const dirArg = process.argv.find((arg) => arg.startsWith(CODE_CACHE_FLAG));
export const makingCodeCache = process.argv.includes(MAKE_CODE_CACHE_FLAG);
export const codeCache = dirArg
  ? { dir: dirArg.slice(CODE_CACHE_FLAG.length), ...useCodeCache(dirArg.slice(CODE_CACHE_FLAG.length), makingCodeCache ? 'record' : 'read') }
  : undefined;
