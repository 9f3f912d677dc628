/**
 * Diagrams of DenseNet as SVG strings, drawn from the analysis of real configurations
 * (`analyzeDenseNet`: the same layer names, shapes and parameter counts the built models have).
 * Pure functions: the deck's figures (src/figures) render them to PNG, and a notebook can show one
 * with `tslab.display.html(svg)`.
 */
import type { DenseNetSummary, LayerInfo } from '../densenet/analytic';

const FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'";
/** One colour per layer's new maps, x₀ grey (as the channel-growth chart). */
export const LAYER_COLORS = ['#7f7f7f', '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#bcbd22', '#17becf'];

function esc(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

function text(x: number, y: number, body: string, opts: { size?: number; anchor?: 'start' | 'middle' | 'end'; weight?: string; color?: string; italic?: boolean } = {}): string {
  return `<text x="${x}" y="${y}" font-size="${opts.size ?? 14}" text-anchor="${opts.anchor ?? 'middle'}" ${FONT}${opts.weight ? ` font-weight="${opts.weight}"` : ''}${opts.italic ? " font-style='italic'" : ''} fill="${opts.color ?? '#222'}">${esc(body)}</text>`;
}

function rect(x: number, y: number, w: number, h: number, fill: string, opts: { stroke?: string; rx?: number; dash?: boolean; opacity?: number } = {}): string {
  return `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="${opts.rx ?? 0}" fill="${fill}" stroke="${opts.stroke ?? 'none'}"${opts.dash ? " stroke-dasharray='6 4'" : ''}${opts.opacity !== undefined ? ` fill-opacity="${opts.opacity}"` : ''}/>`;
}

function arrow(x1: number, y1: number, x2: number, y2: number, color = '#444'): string {
  return `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="${color}" stroke-width="1.6" marker-end="url(#arrow)"/>`;
}

function svg(width: number, height: number, body: string[]): string {
  return (
    // max-width: a notebook's output column is narrower than some diagrams; they scale down to fit it.
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" style="max-width: 100%; height: auto">` +
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="5" markerHeight="5" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker></defs>` +
    `<rect width="100%" height="100%" fill="#fff"/>${body.join('')}</svg>`
  );
}

const channelsOf = (layer: LayerInfo | undefined) => layer?.outputShape[layer.outputShape.length - 1] ?? NaN;
const layerNamed = (summary: DenseNetSummary, name: string) => summary.layers.find((l) => l.name === name);

/** Channels each layer of dense block `block` reads: the block input for layer 1, its concatenation after. */
export function layerReads(summary: DenseNetSummary, block = 1): number[] {
  const stage = summary.stages.find((s) => s.name === `block${block}`);
  if (!stage?.layers) throw new Error(`no dense block ${block} in ${summary.variant}`);
  return Array.from({ length: stage.layers }, (_, i) => (i === 0 ? stage.inputShape[2] : channelsOf(layerNamed(summary, `block${block}_layer${i + 1}_concat`))));
}

/** A stack of feature maps: one coloured segment per source (x₀, x₁ …), height ∝ channels. */
function mapStack(x: number, yBottom: number, width: number, segments: { channels: number; color: string }[], unit: number): string[] {
  const out: string[] = [];
  let y = yBottom;
  for (const s of segments) {
    const h = s.channels * unit;
    y -= h;
    out.push(rect(x, y, width, h, s.color, { stroke: '#fff' }));
  }
  return out;
}

/**
 * The first dense block of `summary` with its growth rate: x₀, then for each layer ℓ the
 * concatenation [x₀ … x_{ℓ−1}] it reads (channel counts from the analysis), the composite layer H_ℓ
 * and its k new maps; every earlier output feeds every later layer.
 */
export function denseBlockDiagram(summary: DenseNetSummary): string {
  const k = summary.config.growthRate;
  const layers = summary.config.blocks[0];
  const block = summary.stages.find((s) => s.name === 'block1')!;
  const c0 = block.inputShape[2];
  const reads = layerReads(summary);
  const out = channelsOf(layerNamed(summary, 'block1_concat'));
  const composite = summary.config.bottleneck ? 'BN-ReLU-Conv1×1-BN-ReLU-Conv3×3' : 'BN-ReLU-Conv3×3';

  const unit = Math.min(4, 200 / out);
  const base = 350;
  const colW = 150;
  const left = 60;
  const body: string[] = [];
  body.push(text(430, 34, `A dense block with growth rate k = ${k}: every layer reads all earlier maps`, { size: 19, weight: 'bold' }));
  // x₀
  body.push(...mapStack(left, base, 34, [{ channels: c0, color: LAYER_COLORS[0] }], unit));
  body.push(text(left + 17, base + 22, 'x₀', { size: 16, weight: 'bold' }), text(left + 17, base + 40, `${c0} ch`, { size: 13 }));
  const xOf = (l: number) => left + 60 + (l - 1) * colW;
  for (let l = 1; l <= layers; l++) {
    const x = xOf(l);
    // H_ℓ box
    body.push(rect(x, base - 120, 64, 120, '#f3f3f3', { stroke: '#555', rx: 6 }));
    body.push(`<text x="${x + 32}" y="${base - 60}" font-size="17" text-anchor="middle" ${FONT} font-weight="bold" fill="#222">H<tspan font-size="12" dy="4">${l}</tspan></text>`);
    body.push(text(x + 32, base + 22, `reads ${reads[l - 1]}`, { size: 13 }), text(x + 32, base + 40, 'channels', { size: 13 }));
    // its new maps x_ℓ
    body.push(...mapStack(x + 82, base, 34, [{ channels: k, color: LAYER_COLORS[l % LAYER_COLORS.length] }], unit));
    body.push(`<text x="${x + 99}" y="${base + 22}" font-size="16" text-anchor="middle" ${FONT} font-weight="bold" fill="#222">x<tspan font-size="11" dy="4">${l}</tspan></text>`);
    body.push(text(x + 99, base + 40, `+${k} ch`, { size: 13 }));
    body.push(arrow(x + 66, base - 14, x + 80, base - 14));
  }
  // Connections: the output of every source (x₀ … x_{L−1}) to every later layer, as arcs above.
  const sourceX = (j: number) => (j === 0 ? left + 17 : xOf(j) + 99);
  for (let j = 0; j < layers; j++) {
    for (let l = j + 1; l <= layers; l++) {
      const x1 = sourceX(j);
      const x2 = xOf(l) + 20 + 6 * j;
      const top = base - 140 - 26 * (l - j) - 5 * j;
      const color = LAYER_COLORS[j % LAYER_COLORS.length];
      body.push(`<path d="M${x1},${base - 130 < 0 ? 0 : base - Math.max(k, c0) * unit - 4} C${x1},${top} ${x2},${top} ${x2},${base - 122}" fill="none" stroke="${color}" stroke-width="2.2" marker-end="url(#arrow)"/>`);
    }
  }
  // Block output: the concatenation of everything.
  const xOut = xOf(layers) + 170;
  const segments = [{ channels: c0, color: LAYER_COLORS[0] }, ...Array.from({ length: layers }, (_, i) => ({ channels: k, color: LAYER_COLORS[(i + 1) % LAYER_COLORS.length] }))];
  body.push(arrow(xOf(layers) + 120, base - 14, xOut - 6, base - 14));
  body.push(...mapStack(xOut, base, 40, segments, unit));
  body.push(text(xOut + 20, base + 22, 'block output', { size: 13, weight: 'bold' }), text(xOut + 20, base + 40, `[x₀ … x${layers > 9 ? '_' + layers : '₀₁₂₃₄₅₆₇₈₉'[layers]}]: ${out} ch`, { size: 13 }));
  body.push(text(430, base + 76, `H_ℓ = ${composite} adds k = ${k} new maps. Layer ℓ reads c₀ + (ℓ−1)·k = ${c0} + (ℓ−1)·${k} channels:`, { size: 14, color: '#333' }));
  body.push(text(430, base + 96, `${reads.join(', ')}; after L = ${layers} layers the block holds c₀ + L·k = ${out} channels.`, { size: 14, color: '#333' }));
  body.push(text(430, base + 120, 'Channel counts from cardlab’s analyzeDenseNet of this block (the same as the built model’s layer shapes).', { size: 12, color: '#777', italic: true }));
  return svg(860, base + 134, body);
}

const shapeText = (shape: number[]) => (shape.length === 3 ? `${shape[0]}×${shape[1]}×${shape[2]}` : shape.join('×'));

/**
 * The whole network as the paper's Figure 2 draws it — stem, dense blocks, the transition layers
 * between them, the classifier — with the shapes of `summary`, and one transition opened up:
 * BN, ReLU, 1×1 conv to ⌊θm⌋ channels, 2×2 average pooling.
 */
export function transitionDiagram(summary: DenseNetSummary): string {
  const stages = summary.stages;
  const width = 1100;
  const body: string[] = [];
  const { growthRate: k, compression: theta } = summary.config;
  body.push(text(width / 2, 32, `${summary.variant} (L = ${summary.depth}, k = ${k}, θ = ${theta}): transition layers between dense blocks`, { size: 19, weight: 'bold' }));
  const mid = 170;
  const gap = 18;
  const widths = stages.map((s) => (s.kind === 'block' ? 170 : s.kind === 'transition' ? 120 : 110));
  const scale = (width - 40 - gap * (stages.length - 1)) / widths.reduce((a, b) => a + b, 0);
  let x = 20;
  const maxSide = Math.max(...stages.map((s) => s.inputShape[0] ?? 1));
  const positions: { x: number; w: number }[] = [];
  stages.forEach((stage, i) => {
    const w = widths[i] * scale;
    positions.push({ x, w });
    // Box height ∝ the spatial size of the maps it works on: the transitions halve it.
    const side = stage.kind === 'head' ? stage.inputShape[0] : stage.outputShape[0];
    const h = 50 + 110 * Math.sqrt((stage.kind === 'transition' ? stage.inputShape[0] : side) / maxSide);
    const fill = stage.kind === 'block' ? '#dbe9f6' : stage.kind === 'transition' ? '#fde2c8' : '#eeeeee';
    const stroke = stage.kind === 'transition' ? '#e6550d' : '#555';
    body.push(rect(x, mid - h / 2, w, h, fill, { stroke, rx: 8 }));
    const title = stage.kind === 'block' ? `Dense Block ${stage.name.replace('block', '')}` : stage.kind === 'transition' ? `Transition ${stage.name.replace('transition', '')}` : stage.kind === 'stem' ? 'Stem' : 'Classifier';
    body.push(text(x + w / 2, mid - 8, title, { size: 14, weight: 'bold' }));
    const detail =
      stage.kind === 'block'
        ? `${stage.layers} layers: ${stage.inputShape[2]}→${stage.outputShape[2]} ch`
        : stage.kind === 'transition'
          ? `${stage.inputShape[2]}→${stage.outputShape[2]} ch`
          : stage.kind === 'stem'
            ? `${shapeText(stage.inputShape)}→${stage.outputShape[2]} ch`
            : `GAP, FC → ${stage.outputShape[0]}`;
    body.push(text(x + w / 2, mid + 12, detail, { size: 12 }));
    const sizeNote = stage.kind === 'transition' ? `${stage.inputShape[0]}×${stage.inputShape[1]} → ${stage.outputShape[0]}×${stage.outputShape[1]}` : stage.kind === 'head' ? `${stage.inputShape[0]}×${stage.inputShape[1]}` : `${stage.outputShape[0]}×${stage.outputShape[1]}`;
    body.push(text(x + w / 2, mid + 30, sizeNote, { size: 12, color: '#555' }));
    if (i > 0) body.push(arrow(x - gap + 1, mid, x - 2, mid));
    x += w + gap;
  });
  // The first transition, opened up.
  const t = stages.findIndex((s) => s.kind === 'transition');
  if (t >= 0) {
    const stage = stages[t];
    const m = stage.inputShape[2];
    const out = stage.outputShape[2];
    const [h, w] = stage.inputShape;
    const conv = summary.layers.find((l) => l.stage === stage.name && l.kind === 'conv');
    const steps = [
      { label: 'BatchNorm', shape: `${h}×${w}×${m}` },
      { label: 'ReLU', shape: `${h}×${w}×${m}` },
      { label: `Conv 1×1, ${out} filters`, shape: `${h}×${w}×${out}` },
      { label: 'AvgPool 2×2, stride 2', shape: `${stage.outputShape[0]}×${stage.outputShape[1]}×${out}` },
    ];
    const top = 300;
    const boxW = 200;
    const startX = (width - steps.length * boxW - (steps.length - 1) * 40) / 2;
    const p = positions[t];
    body.push(`<path d="M${p.x},${mid + 85} L${startX - 20},${top - 14} M${p.x + p.w},${mid + 85} L${startX + steps.length * boxW + (steps.length - 1) * 40 + 20},${top - 14}" stroke="#e6550d" stroke-dasharray="5 4" fill="none"/>`);
    body.push(rect(startX - 20, top - 14, steps.length * boxW + (steps.length - 1) * 40 + 40, 90, '#fff7ef', { stroke: '#e6550d', rx: 10 }));
    steps.forEach((s, i) => {
      const bx = startX + i * (boxW + 40);
      body.push(rect(bx, top + 6, boxW, 56, '#fde2c8', { stroke: '#b35806', rx: 6 }));
      body.push(text(bx + boxW / 2, top + 30, s.label, { size: 14, weight: 'bold' }));
      body.push(text(bx + boxW / 2, top + 50, s.shape, { size: 13 }));
      if (i > 0) body.push(arrow(bx - 38, top + 34, bx - 2, top + 34));
    });
    body.push(
      text(width / 2, top + 100, `Compression: a block with m = ${m} maps is followed by ⌊θm⌋ = ⌊${theta}·${m}⌋ = ${out}; the pooling halves height and width. ${(conv?.trainableParams ?? 0).toLocaleString('en-US')} weights in the 1×1 conv.`, { size: 13 }),
    );
  }
  body.push(text(width / 2, 448, `Shapes and counts from cardlab’s analyzeDenseNet of ${summary.variant}-${summary.depth} (${summary.trainableParams.toLocaleString('en-US')} trainable parameters), the configuration its builder uses.`, { size: 12, color: '#777', italic: true }));
  return svg(width, 462, body);
}

export interface MemoryLayout {
  /** Channels each layer reads (its concatenation). */
  reads: number[];
  /** Channels a layer's intermediate tensors have besides the concatenation (BN, ReLU of it; the bottleneck's 4k…). */
  growthRate: number;
  bottleneckWidth: number;
  /** Bytes of one channel (batch × height × width × 4). */
  bytesPerChannel: number;
  label: string;
}

/** What one layer keeps for the backward pass, in channels: naive (everything) and memory-efficient (its k new maps). */
export function keptChannels(layout: MemoryLayout, layer: number): { naive: number; efficient: number; temporary: number } {
  const m = layout.reads[layer];
  const b = layout.bottleneckWidth;
  const k = layout.growthRate;
  // naive: the concatenation, its BN and ReLU outputs, (the bottleneck's conv, BN, ReLU), the 3×3 conv's k maps
  const naive = 3 * m + (b > 0 ? 3 * b : 0) + k;
  // recomputed in the backward pass, one layer at a time: everything but the k new maps
  return { naive, efficient: k, temporary: naive - k };
}

/**
 * The memory-efficient implementation's shared storage (Pleiss et al. 2017): per layer of a dense
 * block, what the naive implementation keeps for the backward pass (the concatenation, BN and ReLU
 * outputs: quadratic in depth) against what the efficient one keeps (x₀ and each layer's k maps),
 * with the concatenation → BN → ReLU computed into one shared, reused storage and recomputed in the
 * backward pass. Sizes computed from the block's shapes.
 */
export function memoryEfficientDiagram(layout: MemoryLayout): string {
  const width = 1100;
  const n = layout.reads.length;
  const kept = layout.reads.map((_, i) => keptChannels(layout, i));
  const maxNaive = Math.max(...kept.map((c) => c.naive));
  const mb = (channels: number) => (channels * layout.bytesPerChannel) / 2 ** 20;
  const naiveTotal = kept.reduce((s, c) => s + c.naive, 0);
  const efficientTotal = layout.reads[0] + kept.reduce((s, c) => s + c.efficient, 0);
  const shared = Math.max(...kept.map((c) => c.temporary));
  const body: string[] = [];
  body.push(text(width / 2, 32, 'Memory-efficient DenseNet: shared storage instead of new tensors per layer', { size: 19, weight: 'bold' }));
  body.push(text(width / 2, 54, layout.label, { size: 13, color: '#555' }));
  const chartLeft = 90;
  const chartW = 660;
  const barW = chartW / n;
  const panel = (top: number, height: number, title: string, values: { color: string; value: number; dash?: boolean }[][], total: string) => {
    body.push(text(chartLeft, top - 10, title, { size: 15, weight: 'bold', anchor: 'start' }));
    body.push(`<line x1="${chartLeft}" y1="${top + height}" x2="${chartLeft + chartW}" y2="${top + height}" stroke="#999"/>`);
    values.forEach((stack, i) => {
      let y = top + height;
      for (const part of stack) {
        const h = (part.value / maxNaive) * height;
        y -= h;
        body.push(rect(chartLeft + i * barW + 2, y, barW - 4, h, part.color, { stroke: part.dash ? '#555' : '#fff', dash: part.dash }));
      }
    });
    body.push(text(chartLeft + chartW + 20, top + height / 2 + (top > 200 ? 70 : 0), total, { size: 14, anchor: 'start', weight: 'bold' }));
  };
  panel(
    100,
    170,
    'Naive: every layer allocates its own concatenation, BN and ReLU outputs, kept until the backward pass',
    kept.map((c) => [
      { color: '#d62728', value: c.naive - layout.growthRate },
      { color: '#1f77b4', value: layout.growthRate },
    ]),
    `kept: ${mb(naiveTotal).toFixed(0)} MB`,
  );
  panel(
    330,
    170,
    'Memory-efficient: only x₀ and each layer’s k new maps are kept; the rest uses one shared storage',
    kept.map((c) => [{ color: '#1f77b4', value: c.efficient }]),
    `kept: ${mb(efficientTotal).toFixed(0)} MB`,
  );
  // The shared storage: one buffer the size of the largest layer's temporaries, used by each layer in turn.
  const sharedH = (shared / maxNaive) * 170;
  body.push(rect(chartLeft, 500 - 4 - sharedH, chartW, sharedH, '#fbe3e3', { stroke: '#d62728', dash: true, rx: 4, opacity: 0.6 }));
  body.push(text(chartLeft + chartW / 2, 500 - sharedH / 2 - 6, 'one shared storage: concatenation → BN → ReLU of the current layer,', { size: 13, weight: 'bold' }));
  body.push(text(chartLeft + chartW / 2, 500 - sharedH / 2 + 12, 'overwritten by each layer in turn and recomputed in the backward pass', { size: 13, weight: 'bold' }));
  body.push(text(chartLeft + chartW + 20, 442, `+ ${mb(shared).toFixed(0)} MB shared`, { size: 14, anchor: 'start' }));
  for (let i = 0; i < n; i += Math.max(1, Math.floor(n / 8))) body.push(text(chartLeft + i * barW + barW / 2, 518, String(i + 1), { size: 11, color: '#555' }));
  body.push(text(chartLeft + chartW / 2, 536, 'layer ℓ of the dense block', { size: 13 }));
  // Legend
  body.push(rect(90, 552, 14, 14, '#d62728'), text(110, 564, 'concatenation [x₀…x_{ℓ−1}], BN and ReLU outputs (and the bottleneck’s 4k maps): recomputed in the backward pass', { size: 12, anchor: 'start' }));
  body.push(rect(90, 574, 14, 14, '#1f77b4'), text(110, 586, 'the layer’s k new maps x_ℓ: kept in both', { size: 12, anchor: 'start' }));
  body.push(text(width / 2, 614, 'Sizes computed from the block’s layer shapes (cardlab’s analyzeDenseNet), float32; cardlab’s memoryEfficient block (src/densenet/efficient.ts) keeps exactly the blue maps.', { size: 12, color: '#777', italic: true }));
  return svg(width, 628, body);
}
