import { getSearchParameters, isResourceType } from '@medplum/core';
import type { Bundle, OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { Request, RequestHandler, Response } from 'express';
import { SearchSnapshots } from './getpages';
import type { IndexedMemoryRepository } from './repository';

/**
 * How the embedded server behaves, to test and demonstrate the connector against servers unlike it:
 * - `default`: this server as it is;
 * - `hapi`: like HAPI FHIR: opaque `_getpages` next links, pages of at most 100, no `total` unless asked for, a stale
 *   If-Match answered 409;
 * - `read-only`: a shared care record: every write refused with 405;
 * - `minimal`: no batch or transaction, no comma-separated lists of references, no `_lastUpdated`, no `$everything`.
 * All but `minimal` answer `Patient/[id]/$everything`.
 */
export const SERVER_BEHAVIOURS = ['default', 'hapi', 'read-only', 'minimal'] as const;
export type ServerBehaviour = (typeof SERVER_BEHAVIOURS)[number];

/** HAPI's page size cap as configured on many deployments; a larger `_count` is lowered to it, silently. */
export const HAPI_MAX_PAGE_SIZE = 100;

/** Whether a server behaving so answers (and declares) `Patient/[id]/$everything`: all but `minimal`. */
export function answersEverything(name: ServerBehaviour): boolean {
  return name !== 'minimal';
}

export function isServerBehaviour(value: string): value is ServerBehaviour {
  return (SERVER_BEHAVIOURS as readonly string[]).includes(value);
}

/** Where the pages of a search are, when not at this server's own offset URLs. */
export interface SearchPager {
  self: (offset: number, count: number) => string;
  page: (offset: number, count: number) => string;
}

export interface Behaviour {
  name: ServerBehaviour;
  /** Runs before the router: refuses what this server would not take, or rewrites what it takes differently. */
  gate: RequestHandler;
  pager?: (req: Request, res: Response, baseUrl: string, resourceType: string) => SearchPager;
  /** Adjusts a response body before it is sent. */
  adjust?: (req: Request, resource: Resource) => void;
  /** Whether `Patient/[id]/$everything` is answered (and declared). */
  everything: boolean;
  /** The largest page it gives, when smaller than the server's own. */
  maxPageSize?: number;
}

interface Refusal {
  status: number;
  outcome: OperationOutcome;
  allow?: string;
}

export function serverBehaviour(name: ServerBehaviour, repo: IndexedMemoryRepository): Behaviour {
  switch (name) {
    case 'hapi':
      return hapiBehaviour(repo);
    case 'read-only':
      return { name, gate: gateOf(async (req) => readOnlyRefusal(req)), everything: answersEverything(name) };
    case 'minimal':
      return { name, gate: gateOf(async (req) => minimalRefusal(req)), everything: answersEverything(name) };
    default:
      return { name, gate: (_req, _res, next) => next(), everything: answersEverything(name) };
  }
}

function gateOf(check: (req: Request, res: Response) => Promise<Refusal | undefined>): RequestHandler {
  return (req, res, next) => {
    check(req, res).then((refusal) => {
      if (!refusal) {
        next();
        return;
      }
      if (refusal.allow) {
        res.set('Allow', refusal.allow);
      }
      res.status(refusal.status).type('application/fhir+json').send(JSON.stringify(refusal.outcome));
    }, next);
  };
}

function outcome(code: OperationOutcomeIssue['code'], text: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] };
}

function pathAndQuery(req: Request): { segments: string[]; query: URLSearchParams } {
  const [path = '', rawQuery = ''] = req.url.split(/\?(.*)/s, 2);
  return { segments: path.split('/').filter(Boolean), query: new URLSearchParams(rawQuery) };
}

function isTypeSearchPost(method: string, segments: string[]): boolean {
  return method === 'POST' && segments.length === 2 && segments[1] === '_search';
}

/** Reads (GET, and POST `Type/_search`) pass; every other method is refused, batch and transaction included. */
function readOnlyRefusal(req: Request): Refusal | undefined {
  const { segments } = pathAndQuery(req);
  if (req.method === 'GET' || req.method === 'HEAD' || isTypeSearchPost(req.method, segments)) {
    return undefined;
  }
  return {
    status: 405,
    allow: 'GET',
    outcome: outcome(
      'not-supported',
      `This server is read-only: ${req.method} is not allowed (no create, update, delete, batch or transaction)`
    ),
  };
}

