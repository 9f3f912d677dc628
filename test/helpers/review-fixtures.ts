/**
 * The deck and notebook the page's browser tests review: three overdue cards in a known order (a
 * cloze with a wiki link and linked demos, a card with a soft line break, a card with a long
 * answer), a subdeck by tag in another file, and demos that give the cloze's answer away in their
 * code, print a wide table, draw a chart with a long title and a legend placed below it, and run
 * until stopped.
 */
import { workspace, type Workspace } from './server-fixtures';

export const REVIEW_DECK = [
  '---',
  'tags: [flashcards]',
  '---',
  '# DenseNet',
  '',
  '## Forward Propagation',
  '',
  'If the previous layer had 3 channels and you generated 10 new output channels (10 is referred to as the ==growth rate==), you get 13 channels. See [[DenseNet#Composite]].',
  '<!--SR:!2020-01-01,10,250-->',
  '',
  '## Composite',
  '',
  '**Composite Layer**',
  'The Composite Layer ==takes the concatenated feature maps==.',
  '<!--SR:!2020-01-02,10,250-->',
  '',
  '## Long',
  '',
  'What is in a long answer?',
  '?',
  ...Array.from({ length: 40 }, (_v, i) => `answer line ${i + 1}`),
  '<!--SR:!2020-01-03,10,250-->',
  '',
].join('\n');

export const EXTRA_DECK = ['#flashcards/DenseNet/extra', '', 'What does θ control?::the compression of transition layers', ''].join('\n');

const WIDE_TABLE = `<table><tr>${Array.from({ length: 40 }, (_v, i) => `<td>column_${i}_value</td>`).join('')}</tr></table>`;

function demoNotebook(): object {
  const md = (text: string) => ({ cell_type: 'markdown', id: `md-${text.length}`, metadata: {}, source: text });
  const code = (source: string, i: number) => ({
    cell_type: 'code',
    execution_count: null,
    id: `code-${i}`,
    metadata: { cardlab: { cards: ['DenseNet#Forward Propagation'] } },
    outputs: [],
    source,
  });
  return {
    cells: [
      md('## Three composite layers, one at a time'),
      code("const k = 10; // growth rate: new maps per layer\nconsole.log('channels', 3 + k)", 1),
      md('## A wide table'),
      code(`import { displayBundle } from 'cardlab'\ndisplayBundle({ 'text/html': ${JSON.stringify(WIDE_TABLE)} })`, 3),
      md('## A chart with a legend'),
      code(
        "import { displayPlotly } from 'cardlab'\n" +
          "const x = [1, 2, 3, 4]\n" +
          "displayPlotly({ data: ['DenseNet-BC, k = 12', 'DenseNet, k = 12', 'ResNet, C = 256'].map((name, i) => ({ type: 'scatter', name, x, y: x.map((v) => v * (i + 1)) })),\n" +
          "  layout: { title: 'Parameters of the first layers against depth for three networks', xaxis: { title: 'layer (depth)' }, yaxis: { title: 'parameters' }, legend: { orientation: 'h', y: -0.2 } } })",
        5,
      ),
      md('## A slow run'),
      code("console.log('started')\nawait new Promise((resolve) => setTimeout(resolve, 120000))", 7),
    ],
    metadata: { kernelspec: { display_name: 'TypeScript', language: 'typescript', name: 'tslab' } },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

export function reviewWorkspace(extraDecks: Record<string, string> = {}): Workspace {
  return workspace({ 'DenseNet.md': REVIEW_DECK, 'Extra.md': EXTRA_DECK, ...extraDecks }, { 'densenet.ipynb': demoNotebook() });
}
