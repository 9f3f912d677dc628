import { buildProgram } from '../../src/cli';

/** Runs `cardlab ARGS…` in this process and returns what it printed with console.log. */
export async function runCli(...args: string[]): Promise<string> {
  const out: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void out.push(parts.join(' ')));
  try {
    await buildProgram().parseAsync(['node', 'cardlab', ...args]);
  } finally {
    log.mockRestore();
  }
  return out.join('\n');
}
