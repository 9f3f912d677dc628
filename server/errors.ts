/** Errors as JSON with a fitting status: `{ error: { status, message, details? } }`. */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { z } from 'zod';
import { DeckConflictError, DeckEncodingError } from '../src/cards/deck-file';
import { CardNotFoundError } from '../src/cards/review';
import { PasswordCheckBusyError } from './accounts';
import { WriteBackError } from '../src/cards/write';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new HttpError(404, `${what} not found`);

/** Parses `value` with `schema`, or throws a 400 listing what is wrong. */
export function validate<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  throw new HttpError(400, `invalid ${what}: ${issues.map((i) => (i.path ? `${i.path}: ` : '') + i.message).join('; ')}`, issues);
}

export const notFoundHandler: RequestHandler = (req, _res, next) => next(new HttpError(404, `no such route: ${req.method} ${req.path}`));

export const errorHandler: ErrorRequestHandler = (err, _req, res, _next) => {
  let status = 500;
  let message = 'internal error';
  let details: unknown;
  if (err instanceof HttpError) {
    ({ status, message, details } = err);
  } else if (err instanceof CardNotFoundError) {
    // The card changed or vanished on disk since it was shown: nothing was written.
    status = 409;
    message = err.message;
  } else if (err instanceof WriteBackError || err instanceof DeckEncodingError || err instanceof DeckConflictError) {
    status = 409;
    message = err.message;
  } else if (err instanceof PasswordCheckBusyError) {
    status = 503;
    message = err.message;
  } else if (typeof err?.status === 'number' && err.status >= 400 && err.status < 500) {
    // body-parser: 413 too large, 400 malformed JSON, 415 unsupported charset.
    status = err.status;
    message = err.type === 'entity.too.large' ? `request body larger than the limit (${err.limit} bytes)` : err.message;
  } else {
    console.error(err);
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(status).json({ error: { status, message, ...(details === undefined ? {} : { details }) } });
};
