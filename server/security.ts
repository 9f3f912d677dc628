/**
 * What keeps the server to its user: a token when it listens beyond loopback (printed at start, as
 * Jupyter does), a Host check against DNS rebinding when it listens on loopback, JSON-only POSTs (a
 * cross-site form cannot send them), and headers that let no script in but the page's own.
 */
import { timingSafeEqual } from 'crypto';
import type { RequestHandler } from 'express';
import { HttpError } from './errors';
import { isLoopback } from './config';

const COOKIE = 'cardlab_token';

function sameSecret(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieToken(header: string | undefined): string | null {
  for (const part of (header ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === COOKIE) return decodeURIComponent(value.join('='));
  }
  return null;
}

/** `?token=` (then a cookie, and the URL without it), `Authorization: token …` / `Bearer …`, or the cookie. */
export function requireToken(token: string | null): RequestHandler {
  return (req, res, next) => {
    if (token === null) return next();
    const query = typeof req.query.token === 'string' ? req.query.token : null;
    if (query !== null && sameSecret(query, token)) {
      res.cookie(COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/' });
      if (req.method === 'GET' && !req.path.startsWith('/api/')) {
        const url = new URL(req.originalUrl, 'http://x');
        url.searchParams.delete('token');
        return res.redirect(302, url.pathname + url.search);
      }
      return next();
    }
    const auth = /^(?:token|bearer)\s+(.+)$/i.exec(req.get('authorization') ?? '')?.[1] ?? null;
    const given = auth ?? cookieToken(req.get('cookie'));
    if (given !== null && sameSecret(given, token)) return next();
    next(new HttpError(401, 'this server needs its token: open the URL with ?token=… printed when it started'));
  };
}

/** On loopback, only requests addressed to a loopback name are served (no DNS rebinding). */
export function checkHost(boundHost: string): RequestHandler {
  return (req, _res, next) => {
    if (!isLoopback(boundHost)) return next();
    const host = (req.get('host') ?? '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    if (isLoopback(host)) return next();
    next(new HttpError(403, `requests for host "${host}" are not served; use http://127.0.0.1`));
  };
}

/**
 * A POST that says where it comes from must come from this server's own page (browsers send
 * `Origin` with every cross-origin POST, forms included), and a POST body must be JSON. Clients
 * that are not browsers send no Origin; a POST without a body (undo) needs no content type.
 */
export const sameOriginJsonPosts: RequestHandler = (req, _res, next) => {
  if (req.method !== 'POST') return next();
  const origin = req.get('origin');
  if (origin !== undefined) {
    let host: string | null = null;
    try {
      host = new URL(origin).host;
    } catch {
      host = null; // `null` (sandboxed or privacy-stripped origins) or garbage
    }
    if (host !== req.get('host')) return next(new HttpError(403, `cross-origin requests (from ${origin}) are not accepted`));
  }
  const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
  if (!hasBody || req.is('application/json')) return next();
  next(new HttpError(415, 'POST bodies must be application/json'));
};

/**
 * The page runs its own scripts only: deck content is escaped by the renderer, and even HTML a demo
 * displays cannot run inline script or event handlers. KaTeX and plotly need inline styles.
 */
export const securityHeaders: RequestHandler = (_req, res, next) => {
  res.set({
    'Content-Security-Policy':
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
      "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Resource-Policy': 'same-origin',
  });
  next();
};