/** No batch or transaction; searches without `_lastUpdated` and with one reference per reference parameter. */
function minimalRefusal(req: Request): Refusal | undefined {
  const { segments, query } = pathAndQuery(req);
  if (req.method === 'POST' && segments.length === 0) {
    return {
      status: 501,
      outcome: outcome('not-supported', 'Batch and transaction Bundles are not supported by this server'),
    };
  }
  const type = segments[0];
  if (!type || !isResourceType(type)) {
    return undefined; // refused further on, as on the default server
  }
  const params = [...query.entries()];
  if (isTypeSearchPost(req.method, segments) && req.body && typeof req.body === 'object') {
    params.push(...Object.entries(req.body as object).map(([k, v]) => [k, String(v)] as [string, string]));
  }
  const ifNoneExist = req.get('if-none-exist');
  if (ifNoneExist) {
    params.push(...new URLSearchParams(ifNoneExist).entries());
  }
  const problem = params.map(([key, value]) => minimalSearchProblem(type, key, value)).find(Boolean);
  return problem ? { status: 400, outcome: outcome('invalid', problem) } : undefined;
}

function minimalSearchProblem(resourceType: string, key: string, value: string): string | undefined {
  const code = key.split(':', 1)[0] as string;
  if (
    code === '_lastUpdated' ||
    (code === '_sort' && value.split(',').some((f) => f.replace(/^-/, '') === '_lastUpdated'))
  ) {
    return `Search parameter '_lastUpdated' is not supported by this server`;
  }
  if (getSearchParameters(resourceType)?.[code]?.type === 'reference' && value.includes(',')) {
    return `Search parameter '${code}' takes one reference: comma-separated lists are not supported by this server`;
  }
  return undefined;
}

/**
 * HAPI FHIR's ways, as far as a client can tell:
 * - a search's next page is `[base]?_getpages=<id>&_getpagesoffset=N&_count=M&_bundletype=searchset`: the search's
 *   parameters stay on the server under the id (an unknown or expired id is 410 Gone);
 * - `_count` is lowered to at most 100;
 * - an update or delete whose If-Match names an old version is 409 Conflict (HAPI's ResourceVersionConflictException,
 *   "HAPI-0989 ... is not the current version"), in a transaction too, where it fails the whole Bundle; in a batch,
 *   that entry's response is 409. 412 remains for a conditional create, update or delete matching several resources.
 */
function hapiBehaviour(repo: IndexedMemoryRepository): Behaviour {
  const searches = new SearchSnapshots();
  const gate = gateOf(async (req, res) => {
    const { segments, query } = pathAndQuery(req);
    if (req.method === 'GET' && segments.length === 0 && query.has('_getpages')) {
      const resumed = searches.resume(query, HAPI_MAX_PAGE_SIZE);
      if (!resumed) {
        return { status: 410, outcome: outcome('deleted', 'This search does not exist and may have expired') };
      }
      req.url = resumed.url;
      res.locals.searchId = resumed.id;
      return undefined;
    }
    if (isTypeSearchPost(req.method, segments)) {
      asGetSearch(req, segments[0] as string, query);
    }
    const search = pathAndQuery(req); // as rewritten
    if (req.method === 'GET' && search.segments.length === 1) {
      capPageSize(req, search.segments[0] as string, search.query);
    }
    return staleVersionRefusal(req, segments, repo);
  });
  return {
    name: 'hapi',
    gate,
    everything: true,
    maxPageSize: HAPI_MAX_PAGE_SIZE,
    pager: (req, res, baseUrl, resourceType) => {
      const resumedId = res.locals.searchId as string | undefined;
      let id = resumedId;
      const page = (offset: number, count: number): string => {
        id ??= searches.save(resourceType, searchParamsOf(req)); // kept only once a link needs it
        return `${baseUrl}?_getpages=${id}&_getpagesoffset=${offset}&_count=${count}&_bundletype=searchset`;
      };
      // A first page's self link is the search as sent; a later page's is its own _getpages link.
      const sent = baseUrl + req.originalUrl.slice(req.baseUrl.length);
      return { self: (offset, count) => (resumedId ? page(offset, count) : sent), page };
    },
    adjust: (req, resource) => {
      conflictsInBatch(req, resource);
      withoutTotal(req, resource);
    },
  };
}

/**
 * A `POST Type/_search` answered as the GET search it stands for (form parameters joined to the URL's), so that its
 * pages, kept under an id, hold the form's parameters too.
 */
