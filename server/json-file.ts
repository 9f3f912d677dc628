/**
 * A small JSON document in the data folder (`.cardlab/`), read once and written whole: each write
 * goes to a temp file that is renamed over the old one, so a crash leaves the old or the new
 * document, never half of one. Writes are serialized. A file that does not read is set aside
 * (`<name>.damaged-<time>`) with a warning and the defaults are used.
 */
import fs from 'fs';
import path from 'path';
import type { z } from 'zod';

export class JsonFile<T> {
  readonly file: string;
  private value: T;
  private writing: Promise<void> = Promise.resolve();

  constructor(dataDir: string, name: string, private readonly schema: z.ZodType<T>, defaults: () => T) {
    fs.mkdirSync(dataDir, { recursive: true });
    this.file = path.join(dataDir, name);
    this.value = defaults();
    if (!fs.existsSync(this.file)) return;
    try {
      this.value = schema.parse(JSON.parse(fs.readFileSync(this.file, 'utf8')));
    } catch (err) {
      const aside = `${this.file}.damaged-${Date.now()}`;
      fs.renameSync(this.file, aside);
      console.warn(`cardlab: ${this.file} does not read (${(err as Error).message.split('\n')[0]}); moved to ${aside}, starting empty`);
    }
  }

  get(): T {
    return this.value;
  }

  /** Replaces the document and writes it; resolves once it is on disk. */
  set(value: T): Promise<void> {
    this.value = value;
    const text = JSON.stringify(value, null, 1) + '\n';
    const next = this.writing
      .catch(() => undefined)
      .then(async () => {
        const tmp = `${this.file}.${process.pid}.tmp`;
        await fs.promises.writeFile(tmp, text, 'utf8');
        await fs.promises.rename(tmp, this.file);
      });
    this.writing = next;
    return next;
  }
}
