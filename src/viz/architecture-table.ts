/**
 * The paper's Table 1 (DenseNet architectures for ImageNet) as an HTML table, written from the
 * analysis of the presets: output sizes from the layer shapes, block lengths from the configs,
 * parameter counts from `analyzeDenseNet` (the same as the built models and torchvision).
 */
import type { DenseNetSummary } from '../densenet/analytic';

function esc(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

const size = (shape: number[]) => `${shape[0]} × ${shape[1]}`;

export function architectureTable(models: { name: string; summary: DenseNetSummary }[]): string {
  if (models.length === 0) throw new Error('architectureTable: no models');
  const first = models[0].summary;
  const layerShape = (s: DenseNetSummary, name: string) => s.layers.find((l) => l.name === name)?.outputShape;
  const stemConv = layerShape(first, 'stem_conv')!;
  const stemPool = layerShape(first, 'stem_pool')!;
  const rows: string[][] = [];
  const cells = (f: (s: DenseNetSummary) => string) => models.map((m) => f(m.summary));
  const same = (f: (s: DenseNetSummary) => string) => {
    const values = cells(f);
    return values.every((v) => v === values[0]) ? [`<td colspan="${models.length}">${values[0]}</td>`] : values.map((v) => `<td>${v}</td>`);
  };
  rows.push(['Convolution', size(stemConv), ...same(() => '7 × 7 conv, stride 2')]);
  rows.push(['Pooling', size(stemPool), ...same(() => '3 × 3 max pool, stride 2')]);
  const blockCount = first.config.blocks.length;
  for (let b = 1; b <= blockCount; b++) {
    const block = (s: DenseNetSummary) => s.stages.find((st) => st.name === `block${b}`)!;
    const unit = first.config.bottleneck ? '[1 × 1 conv<br>3 × 3 conv]' : '[3 × 3 conv]';
    rows.push([`Dense Block (${b})`, size(block(first).outputShape), ...models.map((m) => `<td><span class="unit">${unit}</span> × ${block(m.summary).layers}</td>`)]);
    if (b < blockCount) {
      const t = (s: DenseNetSummary) => s.stages.find((st) => st.name === `transition${b}`)!;
      rows.push([`Transition Layer (${b})`, `${size(t(first).inputShape)}<br>${size(t(first).outputShape)}`, ...same(() => '1 × 1 conv<br>2 × 2 average pool, stride 2')]);
    }
  }
  const head = first.stages.find((st) => st.kind === 'head')!;
  rows.push(['Classification Layer', '1 × 1', ...same(() => `${size(head.inputShape)} global average pool<br>${head.outputShape[0]}D fully-connected, softmax`)]);
  rows.push(['Growth rate k', '', ...same((s) => String(s.config.growthRate))]);
  rows.push(['Parameters', '', ...models.map((m) => `<td>${m.summary.trainableParams.toLocaleString('en-US')}</td>`)]);

  const header = `<tr><th>Layers</th><th>Output Size</th>${models.map((m) => `<th>${esc(m.name)}</th>`).join('')}</tr>`;
  const body = rows.map(([label, out, ...rest]) => `<tr><th>${label}</th><td class="size">${out}</td>${rest.join('')}</tr>`).join('');
  return `<table class="cardlab-architecture">${header}${body}</table>`;
}

/** Styles for the table when it stands alone (the deck's picture). */
export const ARCHITECTURE_TABLE_CSS = `
table.cardlab-architecture { border-collapse: collapse; font: 15px 'DejaVu Sans', Helvetica, Arial, sans-serif; color: #222; }
.cardlab-architecture th, .cardlab-architecture td { border: 1px solid #999; padding: 7px 12px; text-align: center; vertical-align: middle; }
.cardlab-architecture tr:first-child th { background: #e8eef6; }
.cardlab-architecture tr > th:first-child { text-align: left; background: #f5f5f5; }
.cardlab-architecture td.size { white-space: nowrap; }
.cardlab-architecture .unit { display: inline-block; vertical-align: middle; border-left: 2px solid #444; border-right: 2px solid #444; padding: 0 6px; }
`;
