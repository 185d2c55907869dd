import { readFileSync } from 'node:fs';
import express, { Router } from 'express';
import helmet from 'helmet';
import type { Config } from '../config';
import { ConfigError } from '../config';
import type { Logger } from '../logging';
import { notFound, pageErrors } from './errors';
import { isLoopbackHost, isLoopbackHttp, requireUser, SIGN_OUT_PATH, signInRoutes } from './sign-in';
import { SessionStore } from './sessions';
import { ASSETS_DIR, createViews, NHSUK_DIST } from './views';
import type { InsightsPages } from './insights-routes';
import { insightsRoutes } from './insights-routes';
import type { WorkspacePages } from './workspace-routes';
import { workspaceRoutes } from './workspace-routes';

export { developmentUsers, userFromClaims } from './sign-in';
export type { SessionUser } from './sessions';
export type { LastRun as LastRunSummary } from './view-models';
export type { WorkspaceApi, WorkspacePages } from './workspace-routes';
export type { InsightsPages, InsightsView } from './insights-routes';

export const SERVICE_NAME = 'MDT workspace';
export const WORKSPACE_HOME = '/mdt/worklist';

export interface PagesDeps extends WorkspacePages, InsightsPages {
  config: Config;
  logger: Logger;
  now?: () => number;
}

/**
 * Why the workspace cannot start as configured, or undefined when it can: an issuer needs the public URL its
 * redirect URI is built on, and the development sign-in (anyone may be anyone) is for a loopback address only.
 */
export function uiConfigProblem(config: Config): ConfigError | undefined {
  const ui = config.service.ui;
  if (!ui.enabled) {
    return undefined;
  }
  if (ui.oidc && !ui.publicUrl) {
    return new ConfigError('service', [
      'service.ui.publicUrl: required with service.ui.oidc (the redirect URI is <publicUrl>/mdt/auth/callback)',
    ]);
  }
  if (ui.oidc && ui.publicUrl && !ui.publicUrl.startsWith('https:') && !isLoopbackHttp(new URL(ui.publicUrl))) {
    return new ConfigError('service', [
      'service.ui.publicUrl: must be https (session cookies are Secure), unless on a loopback address',
    ]);
  }
  if (!ui.oidc && !isLoopbackHost(config.service.host)) {
    return new ConfigError('service', [
      `service.ui.oidc: the development sign-in works only on a loopback address and service.host is ${config.service.host}: configure an issuer (service.ui.oidc), or turn the pages off (service.ui.enabled: false)`,
    ]);
  }
  return undefined;
}

/** Whether this set-up signs people in with the development sign-in. */
export function usesDevelopmentSignIn(config: Config): boolean {
  return config.service.ui.enabled && !config.service.ui.oidc;
}

/**
 * The workspace's pages under /mdt/, one middleware per concern in this order: security headers, static files,
 * session, body, sign-in, the signed-in user, the pages, not found, one error page.
 */
export function createPages(deps: PagesDeps): Router {
  const { config, logger } = deps;
  const ui = config.service.ui;
  const development = usesDevelopmentSignIn(config);
  const views = createViews({
    serviceName: SERVICE_NAME,
    developmentSignIn: development,
    signOutPath: SIGN_OUT_PATH,
    assets: '/mdt/assets',
  });
  const store = new SessionStore({
    idleMinutes: ui.sessionIdleMinutes,
    maxHours: ui.sessionMaxHours,
    secure: !(development || (ui.publicUrl && isLoopbackHttp(new URL(ui.publicUrl)))),
    ...(deps.now ? { now: deps.now } : {}),
  });
  const router = Router();
  router.get(`/mdt/assets/nhsuk/${NHSUK_CSS}`, nhsukStylesheet());
  router.use('/mdt/assets/nhsuk', express.static(`${NHSUK_DIST}/nhsuk`, { maxAge: '1d', index: false }));
  router.use('/mdt/assets', express.static(ASSETS_DIR, { maxAge: '1h', index: false }));
  router.use('/mdt', securityHeaders(config));
  router.use('/mdt', store.middleware(), express.urlencoded({ extended: false, limit: '20kb', parameterLimit: 50 }));
  router.use('/mdt', (_req, res, next) => {
    res.locals.csrfToken = (res.locals.session as { csrfToken: string }).csrfToken;
    next();
  });
  router.use(signInRoutes(config, store, views, logger));
  router.use('/mdt', requireUser, workspaceRoutes(deps, views));
  router.use('/mdt', requireUser, insightsRoutes(deps, views));
  router.use('/mdt', (_req, _res, next) => next(notFound()));
  router.use('/mdt', pageErrors(views, logger));
  return router;
}

const NHSUK_CSS = 'nhsuk-frontend.min.css';

/**
 * NHS.UK frontend's stylesheet without its two @font-face rules, which load Frutiger from https://assets.nhs.uk.
 * The policy keeps `font-src 'self'` rather than allowing that origin: Frutiger needs the deploying organisation's
 * own licence from NHS England (not the software's to assume), a service on HSCN may not reach the internet, and
 * pages of patient data make no third-party requests. Without the rules the browser asks for nothing and the
 * policy refuses nothing; the font stack stays `"Frutiger W01", Arial, sans-serif`, so the text is in Arial, the
 * design system's fallback. Read once, on the first request.
 */
function nhsukStylesheet(): express.RequestHandler {
  let css: string | undefined;
  return (_req, res) => {
    css ??= readFileSync(`${NHSUK_DIST}/nhsuk/${NHSUK_CSS}`, 'utf8').replace(/@font-face\{[^}]*\}/g, '');
    res.type('text/css').set('Cache-Control', 'public, max-age=86400').send(css);
  };
}

/**
 * A content security policy with no inline script or style at all (the pages need none: NHS.UK frontend's script
 * is a file), forms only to this service and the issuer, no framing; and no page is stored by the browser or a proxy,
 * since nearly all show patient data.
 */
function securityHeaders(config: Config) {
  const issuer = config.service.ui.oidc?.issuer;
  const csp = helmet.contentSecurityPolicy({
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      fontSrc: ["'self'"],
      connectSrc: ["'self'"],
      formAction: ["'self'", ...(issuer ? [new URL(issuer).origin] : [])],
      frameAncestors: ["'none'"],
      baseUri: ["'self'"],
      objectSrc: ["'none'"],
    },
  });
  return [
    csp,
    (_req: express.Request, res: express.Response, next: express.NextFunction) => {
      res.setHeader('Cache-Control', 'no-store');
      next();
    },
  ];
}