function asGetSearch(req: Request, resourceType: string, query: URLSearchParams): void {
  if (req.body && typeof req.body === 'object') {
    Object.entries(req.body as object).forEach(([k, v]) => query.append(k, String(v)));
  }
  req.method = 'GET';
  req.body = undefined;
  req.url = `/${resourceType}?${query.toString()}`;
}

/** The search's own parameters, without the page window. */
function searchParamsOf(req: Request): URLSearchParams {
  const params = new URLSearchParams(pathAndQuery(req).query);
  params.delete('_count');
  params.delete('_offset');
  return params;
}

function capPageSize(req: Request, resourceType: string, query: URLSearchParams): void {
  const count = query.get('_count') ?? '';
  if (/^\d+$/.test(count) && Number(count) > HAPI_MAX_PAGE_SIZE) {
    query.set('_count', String(HAPI_MAX_PAGE_SIZE));
    req.url = `/${resourceType}?${query.toString()}`;
  }
}

async function staleVersionRefusal(
  req: Request,
  segments: string[],
  repo: IndexedMemoryRepository
): Promise<Refusal | undefined> {
  const ifMatch = req.get('if-match');
  if ((req.method === 'PUT' || req.method === 'DELETE') && segments.length === 2 && ifMatch) {
    const problem = await staleVersion(repo, `${segments[0]}/${segments[1]}`, ifMatch, req.method);
    return problem ? { status: 409, outcome: outcome('conflict', problem) } : undefined;
  }
  const bundle = req.body as Bundle | undefined;
  if (
    req.method === 'POST' &&
    segments.length === 0 &&
    bundle?.resourceType === 'Bundle' &&
    bundle.type === 'transaction'
  ) {
    for (const [i, entry] of (bundle.entry ?? []).entries()) {
      const { method, url, ifMatch: entryIfMatch } = entry.request ?? {};
      if ((method === 'PUT' || method === 'DELETE') && url && entryIfMatch && !url.includes('?')) {
        const problem = await staleVersion(repo, url.replace(/^\//, ''), entryIfMatch, method);
        if (problem) {
          return { status: 409, outcome: outcome('conflict', `Bundle.entry[${i}]: ${problem}`) };
        }
      }
    }
  }
  return undefined;
}

/** HAPI's wording (ids and versions only), when `reference` exists at a version other than If-Match's. */
async function staleVersion(
  repo: IndexedMemoryRepository,
  reference: string,
  ifMatch: string,
  method: string
): Promise<string | undefined> {
  const [type = '', id = ''] = reference.split('/');
  const current = await repo.readResource(type, id).catch(() => undefined);
  const wanted = /"([^"]+)"/.exec(ifMatch)?.[1] ?? ifMatch;
  if (!current || current.meta?.versionId === wanted) {
    return undefined; // a missing resource is answered as on the default server
  }
  const verb = method === 'DELETE' ? 'delete' : 'update';
  return `Trying to ${verb} ${type}/${id}/_history/${wanted} but this is not the current version`;
}

/**
 * Like a HAPI server set not to count matches unless asked (`_summary=count`, `_total=accurate`), as large
 * deployments are: a search page has no `total`, so a client must page to the end to know how many there are.
 */
function withoutTotal(req: Request, resource: Resource): void {
  const { query } = pathAndQuery(req);
  const asked = query.get('_summary') === 'count' || query.get('_total') === 'accurate';
  if (resource.resourceType === 'Bundle' && resource.type === 'searchset' && !asked) {
    delete resource.total;
  }
}

/** In a batch, the router answers a stale If-Match entry 412; HAPI answers it 409. */
function conflictsInBatch(req: Request, resource: Resource): void {
  const request = req.body as Bundle | undefined;
  if (resource.resourceType !== 'Bundle' || resource.type !== 'batch-response' || request?.type !== 'batch') {
    return;
  }
  (resource.entry ?? []).forEach((entry, i) => {
    const sent = request.entry?.[i]?.request;
    if (sent?.ifMatch && !sent.url.includes('?') && entry.response?.status.startsWith('412')) {
      entry.response.status = '409 Conflict';
      const verb = sent.method === 'DELETE' ? 'delete' : 'update';
      entry.response.outcome = outcome('conflict', `Trying to ${verb} ${sent.url} but this is not the current version`);
    }
  });
}
