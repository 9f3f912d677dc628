/**
 * `cardlab cards …`: flashcard decks in the Obsidian Spaced Repetition plugin's markdown.
 * Each subcommand is added by its own function below; `registerCardsCommands` wires them up.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import type { Note } from '../cards/model';
import { parseNote, type ParseNoteOptions } from '../cards/note';
import { addDueCommand, addGradeCommand } from './cards-review';

/** Reads a deck file, with an error that names the file. */
export function readDeckFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read deck file ${file}: ${(err as Error).message}`);
  }
}

/**
 * Plugin settings from a JSON file: the plugin's own `data.json` (settings under `settings`) or a
 * plain object with the plugin's setting names. Unknown keys are ignored.
 */
export function readSettingsFile(file: string | undefined): ParseNoteOptions {
  if (!file) return {};
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read settings file ${file}: ${(err as Error).message}`);
  }
  const record = (data ?? {}) as Record<string, unknown>;
  const settings = (typeof record.settings === 'object' && record.settings !== null ? record.settings : record) as Record<string, unknown>;
  const keys = [
    'singleLineCardSeparator',
    'singleLineReversedCardSeparator',
    'multilineCardSeparator',
    'multilineReversedCardSeparator',
    'multilineCardEndMarker',
    'clozePatterns',
    'convertHighlightsToClozes',
    'convertBoldTextToClozes',
    'convertCurlyBracketsToClozes',
    'flashcardTags',
  ] as const;
  const options: Record<string, unknown> = {};
  for (const key of keys) if (settings[key] !== undefined) options[key] = settings[key];
  return options as ParseNoteOptions;
}

/** A one-line-per-card summary for people. */
export function formatNoteSummary(note: Note): string {
  const rows = note.cards.map((card) => {
    const lines = card.range.start === card.range.end ? `${card.range.start}` : `${card.range.start}-${card.range.end}`;
    const due = card.siblings.map((s) => s.schedule?.due ?? 'new').join(', ');
    const question = card.question.split('\n')[0].slice(0, 60);
    return `${lines.padEnd(9)} ${card.type.padEnd(18)} ${(card.decks.join(' ') || '-').padEnd(20)} ${due.padEnd(24)} ${question}`;
  });
  const header = `${note.path}: ${note.cards.length} card(s)${note.isDeck ? '' : ' (no flashcard tag: the plugin skips this note)'}`;
  return [header, ...rows].join('\n');
}

function addParseCommand(cards: Command): void {
  cards
    .command('parse')
    .description('parse a deck file and list its cards (lines, type, deck, siblings, schedules)')
    .argument('<file>', 'markdown deck file')
    .option('--json', 'print the parsed note as JSON')
    .option('--settings <file>', "plugin settings JSON (the plugin's data.json or an object with its setting names)")
    .action((file: string, opts: { json?: boolean; settings?: string }) => {
      const note = parseNote(readDeckFile(file), { ...readSettingsFile(opts.settings), path: file });
      console.log(opts.json ? JSON.stringify(note, null, 2) : formatNoteSummary(note));
    });
}

/** The `cards` command group; further subcommands (grade, due) register on the returned command. */
export function registerCardsCommands(program: Command): Command {
  const cards = program.command('cards').description('flashcard decks (Obsidian Spaced Repetition syntax)');
  addParseCommand(cards);
  addGradeCommand(cards);
  addDueCommand(cards);
  return cards;
}
