/**
 * Which files a deck may show as attachments: a plain file name (no folders, no dot files) naming a
 * regular file whose real path — symlinks resolved — is inside the attachments folder. A symlink
 * inside the folder to a file inside it is fine; one that leads out of it (`x.png -> /etc/passwd`)
 * is treated as missing. The server's /attachments route and the renderer both ask this module.
 */
import { realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';

/** The plain names an attachment may have (checked before the file system is asked). */
export function isPlainFileName(name: string): boolean {
  return name.length > 0 && !name.includes('/') && !name.includes('\\') && !name.startsWith('.') && !name.includes('\0');
}

/** The real path of attachment `name` in `dir`, or null when it is not a regular file inside `dir`. */
export function resolveAttachment(dir: string, name: string): string | null {
  if (!isPlainFileName(name)) return null;
  try {
    const root = realpathSync(dir);
    const real = realpathSync(path.join(root, name));
    const rel = path.relative(root, real);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return null;
    return statSync(real).isFile() ? real : null;
  } catch {
    return null; // missing, dangling link, unreadable
  }
}
