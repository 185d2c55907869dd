import { badRequest, getStatus, notFound, OperationOutcomeError } from '@medplum/core';
import type { FhirRequest, HttpMethod } from '@medplum/fhir-router';
import { addBulkExport } from './bulk';
import { FhirRouter } from '@medplum/fhir-router';
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { NextFunction, Request, Response } from 'express';
import express from 'express';
import { bodyRefusal, httpStatusOf, loggableError, outcomeOf, OutcomeError } from '../errors';
import type { Logger } from '../logging';
import type { Behaviour, SearchPager, ServerBehaviour } from './behaviour';
import { serverBehaviour } from './behaviour';
import { silentLogger } from '../logging';
import { capabilityStatement } from './capability';
import { everythingPage, everythingPatient } from './everything';
import { loadR4Definitions } from './definitions';
import { checkResourceType, checkSearchQuery, pageWindow } from './query';
import type { IndexedMemoryRepository } from './repository';

export const FHIR_BASE_PATH = '/fhir/R4';
const FHIR_JSON = 'application/fhir+json';

export interface FhirAppOptions {
  repo: IndexedMemoryRepository;
  logger?: Logger;
  software?: { name: string; version: string };
  /** How the server behaves: like itself (default) or like other servers (see behaviour.ts). */
  behave?: ServerBehaviour;
}

/**
 * The embedded FHIR R4 server as an express app (no `listen`): Medplum's FhirRouter over the indexed memory
 * repository, plus what the router leaves out: search paging links, ETag/Location headers, a real
 * CapabilityStatement, and 400s for searches it would otherwise answer wrongly.
 */
export function createFhirApp(options: FhirAppOptions): express.Express {
  loadR4Definitions();
  const router = new FhirRouter();
  const logger = options.logger ?? silentLogger();
  const software = options.software ?? { name: 'hfu-connector', version: '0' };
  const behaviour = serverBehaviour(options.behave ?? 'default', options.repo);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // the only ETag is the resource version, set below
  app.use(
    FHIR_BASE_PATH,
    express.json({ type: ['application/json', FHIR_JSON, 'application/json-patch+json'], limit: '50mb' })
  );
  app.use(FHIR_BASE_PATH, express.urlencoded({ extended: false, limit: '1mb' }));
  app.get(`${FHIR_BASE_PATH}/metadata`, (req, res) => {
    sendResource(res, 200, capabilityStatement(baseUrlOf(req), software, behaviour.name));
  });
  addBulkExport(app, FHIR_BASE_PATH, options.repo, baseUrlOf);
  app.use(FHIR_BASE_PATH, behaviour.gate);
  app.use(FHIR_BASE_PATH, (req, res, next) => {
    const started = performance.now();
    res.on('finish', () =>
      logger.debug('fhir server request', {
        method: req.method,
        path: req.path,
        status: res.statusCode,
        ms: Math.round(performance.now() - started),
      })
    );
    const everything = behaviour.everything ? everythingPatient(req.method, req.url) : undefined;
    const answer = everything
      ? answerEverything(req, res, options.repo, behaviour, everything)
      : handle(req, res, router, options.repo, behaviour);
    answer.catch(next);
  });
  app.use((req, res) => sendOutcome(res, notFound));
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const [outcome, status] = errorOutcome(err);
    if (status === 500) {
      logger.error('fhir server error', loggableError(err));
    }
    sendOutcome(res, outcome, status);
  });
  return app;
}

