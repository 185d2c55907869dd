import type { AuthConfig } from '../config';
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
    const reason = body?.error ? `: ${body.error}` : '';
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
  }
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : url + '/';
}

function withTimeout(timeoutMs: number, signal?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}
