import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import express from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import type { z } from 'zod';
import { withLogContext } from '../logging';
import type { ApiContext, Route } from './api';
import { checkSubscriptionSecret, JSON_TYPES, ROUTES } from './api';
import type { Authenticator, Principal } from './auth';
import { allows, IssuerKeysUnavailable } from './auth';
import { errorHandler, HttpError, sendError } from './errors';

/**
 * The service's HTTP API. Every route but the probes and metrics needs a credential; requests are validated against
 * the same zod schemas the OpenAPI description is generated from; errors are JSON without stack traces; no CORS
 * headers are sent (browsers on other origins cannot call it); bodies are JSON only and size-limited; callers are
 * rate-limited by who they are, failed authentications by address, apart, so that failures never lock out a valid
 * caller sharing that address.
 */
export function createApp(ctx: ApiContext, authenticator: Authenticator, pages?: express.Router): express.Express {
  const { config, logger } = ctx;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.service.trustProxy);
  app.use(helmet());
  app.use(requestContext(ctx));
  const limits = rateLimits(config);
  const readBody = [jsonBodyOnly, express.json({ limit: config.service.limits.bodyBytes, type: JSON_TYPES })];
  for (const route of ROUTES) {
    const guard = route.access === 'public' ? [] : [identify(ctx, authenticator, route), ...limits, authorise(route)];
    app[route.method](route.path, ...guard, ...(route.body ? readBody : []), handler(ctx, route));
  }
  if (pages) {
    app.get('/', (_req, res) => res.redirect(302, '/mdt/worklist'));
    app.use(pages);
  }
  app.use((_req, _res, next) => next(new HttpError(404, 'no such route (see /openapi.json)')));
  app.use(clientErrors);
  app.use(errorHandler(logger));
  return app;
}

/** Who is calling (`caller`: the key or token subject), or why they could not be identified (`authFailure`). */
interface Identity {
  caller?: string;
  principal?: Principal;
  authFailure?: HttpError;
}

/**
 * Establishes the caller without answering yet: a failed authentication is answered after the failed-authentication
 * limit has counted it. The issuer's keys being unreachable is not the caller's failure: 503, logged, not counted.
 */
function identify(ctx: ApiContext, authenticator: Authenticator, route: Route) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    res.setHeader('Cache-Control', 'no-store');
    const identity = res.locals as Identity;
    try {
      if (route.access === 'subscription') {
        checkSubscriptionSecret(ctx.config, req);
        identity.caller = 'subscription';
      } else {
        identity.principal = await authenticator.authenticate(req.get('authorization'));
        identity.caller = identity.principal.id;
      }
    } catch (err) {
      if (err instanceof HttpError && (err.status === 401 || err.status === 403)) {
        identity.authFailure = err;
      } else {
        if (err instanceof IssuerKeysUnavailable) {
          ctx.logger.warn('token issuer keys could not be fetched', { reason: err.reason });
        }
        next(err);
        return;
      }
    }
    next();
  };
}

/** Failed authentications per client address; everything else per caller. Probes and metrics are never limited. */
function rateLimits(config: ApiContext['config']) {
  const common = { windowMs: 60_000, standardHeaders: 'draft-8', legacyHeaders: false } as const;
  const failedAuth = rateLimit({
    ...common,
    limit: config.service.limits.failedAuthPerMinute,
    skip: (_req, res) => !(res.locals as Identity).authFailure,
    keyGenerator: (req) => ipKeyGenerator(req.ip ?? 'unknown'),
    handler: (_req, res) => sendError(res, 429, 'too many failed authentications from this address: wait a minute'),
    // Behind a proxy without service.trustProxy every caller shares its address: only failures are limited by it.
    validate: { xForwardedForHeader: false },
  });
  const perCaller = rateLimit({
    ...common,
    limit: config.service.limits.requestsPerMinute,
    skip: (_req, res) => !(res.locals as Identity).caller,
    keyGenerator: (_req, res) => (res.locals as Identity).caller as string,
    handler: (_req, res) => sendError(res, 429, 'too many requests: slow down'),
  });
  return [failedAuth, perCaller];
}

/** Answers a failed authentication (once counted), or a caller without the role the route needs. */
function authorise(route: Route) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    const { authFailure, principal } = res.locals as Identity;
    if (authFailure) {
      next(authFailure);
    } else if (
      principal &&
      (route.access === 'read' || route.access === 'operate') &&
      !allows(principal, route.access)
    ) {
      next(new HttpError(403, `this needs the ${route.access} role`));
    } else {
      next();
    }
  };
}

/**
 * A body is JSON, uncompressed, or absent (an empty POST /runs is a run with the defaults): anything else is 415,
 * never read as if it were empty — a dry run sent as a form must not start a run that writes.
 */
function jsonBodyOnly(req: Request, _res: Response, next: NextFunction): void {
  const length = req.get('content-length');
  const hasBody = req.get('transfer-encoding') !== undefined || (length !== undefined && Number(length) !== 0);
  if (!hasBody) {
    next();
  } else if ((req.get('content-encoding') ?? 'identity').trim().toLowerCase() !== 'identity') {
    next(new HttpError(415, 'compressed bodies are not accepted: send the body without Content-Encoding'));
  } else if (!req.is(JSON_TYPES)) {
    next(new HttpError(415, 'the body must be JSON, sent with Content-Type: application/json'));
  } else {
    next();
  }
}

/** What the router refuses before a route runs: a path that is not valid percent-encoding (e.g. `%ff`) is 400. */
function clientErrors(err: unknown, _req: Request, _res: Response, next: NextFunction): void {
  next(err instanceof URIError ? new HttpError(400, 'the path is not valid percent-encoded UTF-8') : err);
}

/** A request id on the response and on every log line written while handling it; one access-log line per request. */
function requestContext(ctx: ApiContext) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const requestId = randomUUID();
    const started = performance.now();
    res.setHeader('X-Request-Id', requestId);
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      ctx.metrics.apiRequest(route, res.statusCode);
      withLogContext({ requestId }, () =>
        ctx.logger.info('request', {
          method: req.method,
          route,
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
          caller: (res.locals.principal as Principal | undefined)?.id,
        })
      );
    });
    withLogContext({ requestId }, next);
  };
}

function handler(ctx: ApiContext, route: Route) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      const input = {
        params: parse(route.params, req.params, 'path'),
        query: parse(route.query, req.query, 'query'),
        body: route.body ? parse(route.body, req.body ?? {}, 'body') : undefined,
        req,
      };
      await route.handle(ctx, input as Parameters<Route['handle']>[1], res);
    } catch (err) {
      next(err);
    }
  };
}

function parse(schema: z.ZodType | undefined, value: unknown, where: string): Record<string, unknown> {
  if (!schema) {
    return {};
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${[where, ...i.path].join('.')}: ${i.message}`);
    throw new HttpError(400, 'invalid request', { problems });
  }
  return result.data as Record<string, unknown>;
}
