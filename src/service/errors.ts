import type { ErrorRequestHandler, Response } from 'express';
import { bodyRefusal, httpStatusOf, internalError, loggableError, OutcomeError, outcomeHeadline } from '../errors';
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
 * The service's error funnel, its last handler: every error becomes JSON `{"error": {status, message, ...}}`.
 * HttpError keeps its status and message, a refused body its status; the connector's own errors answer their
 * outcome's status and text (an unreachable FHIR endpoint 503, a timeout 504, an unusable answer 502, each naming
 * the request but never what the endpoint said), logged the same; anything else is a 500 whose name and stack
 * frames go to the log, never its message.
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
    if (err instanceof OutcomeError) {
      const outcome = err.toOutcome();
      const status = httpStatusOf(outcome);
      const message = outcomeHeadline(outcome);
      logger.error('request failed', { error: err.name, status, reason: message, ...err.callerDetails() });
      sendError(res, status, message, err.callerDetails());
      return;
    }
    const refused = bodyRefusal(err);
    if (refused) {
      const { status, type } = refused;
      sendError(
        res,
        status,
        type === 'entity.too.large' ? 'request body too large' : `bad request body (${type ?? 'unreadable'})`
      );
      return;
    }
    logger.error('request failed', loggableError(err));
    sendError(res, httpStatusOf(internalError), 'internal error');
  };
}
