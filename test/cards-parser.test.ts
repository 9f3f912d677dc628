/**
 * The plugin's own parser tests (obsidian-spaced-repetition v1.15, tests/unit/parser.test.ts), ported
 * case for case through our `parseCards`. Where the plugin's behaviour is one we fix on purpose, the
 * case is in cards-edge.test.ts instead, next to the fix.
 */
import { parseCards } from '../src/cards/parse';
import type { CardType, ParserOptions } from '../src/cards/model';
import { CardOptionsError } from '../src/cards/options';

const parserOptions: ParserOptions = {
  singleLineCardSeparator: '::',
  singleLineReversedCardSeparator: ':::',
  multilineCardSeparator: '?',
  multilineReversedCardSeparator: '??',
  multilineCardEndMarker: '',
  clozePatterns: ['==[123;;]answer[;;hint]==', '**[123;;]answer[;;hint]**', '{{[123;;]answer[;;hint]}}'],
};

function opts(overrides: Partial<ParserOptions>): ParserOptions {
  return { ...parserOptions, multilineCardEndMarker: '---', clozePatterns: [], ...overrides };
}

/** The plugin test's `parseT`: [cardType, text, firstLineNum, lastLineNum] tuples. */
function parseT(text: string, options: ParserOptions): [CardType, string, number, number][] {
  return parseCards(text, options).map((c) => [c.cardType, c.text, c.firstLineNum, c.lastLineNum]);
}

test('Test parsing of single line basic cards', () => {
  expect(parseT('Question::Answer', parserOptions)).toEqual([['SingleLineBasic', 'Question::Answer', 0, 0]]);
  expect(parseT('Question::Answer\n<!--SR:!2021-08-11,4,270-->', parserOptions)).toEqual([
    ['SingleLineBasic', 'Question::Answer\n<!--SR:!2021-08-11,4,270-->', 0, 1],
  ]);
  expect(parseT('Question::Answer <!--SR:2021-08-11,4,270-->', parserOptions)).toEqual([
    ['SingleLineBasic', 'Question::Answer <!--SR:2021-08-11,4,270-->', 0, 0],
  ]);
  expect(parseT('Some text before\nQuestion ::Answer', parserOptions)).toEqual([['SingleLineBasic', 'Question ::Answer', 1, 1]]);
  expect(parseT('#Title\n\nQ1::A1\nQ2:: A2', parserOptions)).toEqual([
    ['SingleLineBasic', 'Q1::A1', 2, 2],
    ['SingleLineBasic', 'Q2:: A2', 3, 3],
  ]);
  expect(parseT('#flashcards/science Question ::Answer', parserOptions)).toEqual([
    ['SingleLineBasic', '#flashcards/science Question ::Answer', 0, 0],
  ]);
  expect(parseT('Question&&Answer', opts({ singleLineCardSeparator: '&&' }))).toEqual([['SingleLineBasic', 'Question&&Answer', 0, 0]]);
  expect(parseT('Question=Answer', opts({ singleLineCardSeparator: '=' }))).toEqual([['SingleLineBasic', 'Question=Answer', 0, 0]]);
  expect(parseT('Question::Answer', opts({ singleLineCardSeparator: '' }))).toEqual([]);
});

test('Test parsing of single line reversed cards', () => {
  expect(parseT('Question:::Answer', parserOptions)).toEqual([['SingleLineReversed', 'Question:::Answer', 0, 0]]);
  expect(parseT('Some text before\nQuestion :::Answer', parserOptions)).toEqual([['SingleLineReversed', 'Question :::Answer', 1, 1]]);
  expect(parseT('#Title\n\nQ1:::A1\nQ2::: A2', parserOptions)).toEqual([
    ['SingleLineReversed', 'Q1:::A1', 2, 2],
    ['SingleLineReversed', 'Q2::: A2', 3, 3],
  ]);
  expect(parseT('Question&&&Answer', opts({ singleLineReversedCardSeparator: '&&&' }))).toEqual([
    ['SingleLineReversed', 'Question&&&Answer', 0, 0],
  ]);
  expect(parseT('Question::Answer', opts({ singleLineCardSeparator: ':::', singleLineReversedCardSeparator: '::' }))).toEqual([
    ['SingleLineReversed', 'Question::Answer', 0, 0],
  ]);
  expect(
    parseT(
      'Qn 1?:>Answer.\n\nQn 2?<:>Answer.\n',
      opts({ singleLineCardSeparator: ':>', singleLineReversedCardSeparator: '<:>', multilineCardSeparator: ';>', multilineReversedCardSeparator: '<;>' }),
    ),
  ).toEqual([
    ['SingleLineBasic', 'Qn 1?:>Answer.', 0, 0],
    ['SingleLineReversed', 'Qn 2?<:>Answer.', 2, 2],
  ]);
  expect(parseT('Question:::Answer', opts({ singleLineCardSeparator: '>', singleLineReversedCardSeparator: '  ' }))).toEqual([]);
});

