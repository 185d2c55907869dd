import type { JsonWebKey, KeyObject } from 'node:crypto';
import { createPrivateKey, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import type { AuthConfig } from '../config';
import { ConfigError } from '../config';
import { FhirError } from './errors';

/** Supplies the `Authorization` header for requests to the FHIR origin (and only there: see HttpTransport). */
export interface AuthProvider {
  authorize(signal?: AbortSignal): Promise<string | undefined>;
  /** Forget the current credential after a 401; returns whether a fresh one can be obtained (worth a retry). */
  invalidate(): boolean;
}

export const noAuth: AuthProvider = {
  authorize: () => Promise.resolve(undefined),
  invalidate: () => false,
};

export function bearerAuth(token: string): AuthProvider {
  return { authorize: () => Promise.resolve(`Bearer ${token}`), invalidate: () => false };
}

export interface TokenResponse {
  access_token: string;
  token_type?: string;
  expires_in?: number;
}

/** Obtains a token from a token endpoint; the caller caches it. */
export type TokenFetcher = (signal?: AbortSignal) => Promise<TokenResponse>;

/** Tokens are renewed this long before they expire, so a request never leaves with a token about to lapse. */
export const TOKEN_REFRESH_MARGIN_MS = 60_000;
/** Lifetime assumed when the token endpoint does not say (`expires_in` is optional in RFC 6749). */
const DEFAULT_TOKEN_LIFETIME_S = 300;

/**
 * Caches a token until shortly before it expires; concurrent requests share one token request.
 */
export class CachedTokenAuth implements AuthProvider {
  private token?: { value: string; expiresAt: number };
  private pending?: Promise<string>;

  constructor(
    private readonly fetchToken: TokenFetcher,
    private readonly now: () => number = Date.now
  ) {}

  async authorize(signal?: AbortSignal): Promise<string> {
    if (this.token && this.now() < this.token.expiresAt - TOKEN_REFRESH_MARGIN_MS) {
      return `Bearer ${this.token.value}`;
    }
    this.pending ??= this.renew(signal).finally(() => {
      this.pending = undefined;
    });
    return `Bearer ${await this.pending}`;
  }

  invalidate(): boolean {
    this.token = undefined;
    return true;
  }

  private async renew(signal?: AbortSignal): Promise<string> {
    const response = await this.fetchToken(signal);
    const lifetimeS = response.expires_in ?? DEFAULT_TOKEN_LIFETIME_S;
    this.token = { value: response.access_token, expiresAt: this.now() + lifetimeS * 1000 };
    return response.access_token;
  }
}

export interface TokenEndpointOptions {
  fhirBaseUrl: string;
  /** Configured token URL; when absent it is read from the server's SMART configuration. */
  tokenUrl?: string;
  timeoutMs: number;
  fetch?: typeof fetch;
}

/** The token endpoint from config, or from `<base>/.well-known/smart-configuration` (SMART App Launch 2.0). */
export async function discoverTokenUrl(options: TokenEndpointOptions, signal?: AbortSignal): Promise<string> {
  if (options.tokenUrl) {
    return options.tokenUrl;
  }
  const url = new URL('.well-known/smart-configuration', withSlash(options.fhirBaseUrl));
  const response = await (options.fetch ?? fetch)(url, {
    headers: { Accept: 'application/json' },
    signal: withTimeout(options.timeoutMs, signal),
  });
  const body = (await response.json().catch(() => undefined)) as { token_endpoint?: unknown } | undefined;
  if (!response.ok || typeof body?.token_endpoint !== 'string') {
    throw new FhirError(
      `no token URL configured and ${url.pathname} did not give a token_endpoint (HTTP ${response.status}); ` +
        'set fhir.auth.tokenUrl',
      { kind: 'auth', status: response.status }
    );
  }
  return body.token_endpoint;
}

/**
 * POSTs a form to the token endpoint and checks the answer. Error messages carry the OAuth `error` code but never
 * the credentials or the token.
 */
export async function requestToken(
  tokenUrl: string,
  form: Record<string, string>,
  headers: Record<string, string>,
  options: { timeoutMs: number; fetch?: typeof fetch; signal?: AbortSignal }
): Promise<TokenResponse> {
  const response = await (options.fetch ?? fetch)(tokenUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', ...headers },
    body: new URLSearchParams(form).toString(),
    signal: withTimeout(options.timeoutMs, options.signal),
  });
  const body = (await response.json().catch(() => undefined)) as Partial<TokenResponse> & { error?: string };
  if (!response.ok || typeof body?.access_token !== 'string') {
    // The OAuth error code only (`invalid_client`), and only when it looks like one: never a server's free text.
    const reason = /^[a-z_]{1,40}$/.test(String(body?.error)) ? `: ${body?.error}` : '';
    throw new FhirError(`the token endpoint refused the request (HTTP ${response.status}${reason})`, {
      kind: 'auth',
      status: response.status,
    });
  }
  return { access_token: body.access_token, token_type: body.token_type, expires_in: body.expires_in };
}

