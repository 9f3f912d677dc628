/**
 * Shows one of the deck's pictures in a notebook, drawn by the same code as `cardlab figures`:
 * `await showDeckFigure('densenet-architecture.png')`. An SVG diagram goes out as image/svg+xml, the
 * architecture table as HTML, a chart as a plotly figure with its table fallback.
 */
import { displayBundle } from '../cells/display';
import { showFigure } from '../viz/fallback';
import { DECK_FIGURES } from './deck-figures';

export async function showDeckFigure(file: string): Promise<void> {
  const figure = DECK_FIGURES.find((f) => f.file === file);
  if (!figure) throw new Error(`no deck figure ${file}; the figures are ${DECK_FIGURES.map((f) => f.file).join(', ')}`);
  const content = await figure.make();
  const caption = `${figure.file}: ${figure.shows} (numbers: ${figure.source})`;
  if (content.kind === 'svg') displayBundle({ 'image/svg+xml': content.svg, 'text/plain': caption });
  else if (content.kind === 'html') displayBundle({ 'text/html': `<style>${content.css ?? ''}</style>${content.html}`, 'text/plain': caption });
  else showFigure(content.figure);
}
