import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { PageError } from './errors';

/** Who a signed-in user is, as the pages need it (the workspace's user plus what sign-out needs). */
export interface SessionUser {
  subject: string;
  name: string;
  role: 'mdt' | 'lead' | 'viewer';
  /** ODS codes the user is limited to; absent: every practice in scope. */
  practices?: string[];
  /** The FHIR reference or identifier recorded as the author of decisions. */
  agent: { reference?: string; identifier?: { system: string; value: string }; display?: string };
}

/** What one browser's session holds. Signed-out sessions exist too: they carry the CSRF token and sign-in state. */
export interface Session {
  id: string;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  user?: SessionUser;
  /** Set when signed in with an issuer: the ID token, for sign-out at the issuer. */
  idToken?: string;
  /** Between the redirect to the issuer and the callback. */
  signIn?: { state: string; nonce: string; codeVerifier: string; returnTo: string };
}

export interface SessionOptions {
  idleMinutes: number;
  maxHours: number;
  /** Secure cookies: everywhere but development on a loopback http address. */
  secure: boolean;
  now?: () => number;
  /** Sessions held at most: beyond it the oldest signed-out ones go first (a flood of visits cannot fill memory). */
  limit?: number;
}

const SESSION_LIMIT = 50_000;

export const SESSION_COOKIE = 'hfu_mdt_session';

/**
 * Sessions kept in this process's memory, named by a random id in a signed, HttpOnly, SameSite=Lax cookie. A session
 * ends after `idleMinutes` without a request, or `maxHours` after it began, whichever is first. Several instances
 * behind a load balancer each have their own sessions (sticky sessions needed), and a restart signs everyone out.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly key = randomBytes(32);
  private readonly now: () => number;

  constructor(private readonly options: SessionOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Middleware: `res.locals.session` is this browser's live session, created (signed out) when there is none. */
  middleware() {
    return (req: Request, res: Response, next: NextFunction): void => {
      const existing = this.find(req.get('cookie'));
      const session = existing ?? this.create(res);
      session.lastSeenAt = this.now();
      res.locals.session = session;
      next();
    };
  }

  /** A fresh session id and CSRF token, keeping nothing of the old session: on sign-in (no fixation) and sign-out. */
  renew(res: Response, old: Session): Session {
    this.sessions.delete(old.id);
    const session = this.create(res);
    res.locals.session = session;
    return session;
  }

  end(res: Response, session: Session): void {
    this.sessions.delete(session.id);
    dropCookie(res);
    res.clearCookie(SESSION_COOKIE, this.cookieOptions());
  }

  private create(res: Response): Session {
    this.sweep();
    const now = this.now();
    const session: Session = { id: token(), csrfToken: token(), createdAt: now, lastSeenAt: now };
    this.sessions.set(session.id, session);
    dropCookie(res);
    res.cookie(SESSION_COOKIE, `${session.id}.${this.sign(session.id)}`, this.cookieOptions());
    return session;
  }

  private find(cookieHeader: string | undefined): Session | undefined {
    const value = readCookie(cookieHeader, SESSION_COOKIE);
    const [id, signature] = value?.split('.') ?? [];
    if (!id || !signature || !equal(signature, this.sign(id))) {
      return undefined;
    }
    const session = this.sessions.get(id);
    if (session && this.expired(session)) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  private expired(session: Session): boolean {
    const now = this.now();
    return (
      now - session.lastSeenAt > this.options.idleMinutes * 60_000 ||
      now - session.createdAt > this.options.maxHours * 3_600_000
    );
  }

  /**
   * Drops expired sessions, so that a store no one signs out of does not grow without bound; over the limit, the
   * oldest signed-out sessions (a visit that never signed in), then the oldest of all.
   */
  private sweep(): void {
    const limit = this.options.limit ?? SESSION_LIMIT;
    for (const session of this.sessions.values()) {
      if (this.expired(session) || (this.sessions.size >= limit && !session.user)) {
        this.sessions.delete(session.id);
      }
    }
    for (const id of this.sessions.keys()) {
      if (this.sessions.size < limit) {
        break;
      }
      this.sessions.delete(id);
    }
  }

  private sign(id: string): string {
    return createHmac('sha256', this.key).update(id).digest('base64url');
  }

  private cookieOptions() {
    return { httpOnly: true, secure: this.options.secure, sameSite: 'lax', path: '/' } as const;
  }
}

/**
 * Middleware for every form POST: the body's `_csrf` must be the session's token, else 403 before anything runs.
 * SameSite=Lax already keeps other sites' POSTs from carrying the cookie; the token covers older browsers and
 * same-site attackers.
 */
export function requireCsrfToken(req: Request, res: Response, next: NextFunction): void {
  const session = res.locals.session as Session;
  const sent = (req.body as Record<string, unknown> | undefined)?._csrf;
  if (typeof sent === 'string' && equal(sent, session.csrfToken)) {
    next();
    return;
  }
  next(new PageError(403, 'The form had expired', 'Go back, reload the page and try again.'));
}

/** Takes back a session cookie already set on this response (a renewal replaces it, never adds a second). */
function dropCookie(res: Response): void {
  const set = res.getHeader('Set-Cookie');
  const kept = (Array.isArray(set) ? set : set === undefined ? [] : [String(set)]).filter(
    (c) => !c.startsWith(`${SESSION_COOKIE}=`)
  );
  if (kept.length) {
    res.setHeader('Set-Cookie', kept);
  } else {
    res.removeHeader('Set-Cookie');
  }
}

function token(): string {
  return randomBytes(32).toString('base64url');
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) {
      return decodeURIComponent(value.join('='));
    }
  }
  return undefined;
}
