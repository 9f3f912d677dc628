/**
 * The page and what it loads, all from this machine: server/public, KaTeX's CSS and fonts,
 * highlight.js's theme, plotly.js, and the decks' images. Each route serves one folder (or one
 * file) and nothing above it: `..`, encoded or not, and dot files fall through to a 404.
 */
import fs from 'fs';
import path from 'path';
import express, { type Router } from 'express';
import { PROJECT_ROOT } from '../src/cells/runner';
import { resolveAttachment } from '../src/cards/attachments';
import { HttpError } from './errors';

export const PUBLIC_DIR = path.join(PROJECT_ROOT, 'server', 'public');

function packageDir(name: string): string {
  return path.dirname(require.resolve(`${name}/package.json`, { paths: [PROJECT_ROOT] }));
}

const folder = (dir: string) =>
  express.static(dir, { dotfiles: 'ignore', fallthrough: true, redirect: false, index: false, maxAge: '1h' });

/** The cards folder with symlinks resolved (what resolveAttachment's real paths are relative to). */
function realRoot(dir: string): string {
  try {
    return fs.realpathSync(dir);
  } catch {
    return dir;
  }
}

const IMAGE = /^[^/\\]+\.(png|jpe?g|gif|svg|webp|avif|bmp|apng)$/i;

export function staticRoutes(cardsDir: string): Router {
  const router = express.Router();
  router.get(['/', '/index.html'], (_req, res) => res.sendFile('index.html', { root: PUBLIC_DIR }));
  router.use('/vendor/katex', folder(path.join(packageDir('katex'), 'dist')));
  router.get('/vendor/plotly.min.js', (_req, res) => res.sendFile(path.join(packageDir('plotly.js-dist-min'), 'plotly.min.js')));
  router.get('/vendor/highlight.css', (_req, res) => res.sendFile(path.join(packageDir('highlight.js'), 'styles', 'github.min.css')));
  // The page loads this one instead when the system is in dark mode.
  router.get('/vendor/highlight-dark.css', (_req, res) => res.sendFile(path.join(packageDir('highlight.js'), 'styles', 'github-dark.min.css')));
  // Images a card embeds (`![[figure.png]]`): a plain file name whose real path (symlinks resolved)
  // is a file inside the cards folder; a link out of it is "not found", like a missing file.
  router.get('/attachments/:name', (req, res, next) => {
    const name = String(req.params.name);
    const real = IMAGE.test(name) ? resolveAttachment(cardsDir, name) : null;
    if (real === null) return next(new HttpError(404, 'attachment not found'));
    const root = realRoot(cardsDir);
    res.sendFile(path.relative(root, real), { root, dotfiles: 'deny' }, (err) => {
      if (err) next(new HttpError(404, 'attachment not found'));
    });
  });
  router.use(folder(PUBLIC_DIR));
  return router;
}
