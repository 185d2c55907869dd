import type { Bundle, BundleEntry, CapabilityStatement, Resource } from '@medplum/fhirtypes';
import type { FhirConfig } from '../config';
import type { Logger } from '../logging';
import { createAuthProvider } from './auth';
import { FhirError } from './errors';
import type { HttpResponse, TransportObserver } from './http';
import { HttpTransport } from './http';

/** Search parameters; an array repeats the parameter (`date=ge2024-01-01&date=le2024-12-31`). */
export type SearchParams = Record<string, string | number | readonly string[] | undefined>;

export interface FhirClientDeps {
  fetch?: typeof fetch;
  logger?: Logger;
  observer?: TransportObserver;
  random?: () => number;
  now?: () => number;
}

export interface WriteResult<T extends Resource> {
  resource: T;
  /** True when the server created a new resource (HTTP 201), false when it matched or updated an existing one. */
  created: boolean;
}

/**
 * A typed FHIR R4 client over HttpTransport. A thin wrapper around fetch rather than Medplum's MedplumClient, because
 * that client sends its token to whatever absolute URL it is given (including a `next` link on another host), does not
 * honour `Retry-After`, caps retry delays at 2 s without jitter, caches GETs and adds Medplum-specific headers.
 */
export class FhirClient {
  constructor(
    readonly transport: HttpTransport,
    readonly pageSize: number,
    readonly chunkSize: number,
    /** Pages one search may follow; `× pageSize` bounds its resources (a server may ignore `_count`). */
    readonly maxPagesPerSearch: number,
    /** Longest URL the client sends, in bytes, base included: lists of patients are split to stay within it. */
    readonly maxUrlLength = 8000
  ) {}

  static fromConfig(config: FhirConfig & { baseUrl: string }, deps: FhirClientDeps = {}): FhirClient {
    const auth = createAuthProvider(
      config.auth,
      { fhirBaseUrl: config.baseUrl, timeoutMs: config.timeoutMs, fetch: deps.fetch },
      deps.now
    );
    const transport = new HttpTransport({
      baseUrl: config.baseUrl,
      auth,
      timeoutMs: config.timeoutMs,
      retry: {
        maxAttempts: config.maxAttempts,
        baseDelayMs: config.retryBaseDelayMs,
        maxDelayMs: config.retryMaxDelayMs,
        maxRetryAfterMs: config.maxRetryAfterMs,
        maxWaitMs: config.retry.maxWaitSeconds * 1000,
      },
      concurrency: config.concurrency,
      maxResponseBytes: config.maxResponseBytes,
      fetch: deps.fetch,
      logger: deps.logger,
      observer: deps.observer,
      random: deps.random,
    });
    return new FhirClient(transport, config.pageSize, config.chunkSize, config.maxPagesPerSearch, config.maxUrlLength);
  }

  get baseUrl(): string {
    return this.transport.baseUrl;
  }

  async capabilities(signal?: AbortSignal): Promise<CapabilityStatement> {
    return this.expectBody(
      await this.transport.request<CapabilityStatement>({ method: 'GET', url: 'metadata', signal })
    );
  }

  async read<T extends Resource>(resourceType: T['resourceType'], id: string, signal?: AbortSignal): Promise<T> {
    const url = `${resourceType}/${encodeURIComponent(id)}`;
    return this.expectBody(await this.transport.request<T>({ method: 'GET', url, signal }));
  }

  /**
   * Every page of a search, following `Bundle.link[next]` to the end. Each `next` link is followed as the server gave
   * it (any parameter names, opaque ids) but must stay on the configured origin; a link seen before, or more pages or
   * resources than `maxPagesPerSearch` allows, ends the search with an error rather than following the server forever.
   * `Bundle.total` is never needed: the last page is the one without a `next` link.
   */
  async *pages<T extends Resource>(
    resourceType: T['resourceType'],
    params: SearchParams = {},
    signal?: AbortSignal
  ): AsyncGenerator<Bundle<T>> {
    yield* this.pagesFrom<T>(this.searchUrl(resourceType, params), resourceType, signal);
  }

  /**
   * Every page of `Patient/[id]/$everything`: the patient and the resources in their compartment (only `_type`'s
   * types when given), page by page as a search's.
   */
  async *everything<T extends Resource>(
    patientId: string,
    params: SearchParams = {},
    signal?: AbortSignal
  ): AsyncGenerator<Bundle<T>> {
    const url = `Patient/${encodeURIComponent(patientId)}/$everything?${toQuery({ _count: this.pageSize, ...params })}`;
    yield* this.pagesFrom<T>(this.withinUrlLimit(url, 'Patient/$everything'), 'Patient/$everything', signal);
  }

