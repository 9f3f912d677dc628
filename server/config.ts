/**
 * The server's settings: command-line options over CARDLAB_* environment variables over defaults,
 * checked with zod so a bad value is a clear error before anything starts.
 */
import path from 'path';
import { randomBytes } from 'crypto';
import { z } from 'zod';
import { PROJECT_ROOT } from '../src/cells/runner';
import { DEFAULT_POOL_SIZE } from '../src/cells/pool';

export interface ServerConfig {
  host: string;
  port: number;
  /** Folder of the markdown decks. */
  cardsDir: string;
  /** Folder of the notebooks whose cells are live demos. */
  notebooksDir: string;
  /** Where the review log lives (gitignored `.cardlab/`). */
  dataDir: string;
  /** Required on every request when set (always set when binding a non-loopback address). */
  token: string | null;
  /** New cards introduced per deck per day. */
  newPerDay: number;
  /** A live demo is killed after this long. */
  cellTimeoutMs: number;
  cellMemoryMb: number;
  /** Live demos running at once; more wait in a queue of at most `cellQueueLimit`. */
  maxConcurrentRuns: number;
  cellQueueLimit: number;
  /** JSON body limit (larger bodies get 413; submitted notebooks too). */
  bodyLimitBytes: number;
  /** The instructor's assignment notebooks (coursework/*.ipynb). */
  courseworkDir: string;
  /** Submissions graded at once; more wait in the grading queue. */
  maxGrading: number;
  /** Pre-started sandboxed cell processes kept for live demos (0: every run starts cold). */
  warmPool: number;
  /**
   * Run cells without bubblewrap and cgroups (only for trusted code on a machine without them).
   * Without it the server refuses to start when the sandbox is missing.
   */
  trustedCells: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const optionsSchema = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: intFrom(0, 65535).default(3000),
  cards: z.string().min(1).default(path.join(PROJECT_ROOT, 'cards')),
  notebooks: z.string().min(1).default(path.join(PROJECT_ROOT, 'notebooks')),
  data: z.string().min(1).optional(),
  token: z.string().min(8, 'a token needs at least 8 characters').optional(),
  newPerDay: intFrom(0, 100_000).default(20),
  cellTimeout: intFrom(100, 3_600_000).default(30_000),
  cellMemory: intFrom(64, 65_536).default(2048),
  maxRuns: intFrom(1, 64).default(2),
  runQueue: intFrom(0, 1000).default(16),
  bodyLimit: intFrom(1024, 64 * 1024 * 1024).default(1024 * 1024),
  coursework: z.string().min(1).default(path.join(PROJECT_ROOT, 'coursework')),
  maxGrading: intFrom(1, 64).default(1),
  warmPool: intFrom(0, 16).default(DEFAULT_POOL_SIZE),
  trustedCells: z.union([z.boolean(), z.enum(['1', 'true', 'yes', '0', 'false', 'no', ''])]).default(false).transform((v) => v === true || v === '1' || v === 'true' || v === 'yes'),
});

export type ServerOptions = z.input<typeof optionsSchema>;

/** Environment variable → option name. */
const ENV: Record<string, keyof ServerOptions> = {
  CARDLAB_HOST: 'host',
  CARDLAB_PORT: 'port',
  CARDLAB_CARDS: 'cards',
  CARDLAB_NOTEBOOKS: 'notebooks',
  CARDLAB_DATA: 'data',
  CARDLAB_TOKEN: 'token',
  CARDLAB_NEW_PER_DAY: 'newPerDay',
  CARDLAB_CELL_TIMEOUT: 'cellTimeout',
  CARDLAB_COURSEWORK: 'coursework',
  CARDLAB_WARM_POOL: 'warmPool',
  CARDLAB_UNSANDBOXED: 'trustedCells',
};

/** Options given on the command line win over the environment, which wins over the defaults. */
export function resolveConfig(options: ServerOptions = {}, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const merged: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV)) if (env[name] !== undefined && env[name] !== '') merged[key] = env[name];
  for (const [key, value] of Object.entries(options)) if (value !== undefined) merged[key] = value;
  const parsed = optionsSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid server option --${String(issue.path[0] ?? '?')}: ${issue.message}`);
  }
  const o = parsed.data;
  const cardsDir = path.resolve(o.cards);
  return {
    host: o.host,
    port: o.port,
    cardsDir,
    notebooksDir: path.resolve(o.notebooks),
    dataDir: path.resolve(o.data ?? path.join(process.cwd(), '.cardlab')),
    // Another address is reachable by others: as Jupyter does, a token is then required.
    token: o.token ?? (isLoopback(o.host) ? null : randomBytes(24).toString('hex')),
    newPerDay: o.newPerDay,
    cellTimeoutMs: o.cellTimeout,
    cellMemoryMb: o.cellMemory,
    maxConcurrentRuns: o.maxRuns,
    cellQueueLimit: o.runQueue,
    bodyLimitBytes: o.bodyLimit,
    courseworkDir: path.resolve(o.coursework),
    maxGrading: o.maxGrading,
    warmPool: o.warmPool,
    trustedCells: o.trustedCells,
  };
}
