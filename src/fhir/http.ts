import type { Logger } from '../logging';
import { silentLogger } from '../logging';
import type { AuthProvider } from './auth';
import { FhirError, isOperationOutcome, outcomeCodes } from './errors';
import { Limiter } from './limiter';
import type { RetryPolicy } from './retry';
import { isRetryableStatus, parseRetryAfter, retryDelayMs, sleep } from './retry';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

export interface HttpRequest {
  method: HttpMethod;
  /** Relative to the base URL (`Patient?_count=10`) or absolute on the same origin (a `next` link). */
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * Whether repeating the request is harmless. Defaults to true for GET, PUT and DELETE. A POST is idempotent
   * only when its caller says so (a transaction of conditional writes, a search).
   */
  idempotent?: boolean;
  signal?: AbortSignal;
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T | undefined;
}

/** Observes every attempt: for metrics (issue-level counters), never for payloads. */
export interface TransportObserver {
  onResponse?(method: HttpMethod, status: number, durationMs: number): void;
  onRetry?(method: HttpMethod, reason: string): void;
}

export interface HttpTransportOptions {
  baseUrl: string;
  auth: AuthProvider;
  timeoutMs: number;
  retry: RetryPolicy;
  concurrency: number;
  /** A response body (or one ndjson line) longer than this fails the read instead of filling the memory. */
  maxResponseBytes: number;
  fetch?: typeof fetch;
  logger?: Logger;
  observer?: TransportObserver;
  /** Source of jitter, injectable for tests. */
  random?: () => number;
}

const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * HTTP to one FHIR endpoint: JSON in and out, authentication, retries with backoff, per-request timeouts and a
 * bound on requests in flight. The token is only ever sent to the configured origin: an absolute URL or a redirect
 * to any other origin is refused before a request is made.
 */
export class HttpTransport {
  readonly baseUrl: string;
  /** Requests in flight at once, at most. */
  readonly concurrency: number;
  private readonly origin: string;
  private readonly fetchImpl: typeof fetch;
  private readonly limiter: Limiter;
  private readonly logger: Logger;
  private readonly random: () => number;

  constructor(private readonly options: HttpTransportOptions) {
    this.baseUrl = options.baseUrl.endsWith('/') ? options.baseUrl : options.baseUrl + '/';
    this.origin = new URL(this.baseUrl).origin;
    this.concurrency = options.concurrency;
    this.fetchImpl = options.fetch ?? fetch;
    this.limiter = new Limiter(options.concurrency);
    this.logger = options.logger ?? silentLogger();
    this.random = options.random ?? Math.random;
  }

  /** Absolute URL for `url`, refusing any origin but the configured one. */
  resolve(url: string): URL {
    const resolved = new URL(url, this.baseUrl);
    if (resolved.origin !== this.origin) {
      throw new FhirError(
        `refusing to send a request to ${resolved.origin}: only the configured FHIR origin ${this.origin} is trusted with the token`,
        { kind: 'cross-origin' }
      );
    }
    return resolved;
  }

  /** Path relative to the base, without the query: safe to log and to put in error messages. */
  describe(url: URL): string {
    const base = new URL(this.baseUrl).pathname;
    return url.pathname.startsWith(base) ? url.pathname.slice(base.length) || '/' : url.pathname;
  }

  async request<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>> {
    const url = this.resolve(req.url);
    const idempotent = req.idempotent ?? req.method !== 'POST';
    let reauthorized = false;
    let waitedMs = 0;
    for (let attempt = 1; ; attempt++) {
      let failure: FhirError;
      try {
        const response = await this.limiter.run(() => this.attempt<T>(url, req));
        if (response.status === 401 && !reauthorized && this.options.auth.invalidate()) {
          reauthorized = true; // the token may have been revoked or expired early: fetch a new one, once
          attempt--;
          continue;
        }
        if (response.status < 400) {
          return response;
        }
        failure = this.httpError(req.method, url, response);
        if (!isRetryableStatus(response.status, idempotent)) {
          throw failure;
        }
      } catch (err) {
        if (!(err instanceof FhirError)) {
          throw err;
        }
        const transient = err.kind === 'network' || err.kind === 'timeout' || err.truncated;
        if (err.kind === 'http' || !(transient && idempotent)) {
          err.attempts = attempt;
          throw err;
        }
        failure = err;
      }
      failure.attempts = attempt;
      const delayMs = this.delayBeforeRetry(req, url, failure, attempt, waitedMs);
      waitedMs += delayMs;
      await this.backoff(req, url, failure, attempt, delayMs);
    }
  }

