/**
 * The pictures that cards/DenseNet.md links (`![[name.png]]`), drawn from the code: each entry names
 * the file the deck links, says what it shows and where its numbers come from, and makes the
 * content (an SVG diagram, an HTML table or a plotly chart) that `renderFigures` turns into a PNG.
 * `cardlab figures` regenerates them.
 */
import { analyzeDenseNet, type DenseNetSummary } from '../densenet/analytic';
import { cifarConfig, presetConfig } from '../densenet/presets';
import { cifarResNetParams } from '../densenet/resnet';
import type { DenseNetConfig } from '../densenet/config';
import type { PlotlyFigure } from '../cells/display';
import { channelGrowth, errorVsParams, type ErrorVsParamsPoint } from '../viz/architecture';
import { denseBlockDiagram, layerReads, memoryEfficientDiagram, transitionDiagram } from '../viz/diagrams';
import { architectureTable, ARCHITECTURE_TABLE_CSS } from '../viz/architecture-table';

export type FigureContent =
  | { kind: 'svg'; svg: string }
  | { kind: 'html'; html: string; css?: string }
  | { kind: 'plotly'; figure: PlotlyFigure; width: number; height: number };

export interface DeckFigure {
  /** The file name the deck links, e.g. densenet-architecture.png. */
  file: string;
  /** What the picture shows (the deck's context). */
  shows: string;
  /** Where its numbers come from. */
  source: string;
  make(): Promise<FigureContent>;
}

/** The dense block of the deck's example: x₀ with 3 channels, growth rate k = 10, no bottleneck. */
export const DECK_BLOCK: DenseNetConfig = {
  blocks: [4],
  growthRate: 10,
  bottleneck: false,
  compression: 1,
  initFeatures: 3,
  stem: 'cifar',
  inputShape: [8, 8, 3],
  classes: 10,
  dropRate: 0,
  memoryEfficient: false,
};

/** DenseNet-BC (L = 100, k = 12) on CIFAR: the paper's main small model. */
export const BC100 = () => cifarConfig({ depth: 100, growthRate: 12, bottleneck: true, compression: 0.5 });

/** Channels after each layer of the deck's block, read from the built model's layer shapes. */
async function measuredChannels(config: DenseNetConfig): Promise<number[]> {
  // Imported here: building a model needs TensorFlow.js, the other figures do not.
  const { initBackend } = await import('../tf');
  const { buildDenseNet } = await import('../densenet/build');
  await initBackend();
  const model = buildDenseNet(config, { seed: 0 });
  try {
    const channels = (name: string) => {
      const shape = model.getLayer(name).outputShape as number[];
      return shape[shape.length - 1];
    };
    const layers = config.blocks[0];
    // Layer 1 reads the stem's output as it is (no concatenation layer); layer ℓ > 1 its concatenation.
    return [channels('stem_conv'), ...Array.from({ length: layers - 1 }, (_, i) => channels(`block1_layer${i + 2}_concat`)), channels('block1_concat')];
  } finally {
    model.dispose();
  }
}

/**
 * C10+ (CIFAR-10 with augmentation) test errors as reported in Huang et al., "Densely Connected
 * Convolutional Networks" (CVPR 2017), Table 2. cardlab cannot train these here (no CIFAR-10 on the
 * machine, days of CPU): the errors are the paper's, the parameter counts cardlab's own where it
 * builds the model.
 */
export const PAPER_C10_PLUS_ERRORS = {
  densenetBC: [
    { depth: 100, growthRate: 12, error: 4.51 },
    { depth: 250, growthRate: 24, error: 3.62 },
    { depth: 190, growthRate: 40, error: 3.46 },
  ],
  // Pre-activation ResNets (He et al. 2016) have bottleneck blocks, which cardlab's ResNet (the
  // basic 6n+2 baseline) does not build: their parameter counts are the paper's.
  preactResNet: [
    { depth: 164, paramsReported: 1.7e6, error: 5.46 },
    { depth: 1001, paramsReported: 10.2e6, error: 4.62 },
  ],
  resnet110: { depth: 110, error: 6.41 },
};

export function bcVsResNetPoints(): ErrorVsParamsPoint[] {
  const bc = PAPER_C10_PLUS_ERRORS.densenetBC.map((p) => ({
    family: 'DenseNet-BC',
    name: `L=${p.depth}, k=${p.growthRate}`,
    params: analyzeDenseNet(cifarConfig({ depth: p.depth, growthRate: p.growthRate, bottleneck: true, compression: 0.5 })).trainableParams,
    error: p.error,
  }));
  const resnet = [
    { family: 'ResNet (original)', name: `ResNet-${PAPER_C10_PLUS_ERRORS.resnet110.depth}`, params: cifarResNetParams({ depth: PAPER_C10_PLUS_ERRORS.resnet110.depth }).trainableParams, error: PAPER_C10_PLUS_ERRORS.resnet110.error },
    ...PAPER_C10_PLUS_ERRORS.preactResNet.map((p) => ({ family: 'ResNet (pre-activation)', name: `pre-act ResNet-${p.depth}`, params: p.paramsReported, error: p.error })),
  ];
  return [...bc, ...resnet];
}

