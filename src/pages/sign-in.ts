import type { NextFunction, Request, Response } from 'express';
import { Router } from 'express';
import * as oidc from 'openid-client';
import type { Config, ServiceUiConfig, WorkforceMember } from '../config';
import { loggableError } from '../errors';
import type { Logger } from '../logging';
import { ROLES } from '../vocabulary';
import { PageError } from './errors';
import type { Session, SessionStore, SessionUser } from './sessions';
import { requireCsrfToken } from './sessions';
import type { Views } from './views';

export const SIGN_IN_PATH = '/mdt/auth/sign-in';
export const CALLBACK_PATH = '/mdt/auth/callback';
export const SIGN_OUT_PATH = '/mdt/auth/sign-out';
const SIGNED_OUT_PATH = '/mdt/auth/signed-out';
const NO_ACCESS_PATH = '/mdt/auth/no-access';
const HOME = '/mdt/worklist';

/** Someone to sign in as with the development sign-in. */
export interface DevelopmentUser extends SessionUser {
  description: string;
}

type Role = SessionUser['role'];
/** When claims give several roles, the widest wins. */
const ROLE_ORDER: Role[] = ['lead', 'mdt', 'viewer'];

/**
 * Sign-in routes: OpenID Connect (authorisation code with PKCE) when `service.ui.oidc` is configured, else the
 * development sign-in, a list of people to be (the service refuses that set-up off loopback; see index.ts).
 */
export function signInRoutes(config: Config, store: SessionStore, views: Views, logger: Logger): Router {
  const ui = config.service.ui;
  return ui.oidc
    ? issuerRoutes(ui, ui.oidc, config.allocation.workforce, store, views, logger)
    : developmentRoutes(config, store, views);
}

/** Sends a signed-out browser to sign in (a GET comes back where it was going afterwards); refuses anything else. */
export function requireUser(req: Request, res: Response, next: NextFunction): void {
  const session = res.locals.session as Session;
  if (session.user) {
    res.locals.user = session.user;
    next();
  } else if (req.method === 'GET') {
    res.redirect(303, `${SIGN_IN_PATH}?returnTo=${encodeURIComponent(req.originalUrl)}`);
  } else {
    next(new PageError(401, 'You have been signed out', 'Sign in again, then make your change again.'));
  }
}

/** Lets through only users holding one of the roles (403 for the others). */
export function requireRole(...roles: Role[]) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    const user = res.locals.user as SessionUser;
    next(
      roles.includes(user.role) ? undefined : new PageError(403, 'You cannot do this', 'Your role does not allow it.')
    );
  };
}