  /**
   * The lines of an ndjson body, as they arrive: never the whole file in memory. With `authorize` the URL must be on
   * the FHIR origin (the token goes nowhere else); without, any URL (a bulk file store that needs no token). The
   * timeout applies to the wait for each piece of the body, not to the whole download.
   */
  async *lines(url: string, options: { authorize: boolean; signal?: AbortSignal }): AsyncGenerator<string> {
    const target = options.authorize ? this.resolve(url) : new URL(url);
    const accept = { Accept: 'application/fhir+ndjson' };
    const headers = options.authorize
      ? await this.headers({ method: 'GET', url, headers: accept, signal: options.signal }, false)
      : accept;
    const idle = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, idle.signal]) : idle.signal;
    let timer = setTimeout(() => idle.abort(), this.options.timeoutMs);
    const where = `GET ${this.describe(target)}`;
    try {
      const response = await this.fetchImpl(target, { headers, redirect: 'error', signal });
      if (!response.ok || !response.body) {
        await response.body?.cancel();
        throw new FhirError(`${where} failed: HTTP ${response.status}`, {
          kind: 'http',
          method: 'GET',
          path: this.describe(target),
          status: response.status,
        });
      }
      const decoder = new TextDecoder();
      let pending = '';
      for await (const chunk of response.body) {
        clearTimeout(timer);
        timer = setTimeout(() => idle.abort(), this.options.timeoutMs);
        pending += decoder.decode(chunk as Uint8Array, { stream: true });
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of [...lines, pending]) {
          if (line.length > this.options.maxResponseBytes) {
            throw this.tooLarge({ method: 'GET', path: this.describe(target), status: response.status });
          }
        }
        yield* lines.filter((line) => line.trim());
      }
      pending += decoder.decode();
      if (pending.trim()) {
        yield pending;
      }
    } catch (err) {
      throw err instanceof FhirError
        ? err
        : new FhirError(`${where}: ${idle.signal.aborted ? 'no data within the timeout' : 'the download failed'}`, {
            kind: idle.signal.aborted ? 'timeout' : 'network',
            method: 'GET',
            cause: err,
          });
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * How long to wait before the next attempt, or the failure thrown when there is none. A server that says when to
   * come back (429, or `Retry-After`) is waited for as long as the request's waiting budget lasts, not for a fixed
   * number of attempts; other failures get `maxAttempts`, within the same budget.
   */
  private delayBeforeRetry(req: HttpRequest, url: URL, failure: FhirError, attempt: number, waitedMs: number): number {
    const policy = this.options.retry;
    const where = `${req.method} ${this.describe(url)}`;
    if (failure.retryAfterMs !== undefined && failure.retryAfterMs > policy.maxRetryAfterMs) {
      throw new FhirError(
        `${where}: the server asked to retry after ${Math.ceil(failure.retryAfterMs / 1000)} s, ` +
          `longer than the configured maximum of ${Math.ceil(policy.maxRetryAfterMs / 1000)} s (fhir.maxRetryAfterMs)`,
        {
          kind: 'retry-after-too-long',
          method: req.method,
          path: this.describe(url),
          status: failure.status,
          attempts: attempt,
        }
      );
    }
    const throttled = failure.status === 429 || failure.retryAfterMs !== undefined;
    if (!throttled && attempt >= policy.maxAttempts) {
      failure.message = `${failure.message} (gave up after ${attempt} attempt${attempt === 1 ? '' : 's'})`;
      throw failure;
    }
    const delayMs = retryDelayMs(policy, attempt, failure.retryAfterMs, this.random);
    if (waitedMs + delayMs > policy.maxWaitMs) {
      failure.message =
        `${failure.message} (gave up after ${attempt} attempts and ${Math.round(waitedMs / 1000)} s of waiting: ` +
        `fhir.retry.maxWaitSeconds is ${Math.round(policy.maxWaitMs / 1000)})`;
      throw failure;
    }
    return delayMs;
  }

  private async backoff(
    req: HttpRequest,
    url: URL,
    failure: FhirError,
    attempt: number,
    delayMs: number
  ): Promise<void> {
    const reason = failure.status ? String(failure.status) : failure.kind;
    this.options.observer?.onRetry?.(req.method, reason);
    this.logger.warn('fhir request retry', {
      method: req.method,
      path: this.describe(url),
      reason,
      attempt,
      delayMs,
    });
    await sleep(delayMs, req.signal);
  }

  /** One attempt: the request, same-origin redirects, and the whole body read, all inside the timeout. */
  private async attempt<T>(url: URL, req: HttpRequest): Promise<HttpResponse<T>> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    const started = performance.now();
    let method: HttpMethod = req.method;
    let body = req.body;
    let current = url;
    try {
      for (let hop = 0; ; hop++) {
        const response = await this.fetchImpl(current, {
          method,
          headers: await this.headers(req, body !== undefined),
          body: body === undefined ? undefined : JSON.stringify(body),
          redirect: 'manual',
          signal,
        });
        const location = response.headers.get('location');
        if (REDIRECT_STATUSES.has(response.status) && location) {
          await response.body?.cancel();
          if (hop >= MAX_REDIRECTS) {
            throw new FhirError(`${req.method} ${this.describe(url)}: too many redirects`, {
              kind: 'invalid-response',
            });
          }
          current = this.resolve(new URL(location, current).toString());
          if (response.status === 303) {
            method = 'GET';
            body = undefined;
          }
          continue;
        }
        const parsed = await this.readBody<T>(response, req.method, url);
        const ms = performance.now() - started;
        this.options.observer?.onResponse?.(req.method, response.status, ms);
        // The path only: a query names patients by id and dates, but never belongs in a log at any level.
        this.logger.debug('fhir response', {
          method: req.method,
          path: this.describe(url),
          status: response.status,
          ms: Math.round(ms),
        });
        return parsed;
      }
    } catch (err) {
      throw this.classify(err, req, url, timeout);
    }
  }

  private async headers(req: HttpRequest, hasBody: boolean): Promise<Record<string, string>> {
    const headers: Record<string, string> = { Accept: 'application/fhir+json', ...req.headers };
    if (hasBody) {
      headers['Content-Type'] = 'application/fhir+json';
    }
    const authorization = await this.options.auth.authorize(req.signal);
    if (authorization) {
      headers.Authorization = authorization;
    }
    return headers;
  }

  /**
   * The status and content type decide before the body is parsed: an error status never fails on its body (only its
   * OperationOutcome's codes are of use), a body that is not JSON is named by its type, and only a body that ends
   * before its JSON does is called cut short.
   */
  private async readBody<T>(response: Response, method: HttpMethod, url: URL): Promise<HttpResponse<T>> {
    const where = `${method} ${this.describe(url)}`;
    const details = { method, path: this.describe(url), status: response.status };
    const type = mediaType(response.headers);
    const expectsBody = response.status === 200 || response.status === 201;
    if (type && !isJson(type)) {
      await response.body?.cancel();
      if (expectsBody) {
        throw new FhirError(`${where}: ${notFhir(type, response.status)}`, { kind: 'invalid-response', ...details });
      }
      return { status: response.status, headers: response.headers, body: undefined };
    }
    const text = await this.readText(response, details);
    if (!text.trim()) {
      return { status: response.status, headers: response.headers, body: undefined };
    }
    try {
      return { status: response.status, headers: response.headers, body: JSON.parse(text) as T };
    } catch (err) {
      if (!expectsBody) {
        return { status: response.status, headers: response.headers, body: undefined };
      }
      const truncated = endsEarly(err, text);
      const problem = truncated ? 'ends before its JSON does: it was cut short' : 'is not valid JSON';
      throw new FhirError(`${where}: the response (HTTP ${response.status}) ${problem}`, {
        kind: 'invalid-response',
        truncated,
        ...details,
      });
    }
  }

  /** The body as text, refusing one longer than `maxResponseBytes` as soon as it is known to be. */
  private async readText(
    response: Response,
    details: { method: HttpMethod; path: string; status: number }
  ): Promise<string> {
    const max = this.options.maxResponseBytes;
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (declared > max || !response.body) {
      await response.body?.cancel();
      if (declared > max) {
        throw this.tooLarge(details);
      }
      return '';
    }
    const decoder = new TextDecoder();
    const parts: string[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > max) {
        throw this.tooLarge(details); // leaving the loop cancels the rest of the body
      }
      parts.push(decoder.decode(chunk, { stream: true }));
    }
    parts.push(decoder.decode());
    return parts.join('');
  }

  private tooLarge(details: { method: string; path: string; status?: number }): FhirError {
    const max = this.options.maxResponseBytes;
    return new FhirError(
      `${details.method} ${details.path}: the response is larger than fhir.maxResponseBytes (${max} bytes)`,
      { kind: 'response-too-large', ...details }
    );
  }

  private httpError(method: HttpMethod, url: URL, response: HttpResponse): FhirError {
    const outcome = isOperationOutcome(response.body) ? response.body : undefined;
    const codes = outcomeCodes(outcome);
    const type = mediaType(response.headers);
    const where = `${method} ${this.describe(url)}`;
    const message =
      type && !isJson(type)
        ? `${where}: ${notFhir(type, response.status)}`
        : `${where} failed: HTTP ${response.status}${codes ? ` (OperationOutcome: ${codes})` : ''}`;
    return new FhirError(message, {
      kind: 'http',
      method,
      path: this.describe(url),
      status: response.status,
      outcome,
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), Date.now()),
    });
  }

  private classify(err: unknown, req: HttpRequest, url: URL, timeout: AbortSignal): unknown {
    if (err instanceof FhirError) {
      return err;
    }
    const where = `${req.method} ${this.describe(url)}`;
    if (req.signal?.aborted) {
      return new FhirError(`${where}: aborted`, {
        kind: 'aborted',
        method: req.method,
        path: this.describe(url),
        cause: err,
      });
    }
    if (timeout.aborted) {
      return new FhirError(`${where}: no complete response within ${this.options.timeoutMs} ms`, {
        kind: 'timeout',
        method: req.method,
        path: this.describe(url),
        cause: err,
      });
    }
    // By name: fetch's TypeError may belong to another realm than this module's (as under jest).
    if ((err as Error)?.name === 'TypeError' || (err as NodeJS.ErrnoException)?.code) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const detail = cause?.code ?? cause?.message ?? (err as Error).message;
      return new FhirError(`${where}: network error (${detail})`, {
        kind: 'network',
        method: req.method,
        path: this.describe(url),
        cause: err,
      });
    }
    return err;
  }
}

/** The media type of a response, lower case without parameters; undefined when the server sent none. */
function mediaType(headers: Headers): string | undefined {
  const value = headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  return value || undefined;
}

/** `application/fhir+json`, `application/json` and the like. */
function isJson(type: string): boolean {
  return type === 'application/json' || type.endsWith('+json') || type === 'application/json+fhir';
}

/** What to say of an answer that is not FHIR JSON: most often a login page, a gateway, or a wrong base URL. */
function notFhir(type: string, status: number): string {
  const answered = `the endpoint answered ${type.slice(0, 60)} with HTTP ${status}`;
  return status < 400 || status === 404 ? `${answered}: is fhir.baseUrl the FHIR base URL?` : answered;
}

/** Whether JSON failed to parse because its text stopped early, not because it is something else. */
function endsEarly(err: unknown, text: string): boolean {
  const message = err instanceof Error ? err.message : '';
  const position = /at position (\d+)/.exec(message)?.[1];
  return /end of JSON input/.test(message) || (position !== undefined && Number(position) >= text.trimEnd().length);
}