test('Test parsing of multi line basic cards', () => {
  expect(parseT('Question\n?\nAnswer', parserOptions)).toEqual([['MultiLineBasic', 'Question\n?\nAnswer', 0, 2]]);
  expect(parseT('Question\n? \nAnswer', parserOptions)).toEqual([['MultiLineBasic', 'Question\n?\nAnswer', 0, 2]]);
  expect(parseT('Question\n?\nAnswer <!--SR:!2021-08-11,4,270-->', parserOptions)).toEqual([
    ['MultiLineBasic', 'Question\n?\nAnswer <!--SR:!2021-08-11,4,270-->', 0, 2],
  ]);
  expect(parseT('Question\n?\nAnswer\n<!--SR:2021-08-11,4,270-->', parserOptions)).toEqual([
    ['MultiLineBasic', 'Question\n?\nAnswer\n<!--SR:2021-08-11,4,270-->', 0, 3],
  ]);
  expect(parseT('Question line 1\nQuestion line 2\n?\nAnswer', parserOptions)).toEqual([
    ['MultiLineBasic', 'Question line 1\nQuestion line 2\n?\nAnswer', 0, 3],
  ]);
  expect(parseT('Question\n?\nAnswer line 1\nAnswer line 2', parserOptions)).toEqual([
    ['MultiLineBasic', 'Question\n?\nAnswer line 1\nAnswer line 2', 0, 3],
  ]);
  expect(parseT('#Title\n\nLine0\nQ1\n?\nA1\nAnswerExtra\n\nQ2\n?\nA2', parserOptions)).toEqual([
    ['MultiLineBasic', 'Line0\nQ1\n?\nA1\nAnswerExtra', 2, 6],
    ['MultiLineBasic', 'Q2\n?\nA2', 8, 10],
  ]);
  expect(parseT('#flashcards/tag-on-previous-line\nQuestion\n?\nAnswer', parserOptions)).toEqual([
    ['MultiLineBasic', '#flashcards/tag-on-previous-line\nQuestion\n?\nAnswer', 0, 3],
  ]);
  const endMarker = opts({ clozePatterns: ['**[123;;]answer[;;hint]**'] });
  expect(parseT('Question\n?\nAnswer line 1\nAnswer line 2\n\n---', endMarker)).toEqual([
    ['MultiLineBasic', 'Question\n?\nAnswer line 1\nAnswer line 2', 0, 4],
  ]);
  expect(
    parseT('Question 1\n?\nAnswer line 1\nAnswer line 2\n\n---\nQuestion 2\n?\nAnswer line 1\nAnswer line 2\n---\n', endMarker),
  ).toEqual([
    ['MultiLineBasic', 'Question 1\n?\nAnswer line 1\nAnswer line 2', 0, 4],
    ['MultiLineBasic', 'Question 2\n?\nAnswer line 1\nAnswer line 2', 6, 9],
  ]);
  expect(
    parseT(
      'Question 1\n?\nAnswer line 1\nAnswer line 2\n\n---\nQuestion with empty line after question mark\n?\n\nAnswer line 1\nAnswer line 2\n---\n',
      endMarker,
    ),
  ).toEqual([
    ['MultiLineBasic', 'Question 1\n?\nAnswer line 1\nAnswer line 2', 0, 4],
    ['MultiLineBasic', 'Question with empty line after question mark\n?\n\nAnswer line 1\nAnswer line 2', 6, 10],
  ]);
  expect(parseT('Question\n@@\nAnswer\n\nsfdg', opts({ multilineCardSeparator: '@@', multilineCardEndMarker: '' }))).toEqual([
    ['MultiLineBasic', 'Question\n@@\nAnswer', 0, 2],
  ]);
  expect(parseT('Question\n?\nAnswer', opts({ multilineCardSeparator: '' }))).toEqual([]);
});

