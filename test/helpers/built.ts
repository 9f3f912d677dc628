import fs from 'fs';
import path from 'path';

const ROOT = path.join(__dirname, '..', '..');

/**
 * Cells run in child processes that load the compiled project (dist/): notebooks import
 * `cardlab`, which is the package's main, dist/src/index.js. Fails with the fix when dist is
 * missing or older than the sources in `folders` (relative to src/).
 */
export function assertBuilt(folders: string[] = ['cells']): void {
  for (const folder of folders) {
    const srcDir = path.join(ROOT, 'src', folder);
    for (const name of fs.readdirSync(srcDir).filter((n) => n.endsWith('.ts'))) {
      const compiled = path.join(ROOT, 'dist', 'src', folder, name.replace(/\.ts$/, '.js'));
      if (!fs.existsSync(compiled) || fs.statSync(compiled).mtimeMs < fs.statSync(path.join(srcDir, name)).mtimeMs) {
        throw new Error(`dist/ is missing or older than src/${folder}/${name}: run \`npm run build\` first (npm test does)`);
      }
    }
  }
}
