/**
 * `cardlab model summary`: shapes and parameter counts of a DenseNet preset or
 * of any configuration, from the analytic module (instant; nothing is built).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { analyzeDenseNet, DenseNetSummary } from '../densenet/analytic';
import { DenseNetConfig, paperDepth, Stem, variantName } from '../densenet/config';
import { cifarBlockLayers, PRESET_NAMES, presetConfig } from '../densenet/presets';

export interface ModelOptions {
  preset?: string;
  depth?: number;
  blocks?: number[];
  growth?: number;
  bottleneck?: boolean;
  compression?: number;
  initFeatures?: number;
  stem?: Stem;
  classes?: number;
  input?: [number, number, number];
  dropRate?: number;
}

const DEFAULTS_HELP = `
Defaults for options not given:
  --stem           imagenet with --preset, else cifar
  --blocks         the preset's; else three blocks from --depth; else 6,12,24,16 on the imagenet stem
  --depth          40, or 100 with --bottleneck (cifar stem, no --blocks or --preset):
                   three blocks of (L-4)/3 layers, (L-4)/6 with --bottleneck
  --growth         the preset's k; else 12 on the cifar stem, 32 on the imagenet stem
  --bottleneck     the preset's (on); else on for the imagenet stem, off for cifar
  --compression    the preset's (0.5); else 0.5 on the imagenet stem, 1 on cifar
  --init-features  the preset's (unless --growth or --stem change); else 2k on the imagenet stem;
                   on the cifar stem 16, or 2k for DenseNet-BC (--bottleneck and compression < 1)
  --classes        1000 on the imagenet stem, 10 on cifar
  --input          224,224,3 on the imagenet stem, 32,32,3 on cifar
  --drop-rate      0

Examples:
  cardlab model summary --preset densenet121 --json
  cardlab model summary --depth 100 --bottleneck --compression 0.5
  cardlab model summary --blocks 2,3 --stem imagenet --growth 8 --input 64,64,3`;

function positiveInt(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new InvalidArgumentError(`${flag} must be a positive integer (got "${value}").`);
    return Number(value);
  };
}

function numberIn(flag: string, ok: (n: number) => boolean, range: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new InvalidArgumentError(`${flag} must be a number in ${range} (got "${value}").`);
    return n;
  };
}

function intList(flag: string, length?: number) {
  return (value: string): number[] => {
    const parts = value.split(',').map((p) => p.trim());
    if (parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1) || (length !== undefined && parts.length !== length)) {
      const what = length === undefined ? 'a comma-separated list of positive integers' : `${length} comma-separated positive integers`;
      throw new InvalidArgumentError(`${flag} must be ${what} (got "${value}").`);
    }
    return parts.map(Number);
  };
}

/** The configuration the options describe, with the defaults listed in the help (validated by the analysis). */
export function resolveModelConfig(options: ModelOptions): { name: string; config: DenseNetConfig } {
  if (options.depth !== undefined && options.blocks !== undefined) {
    throw new Error('give either --depth (three equal blocks) or --blocks, not both');
  }
  const preset = options.preset === undefined ? undefined : presetConfig(options.preset);
  const stem: Stem = options.stem ?? preset?.stem ?? 'cifar';
  const imagenet = stem === 'imagenet';
  const growthRate = options.growth ?? preset?.growthRate ?? (imagenet ? 32 : 12);
  const bottleneck = options.bottleneck ?? preset?.bottleneck ?? imagenet;
  const compression = options.compression ?? preset?.compression ?? (imagenet ? 0.5 : 1);

  let blocks: number[];
  if (options.blocks) blocks = options.blocks;
  else if (options.depth !== undefined) blocks = Array(3).fill(cifarBlockLayers(options.depth, bottleneck));
  else if (preset) blocks = preset.blocks;
  else if (imagenet) blocks = [6, 12, 24, 16];
  else blocks = Array(3).fill(cifarBlockLayers(bottleneck ? 100 : 40, bottleneck));

  const presetStemKept = preset && options.growth === undefined && options.stem === undefined;
  const initFeatures =
    options.initFeatures ??
    (presetStemKept ? preset.initFeatures : imagenet || (bottleneck && compression < 1) ? 2 * growthRate : 16);

  const config: DenseNetConfig = {
    blocks,
    growthRate,
    bottleneck,
    compression,
    initFeatures,
    stem,
    inputShape: options.input ?? (imagenet ? [224, 224, 3] : [32, 32, 3]),
    classes: options.classes ?? (imagenet ? 1000 : 10),
    dropRate: options.dropRate ?? 0,
    memoryEfficient: false,
  };
  const structureChanged = ['depth', 'blocks', 'growth', 'bottleneck', 'compression', 'initFeatures', 'stem'].some(
    (key) => options[key as keyof ModelOptions] !== undefined,
  );
  const name = preset && !structureChanged ? options.preset! : `${variantName(config)} (L=${paperDepth(config)}, k=${growthRate})`;
  return { name, config };
}

