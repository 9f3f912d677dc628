/**
 * `cardlab cards grade` and `cardlab cards due` end to end: the real bin in a child process,
 * real files in a temp folder.
 */
import { execFile } from 'child_process';
import { existsSync, promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'cardlab.js');
const BUILT_CLI = path.join(ROOT, 'dist', 'src', 'cli.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cardlab(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

let dir: string;
beforeAll(() => {
  if (!existsSync(BUILT_CLI)) {
    throw new Error(`the built CLI ${BUILT_CLI} is missing: run \`npm run build\` before these tests`);
  }
});
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cardlab-cli-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function write(name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, text);
  return file;
}
const read = (name: string) => fs.readFile(path.join(dir, name), 'utf8');

describe('cardlab cards grade', () => {
  test('the issue vector: prints the new schedule as JSON and writes the comment', async () => {
    await write('DenseNet.md', '---\ntags: [flashcards]\n---\n**Why?**\n??\nBecause.\n<!--SR:!2024-05-19,482,309-->\n');
    const run = await cardlab(['cards', 'grade', 'DenseNet.md', '--line', '3', '--grade', 'Good', '--date', '2024-05-19'], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out).toMatchObject({ due: '2028-06-16', interval: 1489, ease: 309, line: 3, sibling: 0, grade: 'Good', written: true });
    expect(out.previous).toEqual({ due: '2024-05-19', interval: 482, ease: 309 });
    expect(await read('DenseNet.md')).toBe(
      '---\ntags: [flashcards]\n---\n**Why?**\n??\nBecause.\n<!--SR:!2028-06-16,1489,309!2000-01-01,1,250-->\n',
    );
  });

  test('new cards: Easy / Good / Hard → 4 d / 270, 3 d / 250, 1 d / 230', async () => {
    const results = [];
    for (const grade of ['Easy', 'good', 'HARD']) {
      await write(`${grade}.md`, '#flashcards\n\nQ::A\n');
      const run = await cardlab(['cards', 'grade', `${grade}.md`, '--line', '2', '--grade', grade, '--date', '2024-05-19'], dir);
      expect(run.code).toBe(0);
      results.push(JSON.parse(run.stdout));
    }
    expect(results.map((r) => [r.interval, r.ease, r.due])).toEqual([
      [4, 270, '2024-05-23'],
      [3, 250, '2024-05-22'],
      [1, 230, '2024-05-20'],
    ]);
    expect(await read('Easy.md')).toBe('#flashcards\n\nQ::A\n<!--SR:!2024-05-23,4,270-->\n');
  });

  test('--sibling, --same-line, and the plugin data.json as --settings', async () => {
    await write('d.md', '#flashcards\r\nfront:::back\r\nX ==one== and ==two==');
    await write('data.json', JSON.stringify({ settings: { baseEase: 230, cardCommentOnSameLine: true } }));
    const a = await cardlab(['cards', 'grade', 'd.md', '--line', '1', '--grade', 'Good', '--sibling', '1', '--date', '2024-01-01', '--settings', 'data.json'], dir);
    const b = await cardlab(['cards', 'grade', 'd.md', '--line', '2', '--grade', 'Easy', '--sibling', '1', '--date', '2024-01-01', '--same-line'], dir);
    expect([a.code, b.code]).toEqual([0, 0]);
    // Base ease 230: Good → 1 × 2.3 → 2 days.
    expect(JSON.parse(a.stdout)).toMatchObject({ due: '2024-01-03', interval: 2, ease: 230 });
    // The note's ease is now 230 blended with the default base 250 (one card): 248; Easy → 268, 3.48 → 3 days.
    expect(JSON.parse(b.stdout)).toMatchObject({ due: '2024-01-04', interval: 3, ease: 268 });
    expect(await read('d.md')).toBe(
      '#flashcards\r\nfront:::back <!--SR:!2000-01-01,1,230!2024-01-03,2,230-->\r\nX ==one== and ==two== <!--SR:!2000-01-01,1,250!2024-01-04,3,268-->',
    );
  });

  test('--algorithm FSRS writes the plugin FSRS segment', async () => {
    await write('d.md', '#flashcards\nQ::A\n');
    const run = await cardlab(['cards', 'grade', 'd.md', '--line', '1', '--grade', 'Good', '--date', '2024-01-01', '--algorithm', 'FSRS'], dir);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out).toMatchObject({ algorithm: 'FSRS', state: 1, reps: 1, lapses: 0 });
    expect(await read('d.md')).toBe(`#flashcards\nQ::A\n${out.comment}\n`);
    expect(out.comment).toMatch(/^<!--SR:!fsrs,\d{4}-\d\d-\d\dT[\d:.]+Z,0,[\d.]+,[\d.]+,1,1,0,1,\d{4}-\d\d-\d\dT[\d:.]+Z-->$/);
  });

  test('bad input: a clear error, exit code 1, the file untouched', async () => {
    const text = '#flashcards\nQ::A\n';
    await write('d.md', text);
    const cases: [string[], RegExp][] = [
      [['--line', '0', '--grade', 'Good'], /no card starts on line 0 of d\.md \(cards start on lines 1\)/],
      [['--line', '1', '--grade', 'Perfect'], /unknown review response "Perfect"/],
      [['--line', '1', '--grade', 'Good', '--date', '2024-13-01'], /invalid date "2024-13-01"/],
      [['--line', 'x', '--grade', 'Good'], /--line must be a whole number/],
      [['--line', '1', '--grade', 'Good', '--sibling', '3'], /sibling 3 does not exist/],
      [['--grade', 'Good'], /required option '--line <n>'/],
    ];
    for (const [args, message] of cases) {
      const run = await cardlab(['cards', 'grade', 'd.md', ...args], dir);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(message);
      expect(run.stdout).toBe('');
    }
    const missing = await cardlab(['cards', 'grade', 'nope.md', '--line', '1', '--grade', 'Good'], dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read deck file nope\.md/);
    expect(await read('d.md')).toBe(text);
  });

  test('a deck that is not UTF-8 (Latin-1) is refused with a clear error and left byte for byte', async () => {
    // "Café::Crème" in Latin-1: é = 0xE9, è = 0xE8 are not UTF-8.
    const latin1 = Buffer.concat([Buffer.from('#flashcards\n\nCaf'), Buffer.from([0xe9]), Buffer.from('::Cr'), Buffer.from([0xe8]), Buffer.from('me\n')]);
    await fs.writeFile(path.join(dir, 'latin1.md'), latin1);
    const run = await cardlab(['cards', 'grade', 'latin1.md', '--line', '2', '--grade', 'Good', '--date', '2024-01-01'], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/latin1\.md is not valid UTF-8 text \(invalid byte at offset 16\); nothing was written/);
    expect(run.stdout).toBe('');
    expect(Buffer.compare(await fs.readFile(path.join(dir, 'latin1.md')), latin1)).toBe(0);
    // A real U+FFFD in a UTF-8 deck is fine.
    await write('fffd.md', '#flashcards\n\nReplacement \uFFFD::char\n');
    expect((await cardlab(['cards', 'grade', 'fffd.md', '--line', '2', '--grade', 'Good', '--date', '2024-01-01'], dir)).code).toBe(0);
    expect(await read('fffd.md')).toBe('#flashcards\n\nReplacement \uFFFD::char\n<!--SR:!2024-01-04,3,250-->\n');
  });
});

describe('cardlab cards due', () => {
  test('per deck: due today, new, total (text and --json)', async () => {
    await write('a/sci.md', '#flashcards/science\nA::1\n<!--SR:!2024-01-01,3,250-->\nB:::2\n<!--SR:!2024-02-01,3,250-->\n');
    await write('b/top.md', '---\ntags: [flashcards]\n---\nC::3\n');
    await write('plain.md', 'D::4\n');
    const json = await cardlab(['cards', 'due', '.', '--date', '2024-01-05', '--json'], dir);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([
      { deck: 'flashcards', due: 1, new: 2, total: 4 },
      { deck: 'flashcards/science', due: 1, new: 1, total: 3 },
    ]);
    const text = await cardlab(['cards', 'due', '.', '--date', '2024-01-05'], dir);
    expect(text.stdout.split('\n')).toEqual([
      'deck                  due    new  total',
      'flashcards              1      2      4',
      'flashcards/science      1      1      3',
      '',
    ]);
    const none = await cardlab(['cards', 'due', 'missing-dir'], dir);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/cannot read deck folder missing-dir/);
  });
});
