import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import type { z } from 'zod';
import { withLogContext } from '../logging';
import type { ApiContext, Route } from './api';
import { checkSubscriptionSecret, ROUTES } from './api';
import type { Authenticator, Principal } from './auth';
import { allows } from './auth';
import { errorHandler, HttpError, sendError } from './errors';

/**
 * The service's HTTP API. Every route but the probes and metrics needs a credential; requests are validated against
 * the same zod schemas the OpenAPI description is generated from; errors are JSON without stack traces; no CORS
 * headers are sent (browsers on other origins cannot call it); bodies are size-limited and the API rate-limited.
 */
export function createApp(ctx: ApiContext, authenticator: Authenticator): express.Express {
  const { config, logger } = ctx;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(helmet());
  app.use(requestContext(ctx));
  app.use(
    express.json({ limit: config.service.limits.bodyBytes, type: ['application/json', 'application/fhir+json'] })
  );
  const limiter = rateLimit({
    windowMs: 60_000,
    limit: config.service.limits.requestsPerMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (_req, res) => sendError(res, 429, 'too many requests: slow down'),
  });
  for (const route of ROUTES) {
    const middleware = route.access === 'public' ? [] : [limiter];
    app[route.method](route.path, ...middleware, handler(ctx, authenticator, route));
  }
  app.use((_req, _res, next) => next(new HttpError(404, 'no such route (see /openapi.json)')));
  app.use(errorHandler(logger));
  return app;
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

function handler(ctx: ApiContext, authenticator: Authenticator, route: Route) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      await authorise(ctx, authenticator, route, req, res);
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

async function authorise(
  ctx: ApiContext,
  authenticator: Authenticator,
  route: Route,
  req: Request,
  res: Response
): Promise<void> {
  if (route.access === 'public') {
    return;
  }
  if (route.access === 'subscription') {
    checkSubscriptionSecret(ctx.config, req);
    return;
  }
  const principal = await authenticator.authenticate(req.get('authorization'));
  res.locals.principal = principal;
  if (!allows(principal, route.access)) {
    throw new HttpError(403, `this needs the ${route.access} role`);
  }
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
