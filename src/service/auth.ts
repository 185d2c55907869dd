import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import type { RoleLevel, ServiceAuthConfig } from '../config';
import { HttpError } from './errors';

/** Who is calling, and what they may do: `read` the cohort and explanations, or also `operate` (trigger runs). */
export interface Principal {
  /** The token's subject or the API key's name: logged, never a patient. */
  id: string;
  role: RoleLevel;
  via: 'jwt' | 'api-key';
}

const API_KEY_PREFIX = 'hfu_';

/**
 * The issuer's signing keys could not be fetched (JWKS endpoint unreachable, slow, not 200, not a key set): the
 * token may well be valid, so this is the service's problem (503, try again), not the caller's (401). Fails closed.
 */
export class IssuerKeysUnavailable extends HttpError {
  constructor(readonly reason: string) {
    super(503, "the token issuer's signing keys could not be fetched (service.auth.jwt.jwksUri): try again later");
    this.name = 'IssuerKeysUnavailable';
  }
}

/** A new API key and the hash to put in `service.auth.apiKeys` (the key itself is shown once, never stored). */
export function newApiKey(): { key: string; sha256: string } {
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { key, sha256: sha256Hex(key) };
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/**
 * Checks the `Authorization: Bearer ...` header: an API key (by its hash, compared in constant time) or a JWT
 * (signature against the issuer's JWKS, issuer, audience, expiry, algorithm). Any failure is a 401 that says what
 * was wrong with the credential, never more.
 */
export class Authenticator {
  private readonly jwks?: JWTVerifyGetKey;

  constructor(
    private readonly config: ServiceAuthConfig,
    options: { jwks?: JWTVerifyGetKey } = {}
  ) {
    if (config.jwt) {
      this.jwks = keysOrUnavailable(
        options.jwks ?? createRemoteJWKSet(new URL(config.jwt.jwksUri), { timeoutDuration: 5000 })
      );
    }
  }

  get configured(): boolean {
    return Boolean(this.config.jwt) || this.config.apiKeys.length > 0;
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    const token = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(authorization ?? '')?.[1];
    if (!token) {
      throw new HttpError(401, 'authentication required: Authorization: Bearer <token or API key>');
    }
    if (token.startsWith(API_KEY_PREFIX)) {
      return this.apiKey(token);
    }
    return this.jwt(token);
  }

  private apiKey(key: string): Principal {
    const hash = Buffer.from(sha256Hex(key), 'hex');
    const match = this.config.apiKeys.find((k) => timingSafeEqual(Buffer.from(k.sha256, 'hex'), hash));
    if (!match) {
      throw new HttpError(401, 'unknown API key');
    }
    return { id: `api-key:${match.name}`, role: match.role, via: 'api-key' };
  }

  private async jwt(token: string): Promise<Principal> {
    const jwt = this.config.jwt;
    if (!jwt || !this.jwks) {
      throw new HttpError(401, 'bearer tokens are not accepted here: use an API key');
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        issuer: jwt.issuer,
        audience: jwt.audience,
        algorithms: jwt.algorithms,
        clockTolerance: jwt.clockToleranceSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      if (err instanceof IssuerKeysUnavailable) {
        throw err;
      }
      throw new HttpError(401, `invalid token: ${tokenProblem(err)}`);
    }
    const roles = rolesOf(payload[jwt.rolesClaim]);
    const role: RoleLevel | undefined = roles.includes(jwt.operateRole)
      ? 'operate'
      : roles.includes(jwt.readRole)
        ? 'read'
        : undefined;
    if (!role) {
      throw new HttpError(403, `the token carries neither ${jwt.readRole} nor ${jwt.operateRole}`);
    }
    return { id: `jwt:${payload.sub ?? 'unknown'}`, role, via: 'jwt' };
  }
}

/**
 * The key set, with a failure to fetch it told apart from a token that names no key in it: only "no matching key"
 * (or several) is about the token; anything else (connection refused, timeout, not 200, not a JWKS) is the issuer's.
 */
function keysOrUnavailable(jwks: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await jwks(header, token);
    } catch (err) {
      if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys) {
        throw err;
      }
      throw new IssuerKeysUnavailable((err as { code?: string }).code ?? (err as Error).name ?? 'error');
    }
  };
}

function rolesOf(claim: unknown): string[] {
  if (Array.isArray(claim)) {
    return claim.filter((r): r is string => typeof r === 'string');
  }
  return typeof claim === 'string' ? claim.split(/\s+/) : [];
}

/** What was wrong with a token, in words safe to send back (jose's codes, not its messages). */
function tokenProblem(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) {
    return 'expired';
  }
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    return `claim ${err.claim} is not as required`;
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JWKSNoMatchingKey) {
    return 'signature does not verify against the issuer keys';
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) {
    return 'algorithm not allowed';
  }
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JOSEError) {
    return err.code;
  }
  return 'malformed';
}

/** Whether a principal's role covers what a route needs. */
export function allows(principal: Principal, needed: RoleLevel): boolean {
  return needed === 'read' || principal.role === 'operate';
}