  private async *pagesFrom<T extends Resource>(
    firstUrl: string,
    what: string,
    signal?: AbortSignal
  ): AsyncGenerator<Bundle<T>> {
    let url: string | undefined = firstUrl;
    const seen = new Set<string>();
    const maxResources = this.maxPagesPerSearch * this.pageSize;
    let resources = 0;
    while (url) {
      if (seen.size >= this.maxPagesPerSearch || resources > maxResources) {
        throw new FhirError(
          `${what} search: more than ${this.maxPagesPerSearch} pages or ${maxResources} resources ` +
            `(fhir.maxPagesPerSearch × fhir.pageSize): the server's next links do not end`,
          { kind: 'paging-limit', method: 'GET', path: what }
        );
      }
      const absolute: string = this.transport.resolve(url).toString();
      if (seen.has(absolute)) {
        throw new FhirError(`${what} search: the server's next link repeats an earlier page`, {
          kind: 'paging-loop',
          path: what,
        });
      }
      seen.add(absolute);
      const response: HttpResponse<Bundle<T>> = await this.transport.request<Bundle<T>>({
        method: 'GET',
        url: absolute,
        signal,
      });
      const bundle: Bundle<T> = this.expectBundle(response, what);
      resources += bundle.entry?.length ?? 0;
      yield bundle;
      url = bundle.link?.find((link) => link.relation === 'next')?.url;
    }
  }

  /** The matching resources of every page (not `_include`d ones). */
  async *search<T extends Resource>(
    resourceType: T['resourceType'],
    params: SearchParams = {},
    signal?: AbortSignal
  ): AsyncGenerator<T[]> {
    for await (const bundle of this.pages<T>(resourceType, params, signal)) {
      yield matches(bundle);
    }
  }

  /** How many resources a search matches (`_summary=count`), when the server says. */
  async count(
    resourceType: Resource['resourceType'],
    params: SearchParams = {},
    signal?: AbortSignal
  ): Promise<number | undefined> {
    const url = this.withinUrlLimit(`${resourceType}?${toQuery({ ...params, _summary: 'count' })}`, resourceType);
    const response = await this.transport.request<Bundle>({ method: 'GET', url, signal });
    return typeof response.body?.total === 'number' ? response.body.total : undefined;
  }

  async searchAll<T extends Resource>(
    resourceType: T['resourceType'],
    params: SearchParams = {},
    signal?: AbortSignal
  ): Promise<T[]> {
    const all: T[] = [];
    for await (const page of this.search<T>(resourceType, params, signal)) {
      all.push(...page);
    }
    return all;
  }

  /**
   * One search per chunk of patients, `subjectParam=Patient/a,Patient/b,...` (FHIR OR semantics), each followed to its
   * last page. A chunk holds at most `chunkSize` patients, fewer when their URL would pass `maxUrlLength`. Yields the
   * resources of one chunk at a time, so memory is bounded by the chunk, not the population.
   */
  async *searchBySubjects<T extends Resource>(
    resourceType: T['resourceType'],
    subjectParam: string,
    patientIds: readonly string[],
    params: SearchParams = {},
    signal?: AbortSignal
  ): AsyncGenerator<{ patientIds: string[]; resources: T[] }> {
    const subjects = patientIds.map((id) => `Patient/${id}`);
    for (const chunk of this.listsWithinUrl(resourceType, subjectParam, subjects, params)) {
      const resources = await this.searchAll<T>(resourceType, { ...params, [subjectParam]: chunk.join(',') }, signal);
      yield { patientIds: chunk.map((subject) => subject.slice('Patient/'.length)), resources };
    }
  }

  /** One search per list of `values` for `param` (`_id=a,b,...`), split as `searchBySubjects` splits; every match. */
  async *searchByValues<T extends Resource>(
    resourceType: T['resourceType'],
    param: string,
    values: readonly string[],
    params: SearchParams = {},
    signal?: AbortSignal
  ): AsyncGenerator<T[]> {
    for (const chunk of this.listsWithinUrl(resourceType, param, values, params)) {
      yield await this.searchAll<T>(resourceType, { ...params, [param]: chunk.join(',') }, signal);
    }
  }

  /**
   * `values` in runs of at most `chunkSize` whose search URL (`param=v1,v2,...`, encoded, base included) is at most
   * `maxUrlLength` bytes. A value too long to search even alone fails the search, naming the setting.
   */
  private listsWithinUrl(
    resourceType: string,
    param: string,
    values: readonly string[],
    params: SearchParams = {}
  ): string[][] {
    const bare = this.absoluteLength(this.searchUrl(resourceType, { ...params, [param]: '' }));
    const comma = encodedLength(',');
    const lists: string[][] = [];
    let current: string[] = [];
    let length = bare;
    for (const value of values) {
      const bytes = encodedLength(value);
      if (current.length && (current.length >= this.chunkSize || length + comma + bytes > this.maxUrlLength)) {
        lists.push(current);
        current = [];
        length = bare;
      }
      length += (current.length ? comma : 0) + bytes;
      if (length > this.maxUrlLength) {
        throw this.urlTooLong(resourceType, length);
      }
      current.push(value);
    }
    if (current.length) {
      lists.push(current);
    }
    return lists;
  }

  private searchUrl(resourceType: string, params: SearchParams): string {
    return this.withinUrlLimit(`${resourceType}?${toQuery({ _count: this.pageSize, ...params })}`, resourceType);
  }