/** OAuth2 client credentials with `client_secret_basic` (RFC 6749 §2.3.1). */
export function clientCredentialsAuth(
  config: Extract<AuthConfig, { type: 'client-credentials' }>,
  options: Omit<TokenEndpointOptions, 'tokenUrl'>,
  now: () => number = Date.now
): AuthProvider {
  let tokenUrl: string | undefined = config.tokenUrl;
  const basic = Buffer.from(
    `${encodeURIComponent(config.clientId)}:${encodeURIComponent(config.clientSecret)}`
  ).toString('base64');
  return new CachedTokenAuth(async (signal) => {
    tokenUrl ??= await discoverTokenUrl({ ...options, tokenUrl }, signal);
    const form: Record<string, string> = { grant_type: 'client_credentials' };
    if (config.scope) {
      form.scope = config.scope;
    }
    return requestToken(tokenUrl, form, { Authorization: `Basic ${basic}` }, { ...options, signal });
  }, now);
}

export function createAuthProvider(
  config: AuthConfig,
  options: Omit<TokenEndpointOptions, 'tokenUrl'>,
  now?: () => number
): AuthProvider {
  switch (config.type) {
    case 'none':
      return noAuth;
    case 'bearer':
      return bearerAuth(config.token);
    case 'client-credentials':
      return clientCredentialsAuth(config, options, now);
    case 'smart-backend':
      return smartBackendAuth(config, options, now);
  }
}

const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** The SMART spec allows an assertion to live at most five minutes; one minute is plenty for one token request. */
const ASSERTION_LIFETIME_S = 60;

/**
 * SMART Backend Services (and NHS England's variant of it): each token request carries a fresh client assertion, a
 * JWT signed with the client's private key — `iss` and `sub` the client id, `aud` the token URL, a unique `jti`, a
 * short `exp` — with `kid` (and `jku`, when configured) in its header so the server finds the public key. The key
 * is loaded and checked against the algorithm when the client is made, so a wrong key fails at start-up.
 */
export function smartBackendAuth(
  config: Extract<AuthConfig, { type: 'smart-backend' }>,
  options: Omit<TokenEndpointOptions, 'tokenUrl'>,
  now: () => number = Date.now
): AuthProvider {
  const key = signingKey(config);
  let tokenUrl: string | undefined = config.tokenUrl;
  return new CachedTokenAuth(async (signal) => {
    tokenUrl ??= await discoverTokenUrl({ ...options, tokenUrl }, signal);
    const issuedAt = Math.floor(now() / 1000);
    const assertion = await new SignJWT({})
      .setProtectedHeader({
        alg: config.algorithm,
        typ: 'JWT',
        kid: config.kid,
        ...(config.jku ? { jku: config.jku } : {}),
      })
      .setIssuer(config.clientId)
      .setSubject(config.clientId)
      .setAudience(tokenUrl)
      .setJti(randomUUID())
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + ASSERTION_LIFETIME_S)
      .sign(key);
    const form = {
      grant_type: 'client_credentials',
      scope: config.scope,
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: assertion,
    };
    return requestToken(tokenUrl, form, {}, { ...options, signal });
  }, now);
}

/** The private key as a KeyObject, of the kind the algorithm needs (RSA of 2048 bits or more, or EC P-384). */
function signingKey(config: Extract<AuthConfig, { type: 'smart-backend' }>): KeyObject {
  const where = config.privateKeyFile ? `fhir.auth.privateKeyFile (${config.privateKeyFile})` : 'fhir.auth.privateKey';
  let key: KeyObject;
  try {
    const text = config.privateKey ?? readFileSync(config.privateKeyFile as string, 'utf8');
    key = text.trim().startsWith('{')
      ? createPrivateKey({ key: JSON.parse(text) as JsonWebKey, format: 'jwk' })
      : createPrivateKey(text);
  } catch (err) {
    // The reason only: the key's text never reaches a message.
    throw new ConfigError('fhir.auth', [
      `${where}: not a readable private key (${(err as { code?: string }).code ?? (err as Error).name})`,
    ]);
  }
  const wanted = config.algorithm === 'ES384' ? 'ec' : 'rsa';
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== wanted || (wanted === 'ec' && curve !== 'secp384r1')) {
    throw new ConfigError('fhir.auth', [
      `${where}: a ${key.asymmetricKeyType}${curve ? ` ${curve}` : ''} key cannot sign ${config.algorithm} ` +
        `(it needs ${wanted === 'ec' ? 'an EC P-384' : 'an RSA'} key)`,
    ]);
  }
  return key;
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : url + '/';
}

function withTimeout(timeoutMs: number, signal?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}
