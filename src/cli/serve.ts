/**
 * `cardlab serve` (what `npm start` runs): the review server on http://127.0.0.1:3000 with the
 * decks in cards/ and the notebooks in notebooks/. Options win over CARDLAB_* variables.
 */
import { existsSync } from 'fs';
import { Command } from 'commander';
import { resolveConfig, startServer, type ServerOptions } from '../../server/index';
import { readReviewSettingsFile } from './cards-review';
import { sandboxProblem, SandboxUnavailableError, UNSANDBOXED_ENV } from '../cells/sandbox';

interface ServeOpts extends ServerOptions {
  settings?: string;
}

export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description('serve the decks for review in the browser, with their notebook cells as live demos')
    .option('--port <n>', 'port (env CARDLAB_PORT; default 3000; 0 picks a free one)')
    .option('--host <address>', 'address to bind (env CARDLAB_HOST; default 127.0.0.1; any other needs a token)')
    .option('--cards <dir>', 'folder of markdown decks (env CARDLAB_CARDS; default cards/)')
    .option('--notebooks <dir>', 'folder of notebooks with linked cells (env CARDLAB_NOTEBOOKS; default notebooks/)')
    .option('--data <dir>', 'where the review log is kept (env CARDLAB_DATA; default .cardlab/)')
    .option('--token <secret>', 'require this token (env CARDLAB_TOKEN; generated when binding beyond loopback)')
    .option('--new-per-day <n>', 'new cards per deck per day (default 20)')
    .option('--cell-timeout <ms>', 'a live demo is killed after this long (default 30000)')
    .option('--cell-memory <mb>', 'memory limit of a live demo or a grading run, everything it maps (default 2048)')
    .option('--warm-pool <n>', 'pre-started sandboxed cell processes for live demos (env CARDLAB_WARM_POOL; default 1; 0: none)')
    .option('--trusted-cells', 'run cells WITHOUT the sandbox (bubblewrap, cgroups): only for your own code on a machine without them (env CARDLAB_UNSANDBOXED=1)')
    .option('--max-runs <n>', 'live demos running at once; more wait in a queue (default 2)')
    .option('--coursework <dir>', 'folder of the assignment notebooks (env CARDLAB_COURSEWORK; default coursework/)')
    .option('--max-grading <n>', 'submissions autograded at once; more wait in a queue (default 1)')
    .option('--settings <file>', "the plugin's settings (its data.json, or an object with its setting names)")
    .action(async (opts: ServeOpts) => {
      const { settings, ...options } = opts;
      const config = resolveConfig(options);
      if (config.trustedCells) {
        // Autograding follows the same choice (the runner reads it).
        process.env[UNSANDBOXED_ENV] = '1';
        console.warn('cardlab: cells run WITHOUT the sandbox (--trusted-cells): only run code you trust');
      } else {
        const missing = sandboxProblem();
        if (missing) throw new SandboxUnavailableError(missing);
      }
      // Live demos are meant to answer in seconds: notebooks read this (src/cells/size.ts) and the
      // cell runner passes CARDLAB_* variables on to the cells. A value set by the user wins.
      process.env.CARDLAB_NOTEBOOK_SIZE ??= 'quick';
      if (!existsSync(config.cardsDir)) console.warn(`cardlab: ${config.cardsDir} does not exist: no decks until it does`);
      const running = await startServer(config, readReviewSettingsFile(settings));
      console.log(`cardlab: serving ${config.cardsDir} and ${config.notebooksDir}`);
      console.log(`cardlab: review log in ${config.dataDir}`);
      for (const deck of running.cardlab.decks.list()) if (deck.error) console.warn(`cardlab: deck ${deck.id}: ${deck.error}`);
      const { cells, decks } = running.cardlab;
      await cells.refresh(true);
      for (const p of cells.problems()) console.warn(`cardlab: notebook ${p.notebook}: ${p.error}`);
      for (const u of cells.unresolved(decks.notes())) console.warn(`cardlab: cell ${u.cell}: the link ${u.link} names no card`);
      console.log(config.token ? `cardlab: open ${running.openUrl}\n         (the token is needed: this address may be reachable by others)` : `cardlab: open ${running.url}`);
      // Running cells are killed and the warm pool drained (their cgroups removed) before exiting.
      const stop = () => {
        void running.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
