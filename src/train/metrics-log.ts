/** The metrics log: one JSON object per line (JSON Lines), one line per epoch, appended as it ends. */
import * as fs from 'fs';
import * as path from 'path';

export function appendMetricsLine(file: string, record: object): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, JSON.stringify(record) + '\n');
}

/** Reads a log back; a line that is not JSON is an error naming the file and line. */
export function readMetricsLog<T = Record<string, unknown>>(file: string): T[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((line) => line.trim() !== '');
  return lines.map((line, i) => {
    try {
      return JSON.parse(line) as T;
    } catch (err) {
      throw new Error(`${file}:${i + 1} is not a JSON line: ${(err as Error).message}`);
    }
  });
}