function issuerRoutes(
  ui: ServiceUiConfig,
  settings: NonNullable<ServiceUiConfig['oidc']>,
  workforce: readonly WorkforceMember[],
  store: SessionStore,
  views: Views,
  logger: Logger
): Router {
  const publicUrl = (ui.publicUrl as string).replace(/\/$/, '');
  const redirectUri = `${publicUrl}${CALLBACK_PATH}`;
  const issuer = new URL(settings.issuer);
  // Discovered at the first sign-in, not at start-up: an issuer that is down must not stop the API; a failure is
  // tried again next time.
  let discovered: Promise<oidc.Configuration> | undefined;
  const configuration = (): Promise<oidc.Configuration> =>
    (discovered ??= oidc
      .discovery(
        issuer,
        settings.clientId,
        settings.clientSecret,
        settings.clientSecret ? oidc.ClientSecretBasic(settings.clientSecret) : oidc.None(),
        isLoopbackHttp(issuer) ? { execute: [oidc.allowInsecureRequests] } : undefined
      )
      .catch((err: unknown) => {
        discovered = undefined;
        throw err;
      }));

  const router = Router();
  router.get(SIGN_IN_PATH, async (req, res, next) => {
    try {
      const session = res.locals.session as Session;
      const codeVerifier = oidc.randomPKCECodeVerifier();
      session.signIn = {
        state: oidc.randomState(),
        nonce: oidc.randomNonce(),
        codeVerifier,
        returnTo: safeReturn(req.query.returnTo),
      };
      const url = oidc.buildAuthorizationUrl(await configuration(), {
        redirect_uri: redirectUri,
        scope: settings.scopes,
        code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state: session.signIn.state,
        nonce: session.signIn.nonce,
      });
      res.redirect(303, url.href);
    } catch (err) {
      next(issuerUnavailable(err, logger));
    }
  });

  router.get(CALLBACK_PATH, async (req, res, next) => {
    const session = res.locals.session as Session;
    const pending = session.signIn;
    if (!pending) {
      next(new PageError(400, 'Sign-in did not finish', 'Sign in again from the start.'));
      return;
    }
    try {
      const config = await configuration();
      const tokens = await oidc.authorizationCodeGrant(config, new URL(req.originalUrl, publicUrl), {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const idClaims = tokens.claims() as Record<string, unknown>;
      const claims = needsUserinfo(idClaims, settings)
        ? { ...(await oidc.fetchUserInfo(config, tokens.access_token, idClaims.sub as string)), ...idClaims }
        : idClaims;
      const user = userFromClaims(claims, ui, issuer.href, workforce);
      const fresh = store.renew(res, session);
      if (!user) {
        // Signed in at the issuer, refused here: kept signed out, with the ID token for signing out there.
        fresh.idToken = tokens.id_token;
        logger.info('sign-in refused: no workspace role');
        res.redirect(303, NO_ACCESS_PATH);
        return;
      }
      fresh.user = user;
      fresh.idToken = tokens.id_token;
      logger.info('signed in', { role: user.role });
      res.redirect(303, pending.returnTo);
    } catch (err) {
      logger.warn('sign-in failed', loggableError(err));
      next(new PageError(400, 'Sign-in did not finish', 'Sign in again from the start.'));
    }
  });

  router.get(SIGN_OUT_PATH, async (_req, res) => {
    const session = res.locals.session as Session;
    const idToken = session.idToken;
    store.end(res, session);
    const config = await configuration().catch(() => undefined);
    if (config?.serverMetadata().end_session_endpoint) {
      const url = oidc.buildEndSessionUrl(config, {
        post_logout_redirect_uri: `${publicUrl}${SIGNED_OUT_PATH}`,
        ...(idToken ? { id_token_hint: idToken } : {}),
      });
      res.redirect(303, url.href);
    } else {
      res.redirect(303, SIGNED_OUT_PATH);
    }
  });
  router.get(NO_ACCESS_PATH, (_req, res) => {
    res.status(403).send(views.render('no-access.njk', res.locals));
  });
  router.get(SIGNED_OUT_PATH, (_req, res) => res.send(views.render('signed-out.njk', res.locals)));
  return router;
}

function developmentRoutes(config: Config, store: SessionStore, views: Views): Router {
  const users = developmentUsers(config);
  const userItems = users.map((u) => ({ value: u.subject, text: u.name, hint: { text: u.description } }));
  const router = Router();
  router.get(SIGN_IN_PATH, (req, res) => {
    res.send(views.render('dev-sign-in.njk', res.locals, { userItems, returnTo: safeReturn(req.query.returnTo) }));
  });
  router.post(SIGN_IN_PATH, requireCsrfToken, (req, res) => {
    const body = req.body as Record<string, unknown>;
    const user = users.find((u) => u.subject === body.subject);
    if (!user) {
      res.status(400).send(
        views.render('dev-sign-in.njk', res.locals, {
          userItems,
          returnTo: safeReturn(body.returnTo),
          error: 'Choose who to sign in as',
        })
      );
      return;
    }
    const { description: _description, ...sessionUser } = user;
    store.renew(res, res.locals.session as Session).user = sessionUser;
    res.redirect(303, safeReturn(body.returnTo));
  });
  router.get(SIGN_OUT_PATH, (_req, res) => {
    store.end(res, res.locals.session as Session);
    res.redirect(303, SIGNED_OUT_PATH);
  });
  router.get(SIGNED_OUT_PATH, (_req, res) => res.send(views.render('signed-out.njk', res.locals)));
  return router;
}

const DEV_SYSTEM = 'https://fhir.hfu-connector.org/Id/development-user';

/** The configured workforce members (each an MDT member acting as themselves), then one demo user per role. */
export function developmentUsers(config: Config): DevelopmentUser[] {
  const workforce = config.allocation.workforce.map((member): DevelopmentUser => ({
    subject: member.reference,
    name: `${ROLES[member.role].display} (${member.reference})`,
    role: 'mdt',
    description: `A configured workforce member: reviews and decides, caseload of ${member.caseload}`,
    agent: { reference: member.reference, display: ROLES[member.role].display },
  }));
  const demo = (role: Role, name: string, description: string): DevelopmentUser => ({
    subject: `demo-${role}`,
    name,
    role,
    description,
    agent: { identifier: { system: DEV_SYSTEM, value: `demo-${role}` }, display: name },
  });
  return [
    ...workforce,
    demo('mdt', 'Demo MDT member', 'Reviews the worklist and decides'),
    demo('lead', 'Demo clinical lead', 'Decides, sees every practice and can start a refresh'),
    demo('viewer', 'Demo viewer', 'Reads only'),
  ];
}

/** The user the claims describe, or undefined when none of their claim values gives a workspace role. */
export function userFromClaims(
  claims: Record<string, unknown>,
  ui: ServiceUiConfig,
  issuer: string,
  workforce: readonly WorkforceMember[] = []
): SessionUser | undefined {
  const settings = ui.oidc;
  const values = new Set(claimStrings(claims[settings?.roleClaim ?? 'roles']));
  const role = ROLE_ORDER.find((r) => ui.roles[r].some((v) => values.has(v)));
  const subject = typeof claims.sub === 'string' ? claims.sub : undefined;
  if (!role || !subject) {
    return undefined;
  }
  const name = typeof claims.name === 'string' ? claims.name : subject;
  const practices = settings?.practiceClaim ? claimStrings(claims[settings.practiceClaim], 'org_code') : undefined;
  return {
    subject,
    name,
    role,
    // A lead sees every practice of the PCN; a practice claim limits the others.
    ...(practices && role !== 'lead' ? { practices } : {}),
    agent: { ...memberReference(workforce, subject), identifier: { system: issuer, value: subject }, display: name },
  };
}

/** The workforce member whose caseload this person works (`signInSubjects`), as the reference they act as. */
function memberReference(workforce: readonly WorkforceMember[], subject: string): { reference?: string } {
  const member = workforce.find((m) => m.signInSubjects?.includes(subject));
  return member ? { reference: member.reference } : {};
}

/**
 * A claim as strings: an array of strings, or one string (space-separated values, as `scope` is). CIS2's
 * `nhsid_nrbac_roles` is an array of role objects: each gives the parts of its `role_code` (`S8000:G8000:R8000`)
 * as roles and its `org_code` (the ODS code) as a practice.
 */
function claimStrings(value: unknown, field: 'role_code' | 'org_code' = 'role_code'): string[] {
  if (typeof value === 'string') {
    return value.split(/\s+/).filter(Boolean);
  }
  if (!Array.isArray(value)) {
    return [];
  }
  return value.flatMap((v: unknown) => {
    if (typeof v === 'string') {
      return [v];
    }
    const code = v && typeof v === 'object' ? (v as Record<string, unknown>)[field] : undefined;
    return typeof code === 'string' ? (field === 'role_code' ? code.split(':') : [code]) : [];
  });
}

function needsUserinfo(claims: Record<string, unknown>, settings: NonNullable<ServiceUiConfig['oidc']>): boolean {
  return claims[settings.roleClaim] === undefined || (!!settings.practiceClaim && !(settings.practiceClaim in claims));
}

/** Only a path inside the workspace: never another site (an open redirect). */
function safeReturn(value: unknown): string {
  return typeof value === 'string' && /^\/mdt\/[^/\\]/.test(value) && !value.startsWith('/mdt/auth/') ? value : HOME;
}

export function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && isLoopbackHost(url.hostname);
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

function issuerUnavailable(err: unknown, logger: Logger): PageError {
  logger.warn('sign-in issuer unavailable', loggableError(err));
  return new PageError(503, 'Sign-in is not available', 'The sign-in service could not be reached. Try again later.');
}
