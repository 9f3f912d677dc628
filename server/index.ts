/** Starting and stopping the review server (`cardlab serve`, `npm start`). */
import http from 'http';
import type { AddressInfo } from 'net';
import type { ReviewSettings } from '../src/cards/review';
import { createApp, type CardlabApp } from './app';
import type { ServerConfig } from './config';

export { createApp } from './app';
export { resolveConfig, isLoopback } from './config';
export type { ServerConfig, ServerOptions } from './config';

export interface RunningServer {
  url: string;
  /** The URL to open (with the token when one is needed). */
  openUrl: string;
  cardlab: CardlabApp;
  server: http.Server;
  close(): Promise<void>;
}

export async function startServer(config: ServerConfig, settings: ReviewSettings = {}): Promise<RunningServer> {
  const cardlab = createApp(config, settings);
  await cardlab.decks.refresh();
  const server = http.createServer(cardlab.app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  cardlab.cellRuns.warmUp();
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}/`;
  return {
    url,
    openUrl: config.token ? `${url}?token=${config.token}` : url,
    cardlab,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        cardlab.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
