/**
 * `cardlab model summary`: analytic counts printed by the CLI must equal a built
 * model's, for configurations that are not presets too.
 */
import { spawnSync } from 'child_process';
import path from 'path';
import { CommanderError } from 'commander';
import { buildProgram } from '../src/cli';
import { tf, initBackend } from '../src/tf';
import { buildDenseNet, DenseNetConfig } from '../src/densenet';

interface SummaryJson {
  model: string;
  variant: string;
  depth: number;
  trainableParams: number;
  nonTrainableParams: number;
  totalParams: number;
  blockChannels: number[];
  config: DenseNetConfig;
  stages: { name: string; channels: number; outputShape: number[]; trainableParams: number }[];
  layers?: { name: string }[];
}

/** Runs the command in-process; returns stdout, stderr and the exit code commander asked for. */
async function cardlab(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ') + '\n'));
  const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  });
  let code = 0;
  try {
    await buildProgram().parseAsync(['model', 'summary', ...args], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) code = e.exitCode;
    else {
      err.push((e as Error).message);
      code = 1;
    }
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
  return { stdout: out.join(''), stderr: err.join(''), code };
}

async function summaryJson(...args: string[]): Promise<SummaryJson> {
  const { stdout, stderr, code } = await cardlab('--json', ...args);
  expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  expect(stdout.trim().split('\n')).toHaveLength(1); // one JSON object
  return JSON.parse(stdout) as SummaryJson;
}

const sizeOf = (weights: tf.LayerVariable[]) => weights.reduce((s, w) => s + w.shape.reduce((a: number, b) => a * (b as number), 1), 0);

function expectBuiltCounts(summary: SummaryJson): void {
  const model = buildDenseNet(summary.config);
  try {
    expect(sizeOf(model.trainableWeights)).toBe(summary.trainableParams);
    expect(sizeOf(model.nonTrainableWeights)).toBe(summary.nonTrainableParams);
    // Per-block channels: the built block outputs.
    const built = summary.blockChannels.map((_, i) => model.getLayer(`block${i + 1}_concat`).outputShape[3]);
    expect(built).toEqual(summary.blockChannels);
  } finally {
    model.dispose();
  }
}

beforeAll(async () => {
  await initBackend();
});

describe('cardlab model summary --json', () => {
  test('--depth 22 --growth 6 --bottleneck --compression 0.5 agrees with the built model', async () => {
    const s = await summaryJson('--depth', '22', '--growth', '6', '--bottleneck', '--compression', '0.5');
    expect(s.config).toMatchObject({ blocks: [3, 3, 3], growthRate: 6, bottleneck: true, compression: 0.5, initFeatures: 12, stem: 'cifar', classes: 10 });
    expect([s.model, s.variant, s.depth]).toEqual(['DenseNet-BC (L=22, k=6)', 'DenseNet-BC', 22]);
    expect(s.blockChannels).toEqual([12 + 18, 15 + 18, 16 + 18]);
    expect(s.totalParams).toBe(s.trainableParams + s.nonTrainableParams);
    expectBuiltCounts(s);
  });

  test('--blocks 2,3 --stem imagenet --growth 8 agrees with the built model', async () => {
    const s = await summaryJson('--blocks', '2,3', '--stem', 'imagenet', '--growth', '8');
    expect(s.config).toMatchObject({ blocks: [2, 3], growthRate: 8, bottleneck: true, compression: 0.5, initFeatures: 16, inputShape: [224, 224, 3], classes: 1000 });
    expect(s.stages.map((st) => [st.name, st.outputShape])).toEqual([
      ['stem', [56, 56, 16]],
      ['block1', [56, 56, 32]],
      ['transition1', [28, 28, 16]],
      ['block2', [28, 28, 40]],
      ['head', [1000]],
    ]);
    expectBuiltCounts(s);
  });

  test('other options: --init-features, --classes, --input, --no-bottleneck, --drop-rate', async () => {
    const s = await summaryJson('--blocks', '4,4', '--growth', '10', '--init-features', '20', '--classes', '7', '--input', '28,28,1', '--drop-rate', '0.2');
    expect(s.config).toMatchObject({ blocks: [4, 4], initFeatures: 20, classes: 7, inputShape: [28, 28, 1], dropRate: 0.2, bottleneck: false, compression: 1 });
    expectBuiltCounts(s);
    const plain = await summaryJson('--preset', 'densenet121', '--no-bottleneck', '--blocks', '2,2,2,2', '--classes', '10', '--input', '64,64,3');
    expect(plain.config).toMatchObject({ blocks: [2, 2, 2, 2], growthRate: 32, bottleneck: false, compression: 0.5, initFeatures: 64, classes: 10 });
    expect(plain.model).toBe('DenseNet-C (L=13, k=32)');
    expectBuiltCounts(plain);
  });

  test('presets print the reference counts; without options the default is DenseNet (L=40, k=12)', async () => {
    const d121 = await summaryJson('--preset', 'densenet121');
    expect([d121.model, d121.trainableParams, d121.nonTrainableParams]).toEqual(['densenet121', 7_978_856, 83_648]);
    expect((await summaryJson('--preset', 'densenet161')).trainableParams).toBe(28_681_000);
    const dflt = await summaryJson();
    expect([dflt.model, dflt.trainableParams]).toEqual(['DenseNet (L=40, k=12)', 1_019_722]);
    const bc = await summaryJson('--bottleneck', '--compression', '0.5');
    expect([bc.model, bc.trainableParams]).toEqual(['DenseNet-BC (L=100, k=12)', 769_162]);
  });

  test('--layers lists every layer', async () => {
    const s = await summaryJson('--depth', '10', '--layers');
    expect(s.layers!.map((l) => l.name)).toContain('block3_layer2_conv3x3');
  });
});