test('Test parsing of multi line reversed cards', () => {
  expect(parseT('Question\n??\nAnswer', parserOptions)).toEqual([['MultiLineReversed', 'Question\n??\nAnswer', 0, 2]]);
  expect(parseT('Question line 1\nQuestion line 2\n??\nAnswer', parserOptions)).toEqual([
    ['MultiLineReversed', 'Question line 1\nQuestion line 2\n??\nAnswer', 0, 3],
  ]);
  expect(parseT('Question\n??\nAnswer line 1\nAnswer line 2', parserOptions)).toEqual([
    ['MultiLineReversed', 'Question\n??\nAnswer line 1\nAnswer line 2', 0, 3],
  ]);
  expect(parseT('#Title\n\nLine0\nQ1\n??\nA1\nAnswerExtra\n\nQ2\n??\nA2', parserOptions)).toEqual([
    ['MultiLineReversed', 'Line0\nQ1\n??\nA1\nAnswerExtra', 2, 6],
    ['MultiLineReversed', 'Q2\n??\nA2', 8, 10],
  ]);
  const endMarker = { ...parserOptions, multilineCardEndMarker: '---' };
  expect(parseT('Question\n??\nAnswer line 1\nAnswer line 2\n\n---', endMarker)).toEqual([
    ['MultiLineReversed', 'Question\n??\nAnswer line 1\nAnswer line 2', 0, 4],
  ]);
  expect(
    parseT('Question 1\n?\nAnswer line 1\nAnswer line 2\n\n---\nQuestion 2\n??\nAnswer line 1\nAnswer line 2\n---\n', endMarker),
  ).toEqual([
    ['MultiLineBasic', 'Question 1\n?\nAnswer line 1\nAnswer line 2', 0, 4],
    ['MultiLineReversed', 'Question 2\n??\nAnswer line 1\nAnswer line 2', 6, 9],
  ]);
  expect(parseT('Question\n@@@\nAnswer\n---', opts({ multilineCardSeparator: '@@', multilineReversedCardSeparator: '@@@' }))).toEqual([
    ['MultiLineReversed', 'Question\n@@@\nAnswer', 0, 2],
  ]);
  expect(
    parseT(
      'line 1\n\n\nline 2\n\nQuestion 1?\n??\nAnswer to question 1\n????\nline 3\n\nline 4\n\nQuestion 2?\n??\nAnswer to question 2\n????\nLine 5\n',
      opts({
        singleLineCardSeparator: ':::',
        singleLineReversedCardSeparator: '::::',
        multilineCardSeparator: '??',
        multilineReversedCardSeparator: '???',
        multilineCardEndMarker: '????',
      }),
    ),
  ).toEqual([
    ['MultiLineBasic', 'Question 1?\n??\nAnswer to question 1', 5, 7],
    ['MultiLineBasic', 'Question 2?\n??\nAnswer to question 2', 13, 15],
  ]);
  expect(parseT('Question\n??\nAnswer', opts({ multilineReversedCardSeparator: '\t' }))).toEqual([]);
  expect(
    parseT(
      'some text\nsome text\n\n#flashcards/tag1 #flashcards/tag2\nQL1\n??\nAL1\n\nAL2\n+++\nsome text\n',
      opts({ multilineCardEndMarker: '+++' }),
    ),
  ).toEqual([['MultiLineReversed', '#flashcards/tag1 #flashcards/tag2\nQL1\n??\nAL1\n\nAL2', 3, 8]]);
});