/** The one JSON object `model summary --json` prints. */
export function summaryJson(name: string, summary: DenseNetSummary, withLayers: boolean) {
  return {
    model: name,
    variant: summary.variant,
    depth: summary.depth,
    trainableParams: summary.trainableParams,
    nonTrainableParams: summary.nonTrainableParams,
    totalParams: summary.totalParams,
    inputShape: summary.inputShape,
    outputShape: summary.outputShape,
    blockChannels: summary.blockChannels,
    config: summary.config,
    stages: summary.stages,
    ...(withLayers ? { layers: summary.layers } : {}),
  };
}

const fmt = (n: number) => n.toLocaleString('en-US');
const shape = (s: number[]) => s.join('×');

/** A readable table: one row per stage (or per layer), then the totals. */
export function summaryTable(name: string, summary: DenseNetSummary, withLayers: boolean): string {
  const header = ['', 'layers', 'output shape', 'channels', 'trainable', 'non-trainable'];
  const rows: string[][] = [];
  for (const stage of summary.stages) {
    rows.push([stage.name, stage.layers === undefined ? '' : String(stage.layers), shape(stage.outputShape), String(stage.channels), fmt(stage.trainableParams), fmt(stage.nonTrainableParams)]);
    if (withLayers) {
      for (const l of summary.layers.filter((layer) => layer.stage === stage.name)) {
        rows.push([`  ${l.name}`, '', shape(l.outputShape), String(l.outputShape[l.outputShape.length - 1]), fmt(l.trainableParams), fmt(l.nonTrainableParams)]);
      }
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  const c = summary.config;
  return [
    name,
    `${summary.variant}, L=${summary.depth}, k=${c.growthRate}, θ=${c.compression}, blocks ${c.blocks.join('-')}, ` +
      `${c.stem} stem with ${c.initFeatures} channels${c.dropRate > 0 ? `, dropout ${c.dropRate}` : ''}`,
    `input ${shape(summary.inputShape)} → ${c.classes} classes`,
    '',
    line(header),
    ...rows.map(line),
    '',
    `trainable params:     ${fmt(summary.trainableParams)}`,
    `non-trainable params: ${fmt(summary.nonTrainableParams)}  (batch-norm moving mean and variance)`,
    `total params:         ${fmt(summary.totalParams)}`,
  ].join('\n');
}

export function registerModelCommands(program: Command): void {
  const model = program.command('model').description('DenseNet models: shapes and parameter counts');
  model
    .command('summary')
    .description('shapes and parameter counts of a DenseNet preset or configuration (computed, nothing is built)')
    .addOption(new Option('--preset <name>', 'an ImageNet preset').choices(PRESET_NAMES))
    .option('--depth <L>', 'depth L: three blocks of (L-4)/3 layers, (L-4)/6 with --bottleneck', positiveInt('--depth'))
    .option('--blocks <list>', 'layers per dense block, e.g. 6,12,24,16', intList('--blocks'))
    .option('--growth <k>', 'growth rate k', positiveInt('--growth'))
    .option('--bottleneck', 'DenseNet-B: a 1×1 conv with 4k outputs before each 3×3 conv')
    .option('--no-bottleneck', 'no bottleneck (e.g. to change a preset)')
    .option('--compression <theta>', 'θ in (0, 1]: a transition keeps ⌊θm⌋ of m maps', numberIn('--compression', (n) => n > 0 && n <= 1, '(0, 1]'))
    .option('--init-features <n>', 'channels of the stem conv', positiveInt('--init-features'))
    .addOption(new Option('--stem <stem>', 'cifar: one 3×3 conv; imagenet: 7×7/2 conv, BN-ReLU, 3×3/2 max-pool').choices(['cifar', 'imagenet']))
    .option('--classes <n>', 'classifier outputs', positiveInt('--classes'))
    .option('--input <h,w,c>', 'input height, width, channels', intList('--input', 3))
    .option('--drop-rate <p>', 'dropout after each conv, in [0, 1) (adds no parameters)', numberIn('--drop-rate', (n) => n >= 0 && n < 1, '[0, 1)'))
    .option('--layers', 'list every layer, not only the stages')
    .option('--json', 'print one JSON object')
    .addHelpText('after', DEFAULTS_HELP)
    .action((opts: ModelOptions & { layers?: boolean; json?: boolean }) => {
      const { name, config } = resolveModelConfig(opts);
      const summary = analyzeDenseNet(config);
      if (opts.json) console.log(JSON.stringify(summaryJson(name, summary, Boolean(opts.layers))));
      else console.log(summaryTable(name, summary, Boolean(opts.layers)));
    });
}
