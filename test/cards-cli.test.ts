/** `cardlab cards parse FILE [--json] [--settings FILE]`, run through the real program. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli';
import type { Note } from '../src/cards/model';

const DECK = join(__dirname, '..', 'cards', 'DenseNet.md');


test('cards parse --json prints the parsed note', async () => {
  const note = JSON.parse(await runCli('cards', 'parse', DECK, '--json')) as Note;
  expect(note.path).toBe(DECK);
  expect(note.cards).toHaveLength(9);
  expect(note.cards[0]).toMatchObject({
    type: 'MultiLineReversed',
    range: { start: 12, end: 15 },
    decks: ['flashcards'],
    parsed: { cardType: 'MultiLineReversed', firstLineNum: 12, lastLineNum: 15 },
  });
  expect(note.cards[0].siblings[0].schedule).toEqual({ due: '2024-05-19', interval: 482, ease: 309 });
});

test('cards parse prints one line per card without --json', async () => {
  const text = await runCli('cards', 'parse', DECK);
  const lines = text.split('\n');
  expect(lines[0]).toBe(`${DECK}: 9 card(s)`);
  expect(lines).toHaveLength(10);
  expect(lines[1]).toMatch(/^12-15\s+MultiLineReversed\s+flashcards\s+2024-05-19, new\s+\*\*Why do DenseNets help/);
});

test('--settings reads the plugin data.json (custom separators, bold clozes)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cardlab-cli-'));
  const deck = join(dir, 'deck.md');
  writeFileSync(deck, '#flashcards\n\nQ;;A\n\na **b** c\n\nx::y\n');
  const settings = join(dir, 'data.json');
  writeFileSync(settings, JSON.stringify({ settings: { singleLineCardSeparator: ';;', clozePatterns: ['**[123;;]answer[;;hint]**'] } }));
  const note = JSON.parse(await runCli('cards', 'parse', deck, '--json', '--settings', settings)) as Note;
  expect(note.cards.map((c) => [c.type, c.question])).toEqual([
    ['SingleLineBasic', 'Q;;A'],
    ['Cloze', 'a **b** c'],
  ]);
});

test('a missing file is a clear error naming it', async () => {
  await expect(runCli('cards', 'parse', '/nonexistent/deck.md', '--json')).rejects.toThrow(/cannot read deck file \/nonexistent\/deck\.md/);
});