test('Test parsing of cloze cards', () => {
  for (const [open, close] of [
    ['==', '=='],
    ['**', '**'],
    ['{{', '}}'],
  ]) {
    const d = (s: string) => `${open}${s}${close}`;
    expect(parseT(`cloze ${d('deletion')} test`, parserOptions)).toEqual([['Cloze', `cloze ${d('deletion')} test`, 0, 0]]);
    expect(parseT(`cloze ${d('deletion')} test\n<!--SR:2021-08-11,4,270-->`, parserOptions)).toEqual([
      ['Cloze', `cloze ${d('deletion')} test\n<!--SR:2021-08-11,4,270-->`, 0, 1],
    ]);
    expect(parseT(`cloze ${d('deletion')} test <!--SR:2021-08-11,4,270-->`, parserOptions)).toEqual([
      ['Cloze', `cloze ${d('deletion')} test <!--SR:2021-08-11,4,270-->`, 0, 0],
    ]);
    expect(parseT(`${d('this')} is a ${d('deletion')}\n`, parserOptions)).toEqual([['Cloze', `${d('this')} is a ${d('deletion')}`, 0, 0]]);
    expect(
      parseT(
        `some text before\n\na deletion on\nsuch ${d('wow')}\n\nmany text\nsuch surprise ${d('wow')} more ${d('text')}\nsome text after\n\nHmm`,
        parserOptions,
      ),
    ).toEqual([
      ['Cloze', `a deletion on\nsuch ${d('wow')}`, 2, 3],
      ['Cloze', `many text\nsuch surprise ${d('wow')} more ${d('text')}\nsome text after`, 5, 7],
    ]);
    expect(parseT(`srdf ${open}`, parserOptions)).toEqual([]);
    expect(parseT(`lorem ipsum ${open}p\ndolor won${close}`, parserOptions)).toEqual([]);
    expect(parseT(`lorem ipsum ${open}dolor won${close.slice(1)}`, parserOptions)).toEqual([]);
    // That pattern turned off
    const others = parserOptions.clozePatterns.filter((p) => !p.startsWith(open));
    expect(parseT(`cloze ${d('deletion')} test`, { ...parserOptions, clozePatterns: others })).toEqual([]);
  }
  expect(parseT('srdf }}', parserOptions)).toEqual([]);

  // Anki-like pattern: the single-line separators have to differ from it
  const anki = opts({ singleLineCardSeparator: '=', singleLineReversedCardSeparator: '==', multilineCardEndMarker: '', clozePatterns: ['{{[123::]answer[::hint]}}'] });
  expect(parseT('Brazilians speak {{Portuguese::language}}', anki)).toEqual([['Cloze', 'Brazilians speak {{Portuguese::language}}', 0, 0]]);
  expect(parseT('Brazilians speak {{1::Portuguese}}\n\nBrazilians speak {{1::Portuguese::language}}', anki)).toEqual([
    ['Cloze', 'Brazilians speak {{1::Portuguese}}', 0, 0],
    ['Cloze', 'Brazilians speak {{1::Portuguese::language}}', 2, 2],
  ]);
  expect(parseT('Brazilians speak {{a::Portuguese}}\n\nBrazilians speak {{a::Portuguese::language}}', anki)).toEqual([
    ['Cloze', 'Brazilians speak {{a::Portuguese}}', 0, 0],
    ['Cloze', 'Brazilians speak {{a::Portuguese::language}}', 2, 2],
  ]);

  // Highlight with hint and sequence in footnotes
  const footnotes = opts({ multilineCardEndMarker: '', clozePatterns: ['==answer==[^\\[hint\\]][\\[^123\\]]'] });
  expect(parseT('Brazilians speak ==Portuguese==\n\nBrazilians speak ==Portuguese==^[language]', footnotes)).toEqual([
    ['Cloze', 'Brazilians speak ==Portuguese==', 0, 0],
    ['Cloze', 'Brazilians speak ==Portuguese==^[language]', 2, 2],
  ]);
  expect(parseT('Brazilians speak ==Portuguese==[^1]\n\nBrazilians speak ==Portuguese==^[language][^1]', footnotes)).toEqual([
    ['Cloze', 'Brazilians speak ==Portuguese==[^1]', 0, 0],
    ['Cloze', 'Brazilians speak ==Portuguese==^[language][^1]', 2, 2],
  ]);

  // combo
  expect(parseT('cloze **deletion** test ==another deletion==!', parserOptions)).toEqual([
    ['Cloze', 'cloze **deletion** test ==another deletion==!', 0, 0],
  ]);
  expect(
    parseT(
      'Test 1\nTest 2\nThis is a cloze with ===secret=== text.\nWith this extra lines\n\nAnd more here.\nAnd even more.\n\n---\n\n' +
        'Test 3\nTest 4\nThis is a cloze with ===super secret=== text.\nWith this extra lines\n\nAnd more here.\nAnd even more.\n\n---\n\nHere is some more text.',
      opts({ clozePatterns: ['==[123;;]answer[;;hint]=='] }),
    ),
  ).toEqual([
    ['Cloze', 'Test 1\nTest 2\nThis is a cloze with ===secret=== text.\nWith this extra lines\n\nAnd more here.\nAnd even more.', 0, 7],
    ['Cloze', 'Test 3\nTest 4\nThis is a cloze with ===super secret=== text.\nWith this extra lines\n\nAnd more here.\nAnd even more.', 10, 17],
  ]);
  expect(parseT('cloze {{deletion}} test and **deletion** ==another deletion==!', opts({ multilineCardEndMarker: '' }))).toEqual([]);
});

