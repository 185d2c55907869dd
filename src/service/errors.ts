import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from '../logging';

/** An error with the HTTP status and message the caller gets. Messages never carry patient data or stack traces. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: Record<string, unknown>
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function sendError(res: Response, status: number, message: string, details?: Record<string, unknown>): void {
  res.status(status).json({ error: { status, message, ...details } });
}

/**
 * The last handler: every error becomes JSON. Expected ones (HttpError, a body too large or not JSON) keep their
 * status and message; anything else is a 500 whose details go to the log, not to the caller.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    if (err instanceof HttpError) {
      sendError(res, err.status, err.message, err.details);
      return;
    }
    const status = (err as { status?: unknown }).status;
    const type = (err as { type?: unknown }).type;
    if (typeof status === 'number' && status >= 400 && status < 500 && typeof type === 'string') {
      // body-parser: entity.too.large, entity.parse.failed, encoding.unsupported, ...
      sendError(res, status, type === 'entity.too.large' ? 'request body too large' : `bad request body (${type})`);
      return;
    }
    // The name and the frames only: a third-party message may echo what it was given, over several lines.
    const frames = (err as Error)?.stack
      ?.split('\n')
      .filter((line) => /^\s+at /.test(line))
      .join('\n');
    logger.error('request failed', { error: (err as Error)?.name ?? 'unknown', frames });
    sendError(res, 500, 'internal error');
  };
}
