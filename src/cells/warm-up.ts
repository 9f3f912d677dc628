/**
 * What a pool child does before it gets its job (child.ts, started with WARM_UP_FLAG): the work every
 * demo would otherwise wait for. TypeScript checks an `import … from 'cardlab'` once (loading the
 * type declarations of cardlab and TensorFlow.js), Node loads cardlab as a cell would (resolved
 * from the notebook folder, so the cell's own import hits the module cache), and the tensor backend
 * is initialised. Nothing a cell can see is left behind: no variable, no output. A failure here is
 * ignored: the cell that imports cardlab then reports it where the user sees it.
 */
import Module from 'module';
import path from 'path';

export const WARM_UP_FLAG = '--warm-up';

interface Converter {
  convert(prevDecl: string, src: string): unknown;
}

export async function warmUp(converter: Converter, cwd = process.cwd()): Promise<void> {
  try {
    converter.convert('', "import * as cardlab from 'cardlab'\ncardlab.tf.scalar(1)\n");
    const cardlab = Module.createRequire(path.join(cwd, 'src.js'))('cardlab') as { initBackend?: () => Promise<unknown> };
    await cardlab.initBackend?.();
  } catch {
    // reported by the cell that needs it
  }
}