test('Test parsing of a mix of card types', () => {
  expect(
    parseT(
      '# Lorem Ipsum\n\nLorem ipsum dolor ==sit amet==, consectetur ==adipiscing== elit.\n' +
        'Duis magna arcu, eleifend rhoncus ==euismod non,==\nlaoreet vitae enim.\n\n' +
        'Fusce placerat::velit in pharetra gravida\n\n' +
        'Donec dapibus ullamcorper aliquam.\n??\nDonec dapibus ullamcorper aliquam.\n<!--SR:2021-08-11,4,270-->',
      parserOptions,
    ),
  ).toEqual([
    [
      'Cloze',
      'Lorem ipsum dolor ==sit amet==, consectetur ==adipiscing== elit.\nDuis magna arcu, eleifend rhoncus ==euismod non,==\nlaoreet vitae enim.',
      2,
      4,
    ],
    ['SingleLineBasic', 'Fusce placerat::velit in pharetra gravida', 6, 6],
    ['MultiLineReversed', 'Donec dapibus ullamcorper aliquam.\n??\nDonec dapibus ullamcorper aliquam.\n<!--SR:2021-08-11,4,270-->', 8, 11],
  ]);
});

test('Test parsing cards with codeblocks', () => {
  const inline = 'my inline question containing `some inline code` in it::and this is answer possibly containing `inline` code.';
  expect(parseT(inline, parserOptions)).toEqual([['SingleLineBasic', inline, 0, 0]]);
  expect(parseT('this has some ==`inline`== code', parserOptions)).toEqual([['Cloze', 'this has some ==`inline`== code', 0, 0]]);
  const block = "How do you ... Python?\n?\n```\nprint('Hello World!')\nprint('Howdy?')\nlambda x: x[0]\n```";
  expect(parseT(block, parserOptions)).toEqual([['MultiLineBasic', block, 0, 6]]);
  const blanks = "How do you ... Python?\n?\n```python\nprint('Hello World!')\n\n\nprint('Howdy?')\n\nlambda x: x[0]\n```";
  expect(parseT(blanks, parserOptions)).toEqual([['MultiLineBasic', blanks, 0, 9]]);
  const nested =
    "Nested Markdown?\n?\n````ad-note\n\n```git\n+ print('hello')\n- print('world')\n```\n\n~~~python\nprint('hello world')\n~~~\n````";
  expect(parseT(nested, parserOptions)).toEqual([['MultiLineBasic', nested, 0, 12]]);
});

test('Test not parsing cards in HTML comments', () => {
  expect(parseT('<!--question::answer test-->', parserOptions)).toEqual([]);
  expect(parseT('<!--question:::answer test-->', parserOptions)).toEqual([]);
  expect(parseT('<!--\nQuestion\n?\nAnswer <!--SR:!2021-08-11,4,270-->\n-->', parserOptions)).toEqual([]);
  expect(
    parseT('<!--\nQuestion\n?\nAnswer <!--SR:!2021-08-11,4,270-->\n\n<!--cloze ==deletion== test-->-->', parserOptions),
  ).toEqual([]);
  expect(parseT('<!--cloze ==deletion== test-->', parserOptions)).toEqual([]);
  expect(parseT('<!--cloze **deletion** test-->', parserOptions)).toEqual([]);
  expect(parseT('<!--cloze {{curly}} test-->', parserOptions)).toEqual([]);
  expect(parseT('something something\n<!--cloze {{curly}} test-->', parserOptions)).toEqual([]);
  expect(parseT('something something\n\n<!--cloze {{curly}} test-->\n\na::b', parserOptions)).toEqual([['SingleLineBasic', 'a::b', 4, 4]]);
});