async function handle(
  req: Request,
  res: Response,
  router: FhirRouter,
  repo: IndexedMemoryRepository,
  behaviour: Behaviour
): Promise<void> {
  const url = req.url.replace(/^\//, '');
  const method = req.method as HttpMethod;
  const interaction = checkInteraction(method, url, req.get('if-none-exist'), req.body);
  if (method === 'POST' && interaction.segments.length === 0) {
    checkBundleEntries(req.body);
  }
  if (method === 'POST' && interaction.segments.length === 1 && req.body && typeof req.body === 'object') {
    delete (req.body as Resource).id; // on create the server assigns the id, as FHIR requires
  }
  const fhirRequest: FhirRequest = {
    method,
    url,
    pathname: '',
    body: req.body,
    params: {},
    query: {},
    headers: req.headers,
    config: { transactions: true },
  };
  const [outcome, resource] = await router.handleRequest(fhirRequest, repo);
  const status = getStatus(outcome);
  if (!resource) {
    sendOutcome(res, outcome);
    return;
  }
  const baseUrl = baseUrlOf(req);
  if (interaction.isSearch && resource.resourceType === 'Bundle') {
    const resourceType = interaction.segments[0] as string;
    const pager = behaviour.pager?.(req, res, baseUrl, resourceType);
    addSearchLinks(resource, baseUrl, resourceType, interaction.query, pager);
  }
  behaviour.adjust?.(req, resource);
  if (resource.meta?.versionId) {
    res.set('ETag', `W/"${resource.meta.versionId}"`);
    if (resource.meta.lastUpdated) {
      res.set('Last-Modified', new Date(resource.meta.lastUpdated).toUTCString());
    }
    if (status === 201) {
      res.set('Location', `${baseUrl}/${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`);
    }
  }
  sendResource(res, status, resource);
}

/** `Patient/[id]/$everything`, paged as a search is (the hapi behaviour's opaque links and page cap included). */
async function answerEverything(
  req: Request,
  res: Response,
  repo: IndexedMemoryRepository,
  behaviour: Behaviour,
  patientId: string
): Promise<void> {
  const query = new URLSearchParams(req.url.split(/\?(.*)/s, 2)[1] ?? '');
  const { count } = pageWindow(query);
  if (query.has('_count') && behaviour.maxPageSize && count > behaviour.maxPageSize) {
    query.set('_count', String(behaviour.maxPageSize));
  }
  const bundle = await everythingPage(repo, patientId, query);
  const baseUrl = baseUrlOf(req);
  const path = `Patient/${patientId}/$everything`;
  addSearchLinks(bundle, baseUrl, path, query, behaviour.pager?.(req, res, baseUrl, path));
  behaviour.adjust?.(req, bundle);
  sendResource(res, 200, bundle);
}

interface Interaction {
  segments: string[];
  query: URLSearchParams;
  isSearch: boolean;
}

/**
 * Refuses requests the router would mishandle: unknown resource types, operations it does not implement, and any
 * search (plain, conditional or If-None-Exist) with parameters it cannot honour.
 */
function checkInteraction(method: string, url: string, ifNoneExist: string | undefined, body: unknown): Interaction {
  const [path = '', rawQuery = ''] = url.split(/\?(.*)/s, 2);
  const segments = path.split('/').filter(Boolean);
  const query = new URLSearchParams(rawQuery);
  const [type, second] = segments;
  if (type?.startsWith('$') || second?.startsWith('$') || segments[2]?.startsWith('$')) {
    throw new OperationOutcomeError(badRequest(`Operation '${url.split('?')[0]}' is not supported by this server`));
  }
  if (type) {
    checkResourceType(type);
  }
  const isTypeLevel = type !== undefined && segments.length === 1;
  const isSearch =
    (method === 'GET' && isTypeLevel) || (method === 'POST' && second === '_search' && segments.length === 2);
  if (isSearch) {
    const formParams = method === 'POST' && body && typeof body === 'object' ? Object.entries(body as object) : [];
    checkSearchQuery(type as string, [
      ...query.entries(),
      ...formParams.map(([k, v]) => [k, String(v)] as [string, string]),
    ]);
  } else if (isTypeLevel && (method === 'PUT' || method === 'DELETE' || method === 'PATCH')) {
    if (![...query.keys()].length) {
      throw new OperationOutcomeError(badRequest(`A conditional ${method} needs search criteria`));
    }
    checkSearchQuery(type as string, query.entries());
  } else if (isTypeLevel && method === 'POST' && ifNoneExist) {
    checkSearchQuery(type as string, new URLSearchParams(ifNoneExist).entries());
  }
  return { segments, query, isSearch };
}

/** The same checks for each entry of a batch or transaction. */
function checkBundleEntries(body: unknown): void {
  const bundle = body as Bundle | undefined;
  if (bundle?.resourceType !== 'Bundle') {
    throw new OperationOutcomeError(badRequest('POST to the base URL takes a batch or transaction Bundle'));
  }
  (bundle.entry ?? []).forEach((entry, i) => {
    const request = entry.request;
    if (request?.method && request.url) {
      try {
        checkInteraction(request.method, request.url.replace(/^\//, ''), request.ifNoneExist, undefined);
      } catch (err) {
        if (err instanceof OperationOutcomeError) {
          const issue = err.outcome.issue?.[0];
          throw new OperationOutcomeError(
            badRequest(`Bundle.entry[${i}]: ${issue?.details?.text ?? 'invalid request'}`)
          );
        }
        throw err;
      }
    }
  });
}

/** `self` and, when more results remain, `next` (offset paging); `fullUrl` on every entry. */
function addSearchLinks(
  bundle: Bundle,
  baseUrl: string,
  resourceType: string,
  query: URLSearchParams,
  pager?: SearchPager
): void {
  const { count, offset } = pageWindow(query);
  const pageUrl = (pageOffset: number): string => {
    const params = new URLSearchParams(query);
    params.set('_count', String(count));
    params.set('_offset', String(pageOffset));
    return `${baseUrl}/${resourceType}?${params.toString()}`;
  };
  bundle.link = [{ relation: 'self', url: pager?.self(offset, count) ?? pageUrl(offset) }];
  if (count > 0 && bundle.total !== undefined && offset + count < bundle.total) {
    bundle.link.push({ relation: 'next', url: pager?.page(offset + count, count) ?? pageUrl(offset + count) });
  }
  if (pager && count > 0 && offset > 0) {
    bundle.link.push({ relation: 'previous', url: pager.page(Math.max(0, offset - count), count) });
  }
  for (const entry of bundle.entry ?? []) {
    if (entry.resource?.id) {
      entry.fullUrl = `${baseUrl}/${entry.resource.resourceType}/${entry.resource.id}`;
    }
  }
}

function baseUrlOf(req: Request): string {
  return `${req.protocol}://${req.get('host')}${FHIR_BASE_PATH}`;
}

function sendResource(res: Response, status: number, resource: Resource): void {
  res.status(status).type(FHIR_JSON).send(JSON.stringify(resource));
}

/**
 * The embedded server's error funnel: an error as the OperationOutcome to answer and its status. A body it cannot
 * read keeps body-parser's status (400, 413, 415); the router's and the connector's own outcomes keep theirs;
 * anything else is a 500 that names nothing of what it was.
 */
function errorOutcome(err: unknown): [OperationOutcome, number] {
  const refused = err instanceof OperationOutcomeError || err instanceof OutcomeError ? undefined : bodyRefusal(err);
  if (refused) {
    return [badRequest(bodyProblem(refused.type)), refused.status];
  }
  const outcome = outcomeOf(err);
  return [outcome, httpStatusOf(outcome)];
}

/** body-parser's reason by its `type` (none for a body that does not decompress). */
function bodyProblem(type: string | undefined): string {
  if (type === 'entity.parse.failed') {
    return 'The request body is not valid JSON';
  }
  if (type === 'entity.too.large') {
    return 'The request body is too large';
  }
  return type ? `The request body cannot be read (${type})` : 'The request body cannot be read';
}

function sendOutcome(res: Response, outcome: OperationOutcome, status = httpStatusOf(outcome)): void {
  res.status(status).type(FHIR_JSON).send(JSON.stringify(outcome));
}