function memoryLayoutOf(summary: DenseNetSummary, batch: number) {
  const block = summary.stages.find((s) => s.name === 'block1')!;
  const [h, w] = block.outputShape;
  const reads = layerReads(summary, 1);
  const k = summary.config.growthRate;
  return {
    reads,
    growthRate: k,
    bottleneckWidth: summary.config.bottleneck ? 4 * k : 0,
    bytesPerChannel: batch * h * w * 4,
    label: `Dense block 1 of ${summary.variant}-${summary.depth} (k = ${k}, ${block.layers} layers, ${h}×${w} maps), batch ${batch}, what each layer keeps for the backward pass`,
  };
}

export const DECK_FIGURES: DeckFigure[] = [
  {
    file: 'densenet-20220721113601762.png',
    shows: 'a dense block with growth rate k = 10 (Forward Propagation: 3 channels, then 13, 23, 33)',
    source: 'channel counts from analyzeDenseNet of a 4-layer block, c₀ = 3, k = 10 (the built model has the same shapes)',
    make: async () => ({ kind: 'svg', svg: denseBlockDiagram(analyzeDenseNet(DECK_BLOCK)) }),
  },
  {
    file: 'densenet-20220721113608540.png',
    shows: 'the channels of [x₀ … x_ℓ] growing by k per layer',
    source: 'the black line is measured: the output shapes of the concatenation layers of a block built with buildDenseNet (c₀ = 3, k = 10)',
    make: async () => {
      const measured = await measuredChannels(DECK_BLOCK);
      return { kind: 'plotly', figure: channelGrowth({ inputChannels: DECK_BLOCK.initFeatures, growthRate: DECK_BLOCK.growthRate, layers: DECK_BLOCK.blocks[0], measured }), width: 860, height: 520 };
    },
  },
  {
    file: 'densenet-20220722073007015.png',
    shows: 'the transition layers between dense blocks (BN, 1×1 conv to ⌊θm⌋, 2×2 average pooling)',
    source: 'shapes and counts from analyzeDenseNet of DenseNet-BC (L = 100, k = 12, θ = 0.5) on 32×32 inputs',
    make: async () => ({ kind: 'svg', svg: transitionDiagram(analyzeDenseNet(BC100())) }),
  },
  {
    file: 'densenet-architecture.png',
    shows: "the paper's Table 1: DenseNet-121/169/201/264 for ImageNet",
    source: 'output sizes, block lengths and parameter counts from analyzeDenseNet of the presets (equal to torchvision’s models)',
    make: async () => ({
      kind: 'html',
      html: architectureTable(['densenet121', 'densenet169', 'densenet201', 'densenet264'].map((name) => ({ name: name.replace('densenet', 'DenseNet-'), summary: analyzeDenseNet(presetConfig(name)) }))),
      css: ARCHITECTURE_TABLE_CSS,
    }),
  },
  {
    file: 'densenet-bc-vs-resnet-chart.png',
    shows: 'DenseNet-BC against ResNets: C10+ test error against parameters',
    source: 'errors: Huang et al. 2017, Table 2 (C10+); parameters: counted by cardlab (analyzeDenseNet, cifarResNetParams), the pre-activation ResNets’ as reported',
    make: async () => ({
      kind: 'plotly',
      figure: errorVsParams(
        bcVsResNetPoints(),
        'DenseNet-BC against ResNet on CIFAR-10 (C10+):<br>the same error with about a third of the parameters',
        'Test errors as reported by Huang et al. 2017 (Table 2). Parameters counted by cardlab from the models it builds (DenseNet-BC, ResNet-110);<br>' +
          'pre-activation ResNet-164/1001 (bottleneck blocks, not built by cardlab) with the parameters reported by He et al. 2016.',
      ),
      width: 980,
      height: 560,
    }),
  },
  {
    file: 'memory-efficient-densenet.png',
    shows: 'the memory-efficient implementation: shared storage for the concatenation, BN and ReLU outputs',
    source: 'sizes computed from the layer shapes of DenseNet-BC (L = 100, k = 12), block 1, batch 64, float32',
    make: async () => ({ kind: 'svg', svg: memoryEfficientDiagram(memoryLayoutOf(analyzeDenseNet(BC100()), 64)) }),
  },
];

/** The image names a deck links: `![[name.png|500]]` and `![](name.png)`. */
export function deckImageLinks(markdown: string): string[] {
  const names: string[] = [];
  for (const m of markdown.matchAll(/!\[\[([^\]|#]+?)(?:[|#][^\]]*)?\]\]/g)) names.push(m[1].trim());
  for (const m of markdown.matchAll(/!\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) names.push(decodeURIComponent(m[1]).split('/').pop()!);
  return names.filter((n) => /\.(png|jpe?g|gif|svg|webp)$/i.test(n));
}