test("Test not parsing 'cards' in codeblocks", () => {
  expect(parseT('```\nCodeblockq::CodeblockA\n```', parserOptions)).toEqual([]);
  expect(parseT('```\nCodeblockq:::CodeblockA\n```', parserOptions)).toEqual([]);
  expect(parseT('# Title\n\n```markdown\nsome ==highlighted text==!\n```\n\nmore!', parserOptions)).toEqual([]);
  expect(parseT('# Title\n```markdown\nsome **bolded text**!\n```\n\nmore!', parserOptions)).toEqual([]);
  expect(parseT("# Title\n\n```\nfoo = {{'a': 2}}\n```\n\nmore!", parserOptions)).toEqual([]);
  expect(parseT('`Inlineq::InlineA`', parserOptions)).toEqual([]);
  expect(parseT('# Title\n`if (a & b) {}`\nmore!', { ...parserOptions, singleLineCardSeparator: '&' })).toEqual([]);
  expect(parseT('Question::Answer\n\n```\nCodeblockq::CodeblockA\n```\n\n`Inlineq::InlineA`\n', parserOptions)).toEqual([
    ['SingleLineBasic', 'Question::Answer', 0, 0],
  ]);
});

describe('v1.15 metadata callout', () => {
  test('a single-line card takes the callout up to its scheduling comment', () => {
    const text = 'Q::A\n> [!sr|card-metadata]\n> <!--SR:!2024-05-19,482,309-->\nafter';
    expect(parseT(text, parserOptions)).toEqual([
      ['SingleLineBasic', 'Q::A\n> [!sr|card-metadata]\n> <!--SR:!2024-05-19,482,309-->', 0, 2],
    ]);
  });
});

describe('contract details', () => {
  test('results are plain objects with exactly the plugin fields', () => {
    const [card] = parseCards('Q::A');
    expect(Object.keys(card).sort()).toEqual(['cardType', 'firstLineNum', 'lastLineNum', 'text']);
  });

  test('defaults are the plugin defaults: highlights are clozes, bold is not', () => {
    expect(parseCards('a ==b== c').map((c) => c.cardType)).toEqual(['Cloze']);
    expect(parseCards('a **b** c')).toEqual([]);
    expect(parseCards('a {{b}} c')).toEqual([]);
  });

  test('the plugin does not reset firstLineNum after a single-line card (kept for parity)', () => {
    expect(parseT('Q1::A1\nQ2\n?\nA2', parserOptions)).toEqual([
      ['SingleLineBasic', 'Q1::A1', 0, 0],
      ['MultiLineBasic', 'Q2\n?\nA2', 0, 3],
    ]);
  });

  test('frontmatter is blanked before parsing, as the plugin does', () => {
    expect(parseT('---\ntags: [flashcards]\nsummary: a::b\n---\nQ\n?\nA', parserOptions)).toEqual([['MultiLineBasic', 'Q\n?\nA', 4, 6]]);
  });

  test('bad options are a clear error', () => {
    expect(() => parseCards('x', { clozePatterns: ['==answer=='] })).toThrow(CardOptionsError);
    expect(() => parseCards('x', { clozePatterns: ['==answer=='] })).toThrow(/cloze pattern "==answer==" is invalid/);
    expect(() => parseCards('x', { singleLineCardSeparator: 3 as unknown as string })).toThrow(/singleLineCardSeparator must be a string/);
  });

  test('without clozePatterns, the older convert...ToClozes switches choose the patterns (upgradeSettings)', () => {
    const bold = { convertBoldTextToClozes: true } as Partial<ParserOptions>;
    expect(parseCards('a **b** c', bold)).toHaveLength(1);
    expect(parseCards('a ==b== c', bold)).toHaveLength(1); // highlights stay on by default
    expect(parseCards('a ==b== c', { convertHighlightsToClozes: false } as Partial<ParserOptions>)).toEqual([]);
    expect(parseCards('a {{b}} c', { convertCurlyBracketsToClozes: true } as Partial<ParserOptions>)).toHaveLength(1);
  });

  test('clozePatterns may be given as one comma-separated string', () => {
    expect(parseCards('a **b** c', { clozePatterns: '==[123;;]answer[;;hint]==, **[123;;]answer[;;hint]**' as unknown as string[] })).toHaveLength(1);
  });
});