  /** `url` as it is, once its absolute form is known to be within `maxUrlLength`. */
  private withinUrlLimit(url: string, what: string): string {
    const length = this.absoluteLength(url);
    if (length > this.maxUrlLength) {
      throw this.urlTooLong(what, length);
    }
    return url;
  }

  private absoluteLength(url: string): number {
    return Buffer.byteLength(this.transport.resolve(url).toString());
  }

  private urlTooLong(what: string, length: number): FhirError {
    return new FhirError(
      `${what} search: its URL would be ${length} bytes, longer than fhir.maxUrlLength (${this.maxUrlLength})`,
      { kind: 'url-too-long', method: 'GET', path: what }
    );
  }

  /** Plain or conditional create (`If-None-Exist`: the server returns the existing match instead of a duplicate). */
  async create<T extends Resource>(
    resource: T,
    options: { ifNoneExist?: SearchParams; signal?: AbortSignal } = {}
  ): Promise<WriteResult<T>> {
    const headers: Record<string, string> = {};
    if (options.ifNoneExist) {
      headers['If-None-Exist'] = toQuery(options.ifNoneExist);
    }
    const response = await this.transport.request<T>({
      method: 'POST',
      url: resource.resourceType,
      body: resource,
      headers,
      idempotent: Boolean(options.ifNoneExist),
      signal: options.signal,
    });
    return { resource: this.expectBody(response), created: response.status === 201 };
  }

  /** Update by id; with `ifMatch` (a version id) the server refuses with 412 if the resource changed meanwhile. */
  async update<T extends Resource>(resource: T, options: { ifMatch?: string; signal?: AbortSignal } = {}): Promise<T> {
    if (!resource.id) {
      throw new TypeError(`cannot update a ${resource.resourceType} without an id`);
    }
    const headers: Record<string, string> = {};
    if (options.ifMatch) {
      headers['If-Match'] = `W/"${options.ifMatch}"`;
    }
    const url = `${resource.resourceType}/${encodeURIComponent(resource.id)}`;
    const response = await this.transport.request<T>({
      method: 'PUT',
      url,
      body: resource,
      headers,
      signal: options.signal,
    });
    return this.expectBody(response);
  }

  /** Conditional update (`PUT Type?criteria`): updates the single match, or creates when there is none. */
  async conditionalUpdate<T extends Resource>(
    resource: T,
    criteria: SearchParams,
    signal?: AbortSignal
  ): Promise<WriteResult<T>> {
    const url = `${resource.resourceType}?${toQuery(criteria)}`;
    const response = await this.transport.request<T>({ method: 'PUT', url, body: resource, signal });
    return { resource: this.expectBody(response), created: response.status === 201 };
  }

  /** A batch: entries succeed or fail independently; check each `entry.response.status`. */
  async batch(bundle: Bundle, signal?: AbortSignal): Promise<Bundle> {
    return this.postBundle({ ...bundle, type: 'batch' }, false, signal);
  }

  /**
   * A transaction: all entries or none (on servers that roll back). `idempotent` tells the transport the bundle
   * holds only conditional writes, so a network failure may safely be retried.
   */
  async transaction(bundle: Bundle, options: { idempotent?: boolean; signal?: AbortSignal } = {}): Promise<Bundle> {
    return this.postBundle({ ...bundle, type: 'transaction' }, options.idempotent ?? false, options.signal);
  }

  private async postBundle(bundle: Bundle, idempotent: boolean, signal?: AbortSignal): Promise<Bundle> {
    const response = await this.transport.request<Bundle>({
      method: 'POST',
      url: '',
      body: bundle,
      idempotent,
      signal,
    });
    return this.expectBundle(response, 'Bundle');
  }

  private expectBody<T>(response: HttpResponse<T>): T {
    if (response.body === undefined) {
      throw new FhirError(`the server answered HTTP ${response.status} with an empty body`, {
        kind: 'invalid-response',
        status: response.status,
      });
    }
    return response.body;
  }

  private expectBundle<T extends Resource>(response: HttpResponse<Bundle<T>>, what: string): Bundle<T> {
    const body = this.expectBody(response);
    if ((body as { resourceType?: unknown }).resourceType !== 'Bundle') {
      throw new FhirError(`${what}: expected a Bundle from the server`, {
        kind: 'invalid-response',
        status: response.status,
      });
    }
    return body;
  }
}

/** Entries that matched the search (not included resources or outcomes). */
function matches<T extends Resource>(bundle: Bundle<T>): T[] {
  const out: T[] = [];
  for (const entry of bundle.entry ?? ([] as BundleEntry<T>[])) {
    if (entry.resource && (entry.search?.mode === undefined || entry.search.mode === 'match')) {
      out.push(entry.resource);
    }
  }
  return out;
}

/** Bytes `value` takes in a query string (as `toQuery` encodes it). */
function encodedLength(value: string): number {
  return new URLSearchParams({ v: value }).toString().length - 2;
}

export function toQuery(params: SearchParams): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) {
      continue;
    }
    for (const v of Array.isArray(value) ? value : [value]) {
      query.append(key, String(v));
    }
  }
  return query.toString();
}
