import { Command } from 'commander';
import { availableBackends, backendErrors, BACKENDS } from '../tf';

export function registerBackendCommands(program: Command): void {
  program
    .command('backends')
    .description('list the TensorFlow.js backends and whether each loads here')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const ok = await availableBackends();
      const rows = BACKENDS.map((name) => ({ name, loads: ok.includes(name), error: backendErrors[name] ?? null }));
      if (opts.json) {
        console.log(JSON.stringify(rows));
        return;
      }
      for (const r of rows) console.log(`${r.loads ? '✓' : '✗'} ${r.name}${r.error && !r.loads ? `  (${r.error})` : ''}`);
    });
}
