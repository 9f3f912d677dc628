/**
 * The plugin's parser settings and their defaults (src/settings.ts `DEFAULT_SETTINGS`, v1.15),
 * and the check that turns a bad setting into a clear error before parsing starts.
 */
import { ClozeCrafter } from 'clozecraft';
import type { ParserOptions } from './model';

/** The plugin's cloze patterns for its three "convert ... to clozes" switches. */
export const CLOZE_PATTERN_HIGHLIGHT = '==[123;;]answer[;;hint]==';
export const CLOZE_PATTERN_BOLD = '**[123;;]answer[;;hint]**';
export const CLOZE_PATTERN_CURLY = '{{[123;;]answer[;;hint]}}';

export const DEFAULT_PARSER_OPTIONS: Readonly<ParserOptions> = Object.freeze({
  singleLineCardSeparator: '::',
  singleLineReversedCardSeparator: ':::',
  multilineCardSeparator: '?',
  multilineReversedCardSeparator: '??',
  multilineCardEndMarker: '',
  // convertHighlightsToClozes is on by default, bold and curly brackets are off.
  clozePatterns: [CLOZE_PATTERN_HIGHLIGHT],
});

export const DEFAULT_FLASHCARD_TAGS: readonly string[] = ['#flashcards'];

export class CardOptionsError extends Error {
  override name = 'CardOptionsError';
}

/** The plugin's older switches, their pattern, and their default. */
const CONVERT_SWITCHES: [string, string, boolean][] = [
  ['convertHighlightsToClozes', CLOZE_PATTERN_HIGHLIGHT, true],
  ['convertBoldTextToClozes', CLOZE_PATTERN_BOLD, false],
  ['convertCurlyBracketsToClozes', CLOZE_PATTERN_CURLY, false],
];

const STRING_OPTIONS = [
  'singleLineCardSeparator',
  'singleLineReversedCardSeparator',
  'multilineCardSeparator',
  'multilineReversedCardSeparator',
  'multilineCardEndMarker',
] as const;

/**
 * Fills in the defaults and checks the types. `clozePatterns` may also be given as one string
 * with patterns separated by `,` (how the plugin's settings tab takes them).
 */
export function resolveParserOptions(options?: Partial<ParserOptions> | null): ParserOptions {
  const given = (options ?? {}) as Record<string, unknown>;
  const result: ParserOptions = { ...DEFAULT_PARSER_OPTIONS, clozePatterns: [...DEFAULT_PARSER_OPTIONS.clozePatterns] };
  for (const key of STRING_OPTIONS) {
    const value = given[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') throw new CardOptionsError(`${key} must be a string, got ${typeof value}`);
    result[key] = value;
  }
  const patterns = given.clozePatterns;
  if ((patterns === undefined || patterns === null) && CONVERT_SWITCHES.some(([key]) => given[key] !== undefined)) {
    // Settings from before clozePatterns existed: derive them as the plugin's upgradeSettings does.
    result.clozePatterns = CONVERT_SWITCHES.filter(([key, , byDefault]) => Boolean(given[key] ?? byDefault)).map(([, pattern]) => pattern);
  }
  if (patterns !== undefined && patterns !== null) {
    const list = typeof patterns === 'string' ? splitPatternList(patterns) : patterns;
    if (!Array.isArray(list) || list.some((p) => typeof p !== 'string')) {
      throw new CardOptionsError('clozePatterns must be a list of strings');
    }
    result.clozePatterns = list.map((p: string) => p.trim()).filter((p: string) => p.length > 0);
  }
  for (const pattern of result.clozePatterns) {
    try {
      new ClozeCrafter([pattern]);
    } catch (err) {
      throw new CardOptionsError(`cloze pattern "${pattern}" is invalid: ${(err as Error).message}`);
    }
  }
  return result;
}

function splitPatternList(text: string): string[] {
  return text.split(',');
}
