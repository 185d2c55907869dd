import type { ErrorRequestHandler } from 'express';
import { loggableError } from '../errors';
import type { Logger } from '../logging';
import type { Views } from './views';

/** A page the user should see instead of the one asked for: its status, heading and one plain-English line. */
export class PageError extends Error {
  constructor(
    readonly status: number,
    readonly heading: string,
    readonly detail: string
  ) {
    super(heading);
  }
}

export const notFound = (): PageError =>
  new PageError(404, 'Page not found', 'Check the address, or go back to the worklist.');

export const forbidden = (): PageError =>
  new PageError(403, 'You cannot see this page', 'Your role or your practices do not include it.');

/**
 * One error page for the workspace. A PageError is shown as it is; anything else is logged (its name only: a FHIR
 * server's error text may quote patient data) and shown as a plain 500.
 */
export function pageErrors(views: Views, logger: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    const error =
      err instanceof PageError
        ? err
        : isClientError(err)
          ? new PageError(err.status, 'The form could not be read', 'Go back, check what you entered and try again.')
          : new PageError(500, 'Sorry, there is a problem with the service', 'Try again later.');
    if (!(err instanceof PageError) && error.status >= 500) {
      logger.error('page failed', loggableError(err));
    }
    res.setHeader('Cache-Control', 'no-store');
    res.status(error.status).send(views.render('error.njk', res.locals, { error }));
  };
}

/** What the body parser refuses (a form too large, badly encoded): its 4xx status, never its message. */
function isClientError(err: unknown): err is { status: number } {
  const status = (err as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}