describe('cardlab model summary (table)', () => {
  test('one row per stem, block, transition and head, then the totals', async () => {
    const { stdout, code } = await cardlab('--depth', '40');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toBe('DenseNet (L=40, k=12)');
    const row = (name: string) => lines.find((l) => l.startsWith(`${name} `))!.trim().split(/\s{2,}/);
    expect(row('block1')).toEqual(['block1', '12', '32×32×160', '160', expect.any(String), expect.any(String)]);
    expect(row('transition2')).toEqual(['transition2', '8×8×304', '304', expect.any(String), expect.any(String)]);
    expect(row('head')).toEqual(['head', '10', '10', expect.any(String), expect.any(String)]);
    expect(stdout).toMatch(/trainable params: +1,019,722\n/);
    expect(stdout).toMatch(/non-trainable params: +18,096 /);
  });
});

describe('bad options are clear errors', () => {
  test.each([
    [['--depth', '41'], /depth 41 does not fit a CIFAR DenseNet.*nearest depths are 40 or 43/],
    [['--depth', '40', '--blocks', '6,6'], /either --depth .* or --blocks, not both/],
    [['--compression', '1.5'], /--compression must be a number in \(0, 1\] \(got "1.5"\)/],
    [['--growth', 'twelve'], /--growth must be a positive integer \(got "twelve"\)/],
    [['--blocks', '6,,6'], /--blocks must be a comma-separated list of positive integers/],
    [['--input', '32,32'], /--input must be 3 comma-separated positive integers/],
    [['--preset', 'densenet100'], /argument 'densenet100' is invalid. Allowed choices are densenet121/],
    [['--stem', 'mnist'], /Allowed choices are cifar, imagenet/],
    [['--preset', 'densenet121', '--input', '16,16,3'], /input is too small.*transition3_pool/],
  ])('%j', async (args, message) => {
    const { stdout, stderr, code } = await cardlab(...(args as string[]));
    expect(code).not.toBe(0);
    expect(stderr).toMatch(message);
    expect(stdout).toBe('');
  });
});

test('the installed bin prints one JSON object (needs `npm run build`)', () => {
  const bin = path.join(__dirname, '..', 'bin', 'cardlab.js');
  const run = spawnSync(process.execPath, [bin, 'model', 'summary', '--json', '--preset', 'densenet169'], { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const s = JSON.parse(run.stdout) as SummaryJson;
  expect([s.trainableParams, s.nonTrainableParams]).toEqual([14_149_480, 158_400]);
});
