/**
 * `cardlab cards grade` and `cardlab cards due`: reviewing decks from the shell, writing the
 * schedule back into the markdown as the Obsidian Spaced Repetition plugin does.
 */
import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { dueCounts, gradeCard, loadVault, type ReviewSettings } from '../cards/review';
import { parseReviewDate } from '../cards/scheduling/dates';
import { toReviewResponse } from '../cards/scheduling/osr';
import { readSettingsFile } from './cards';
import { settleFileChecks } from '../cards/deck-file';

/** The scheduling settings the plugin keeps in its data.json, with its names. */
const REVIEW_KEYS = [
  'baseEase',
  'easyBonus',
  'lapsesIntervalChange',
  'loadBalance',
  'maximumInterval',
  'algorithm',
  'fsrsDesiredRetention',
  'cardCommentOnSameLine',
] as const;

/** Parser and scheduler settings from a JSON file (the plugin's data.json or a plain object). */
export function readReviewSettingsFile(file: string | undefined): ReviewSettings {
  if (!file) return {};
  const settings: Record<string, unknown> = { ...readSettingsFile(file) };
  const data = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const source = (typeof data.settings === 'object' && data.settings !== null ? data.settings : data) as Record<string, unknown>;
  for (const key of REVIEW_KEYS) if (source[key] !== undefined) settings[key] = source[key];
  return settings as ReviewSettings;
}

function nonNegativeInt(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0, got "${value}"`);
    return Number(value);
  };
}

function reviewDate(value: string): Date {
  try {
    return parseReviewDate(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function algorithm(value: string): 'SM-2-OSR' | 'FSRS' {
  const v = value.trim().toUpperCase();
  if (v === 'FSRS') return 'FSRS';
  if (v === 'SM-2-OSR' || v === 'SM2' || v === 'SM-2') return 'SM-2-OSR';
  throw new InvalidArgumentError(`--algorithm must be SM-2-OSR or FSRS, got "${value}"`);
}

interface GradeOpts {
  line: number;
  grade: string;
  sibling: number;
  date?: Date;
  settings?: string;
  algorithm?: 'SM-2-OSR' | 'FSRS';
  sameLine?: boolean;
  vault?: string;
}

export function addGradeCommand(cards: Command): void {
  cards
    .command('grade')
    .description('grade one card of a deck file and write its new schedule into the file (prints it as JSON)')
    .argument('<file>', 'markdown deck file')
    .requiredOption('--line <n>', 'the line the card starts on (0-based)', nonNegativeInt('--line'))
    .requiredOption('--grade <response>', 'Easy, Good, Hard, Again or Reset')
    .option('--sibling <i>', 'which sibling (0-based: reversed cards have 2, clozes one per deletion)', nonNegativeInt('--sibling'), 0)
    .option('--date <YYYY-MM-DD>', 'review as if on this day (default: now)', reviewDate)
    .option('--settings <file>', "plugin settings JSON (the plugin's data.json or an object with its setting names)")
    .option('--algorithm <name>', 'SM-2-OSR (default) or FSRS', algorithm)
    .option('--same-line', 'put a new scheduling comment on the card\'s last line (the plugin\'s cardCommentOnSameLine)')
    .option('--vault <dir>', "the vault whose cards load balancing counts (default: the folder above the file holding .obsidian, else the file's folder)")
    .action(async (file: string, opts: GradeOpts) => {
      const response = toReviewResponse(opts.grade);
      const settings: ReviewSettings = { ...readReviewSettingsFile(opts.settings) };
      if (opts.algorithm) settings.algorithm = opts.algorithm;
      if (opts.sameLine) settings.cardCommentOnSameLine = true;
      try {
        if (!statSync(file).isFile()) throw new Error('not a file');
      } catch (err) {
        throw new Error(`cannot read deck file ${file}: ${(err as Error).message}`);
      }
      const result = await gradeCard({
        file,
        line: opts.line,
        sibling: opts.sibling,
        response,
        now: opts.date,
        settings,
        vaultDir: opts.vault,
      });
      // The schedule's own fields first (due, interval, ease / FSRS state), then where and how.
      console.log(
        JSON.stringify({
          ...(result.schedule ?? {}),
          file: result.file,
          line: result.line,
          sibling: result.sibling,
          grade: result.response,
          algorithm: result.algorithm,
          comment: result.comment,
          previous: result.previous,
          written: result.written,
        }),
      );
      // An editor's write that was on its way as the file was replaced is carried over before exiting.
      await settleFileChecks();
    });
}

interface DueOpts {
  date?: Date;
  settings?: string;
  json?: boolean;
}

export function addDueCommand(cards: Command): void {
  cards
    .command('due')
    .description('per deck: cards due today, new cards, and all cards, over the markdown files under a folder')
    .argument('<dir>', 'folder of deck files (searched recursively)')
    .option('--date <YYYY-MM-DD>', 'count as of this day (default: today)', reviewDate)
    .option('--settings <file>', "plugin settings JSON (the plugin's data.json or an object with its setting names)")
    .option('--json', 'print JSON rows')
    .action(async (dir: string, opts: DueOpts) => {
      try {
        if (!statSync(dir).isDirectory()) throw new Error('not a folder');
      } catch (err) {
        throw new Error(`cannot read deck folder ${dir}: ${(err as Error).message}`);
      }
      const notes = await loadVault(dir, readReviewSettingsFile(opts.settings));
      const rows = dueCounts(notes, opts.date ?? new Date());
      if (opts.json) {
        console.log(JSON.stringify(rows));
        return;
      }
      if (rows.length === 0) {
        console.log(`no flashcard decks under ${path.resolve(dir)}`);
        return;
      }
      const width = Math.max(4, ...rows.map((r) => r.deck.length));
      console.log(`${'deck'.padEnd(width)}  ${'due'.padStart(5)}  ${'new'.padStart(5)}  ${'total'.padStart(5)}`);
      for (const r of rows) {
        console.log(`${r.deck.padEnd(width)}  ${String(r.due).padStart(5)}  ${String(r.new).padStart(5)}  ${String(r.total).padStart(5)}`);
      }
    });
}
