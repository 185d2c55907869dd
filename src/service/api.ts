import { timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { RunDeps } from '../cohort';
import { explainPatient, runSettingsFrom } from '../cohort';
import type { Config, RoleLevel } from '../config';
import { isIsoDate } from '../dates';
import type { FhirClient } from '../fhir';
import type { Stage } from '../lifecycle';
import { isOpenStage, STAGES } from '../lifecycle';
import type { CohortView } from './cohort-view';
import { HttpError } from './errors';
import type { ServiceMetrics } from './metrics';
import type { NotificationQueue } from './notifications';
import { notificationTarget } from './notifications';
import type { RunManager } from './runs';

/** What the routes work with. */
export interface ApiContext {
  config: Config;
  /** The source (clinical data, read only) and the programme's record (read and written; the source unless apart). */
  endpoints: Pick<RunDeps, 'source' | 'record'>;
  rules: Pick<RunDeps, 'mapping' | 'programme'>;
  logger: RunDeps['logger'];
  runs: RunManager;
  notifications: NotificationQueue;
  metrics: ServiceMetrics;
  /** The cohort, read once between runs. */
  cohortView: CohortView;
}

/** Who may call a route: anyone (probes), a reader, an operator, or a FHIR server holding the shared secret. */
export type Access = 'public' | RoleLevel | 'subscription';

/** A route of the API: its contract (validated with zod, published as OpenAPI) and its handler. */
export interface Route {
  method: 'get' | 'post';
  path: string;
  summary: string;
  access: Access;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  responses: Record<number, string>;
  /** Responses that are not JSON (Prometheus text). */
  produces?: string;
  handle(ctx: ApiContext, input: RouteInput, res: Response): Promise<void> | void;
}

export interface RouteInput {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body: unknown;
  req: Request;
}

const resourceId = z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/, 'a FHIR resource id');
const isoDate = z.string().refine(isIsoDate, 'a date YYYY-MM-DD');

export const schemas = {
  runRequest: z.strictObject({ dryRun: z.boolean().optional() }),
  runParams: z.strictObject({ id: z.uuid() }),
  cohortQuery: z.strictObject({
    stage: z
      .string()
      .refine(
        (v) => v.split(',').every((s) => (STAGES as readonly string[]).includes(s)),
        `comma-separated, of ${STAGES.join(', ')}`
      )
      .optional(),
    tier: z.enum(['first', 'second']).optional(),
    page: z.coerce.number().int().min(1).default(1),
    pageSize: z.coerce.number().int().min(1).max(500).default(50),
  }),
  patientParams: z.strictObject({ id: resourceId }),
  explainQuery: z.strictObject({ now: isoDate.optional() }),
  notification: z.union([z.looseObject({ resourceType: z.string() }), z.strictObject({})]),
};

export const ROUTES: Route[] = [
  {
    method: 'get',
    path: '/health',
    summary: 'Liveness: the process is up',
    access: 'public',
    responses: { 200: 'alive' },
    handle: (_ctx, _input, res) => void res.json({ status: 'ok' }),
  },
  {
    method: 'get',
    path: '/ready',
    summary: "Readiness: configuration valid, the FHIR endpoint's metadata reachable, the last run not failed",
    access: 'public',
    responses: { 200: 'ready', 503: 'not ready, with the failing checks' },
    handle: ready,
  },
  {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics: runs, patients evaluated, cohort sizes, FHIR requests, retries, writes',
    access: 'public',
    produces: 'text/plain',
    responses: { 200: 'metrics in the Prometheus text format' },
    handle: async (ctx, _input, res) => {
      res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
    },
  },
  {
    method: 'get',
    path: '/openapi.json',
    summary: 'This description',
    access: 'read',
    responses: { 200: 'OpenAPI 3.1 document' },
    handle: (ctx, _input, res) => void res.json(openApiDocument(ctx.config)),
  },
  {
    method: 'post',
    path: '/runs',
    summary: 'Start a refresh now (optionally a dry run); 409 with the running run id if one is in progress',
    access: 'operate',
    body: schemas.runRequest,
    responses: { 202: 'started', 409: 'a run is in progress' },
    handle: (ctx, input, res) => {
      const { dryRun } = input.body as z.output<typeof schemas.runRequest>;
      const record = ctx.runs.start({ trigger: 'api', dryRun });
      res.status(202).location(`runs/${record.id}`).json(record);
    },
  },
  {
    method: 'get',
    path: '/runs',
    summary: 'The last runs, newest first: status, timings, counts, errors',
    access: 'read',
    responses: { 200: 'runs' },
    handle: (ctx, _input, res) => void res.json({ running: ctx.runs.running?.id ?? null, runs: ctx.runs.list() }),
  },
  {
    method: 'get',
    path: '/runs/:id',
    summary: 'One run',
    access: 'read',
    params: schemas.runParams,
    responses: { 200: 'the run', 404: 'no such run (or no longer kept)' },
    handle: (ctx, input, res) => {
      const record = ctx.runs.get(input.params.id as string);
      if (!record) {
        throw new HttpError(404, 'no such run (only the last service.runs.keep are kept)');
      }
      res.json(record);
    },
  },
  {
    method: 'get',
    path: '/cohort',
    summary:
      'Patients in the programme (default: under review, accepted, enrolled) with tier, stage and evidence, paged',
    access: 'read',
    query: schemas.cohortQuery,
    responses: { 200: 'a page of the cohort' },
    handle: cohort,
  },
  {
    method: 'get',
    path: '/patients/:id/explain',
    summary: 'Why a patient is, or is not, a candidate: features with evidence and every rule',
    access: 'read',
    params: schemas.patientParams,
    query: schemas.explainQuery,
    responses: { 200: 'the explanation', 404: 'the patient could not be read' },
    handle: explain,
  },
  {
    method: 'post',
    path: '/fhir-notifications',
    summary:
      'FHIR R4 Subscription rest-hook: a change to a review, care plan, flag or patient refreshes that patient (debounced)',
    access: 'subscription',
    body: schemas.notification,
    responses: { 202: 'accepted: a refresh will follow', 401: 'missing or wrong shared secret' },
    handle: notification,
  },
];

async function ready(ctx: ApiContext, _input: RouteInput, res: Response): Promise<void> {
  const checks: Record<string, string> = { config: 'ok' };
  const { source, record } = ctx.endpoints;
  checks.fhir = await reachable(source);
  if (record !== source) {
    checks.writebackFhir = await reachable(record);
  }
  checks.lastRun = ctx.runs.lastFailed ? 'failed' : 'ok';
  const isReady = Object.values(checks).every((c) => c === 'ok');
  res.status(isReady ? 200 : 503).json({ ready: isReady, checks });
}

async function reachable(client: FhirClient): Promise<string> {
  try {
    await client.capabilities(AbortSignal.timeout(5000));
    return 'ok';
  } catch (err) {
    return `unreachable (${(err as { kind?: string }).kind ?? 'error'})`;
  }
}

async function cohort(ctx: ApiContext, input: RouteInput, res: Response): Promise<void> {
  const query = input.query as z.output<typeof schemas.cohortQuery>;
  const stages = query.stage ? new Set(query.stage.split(',') as Stage[]) : undefined;
  const entries = (await ctx.cohortView.entries()).filter(
    (e) => (stages ? stages.has(e.stage) : isOpenStage(e.stage)) && (!query.tier || e.tier === query.tier)
  );
  const start = (query.page - 1) * query.pageSize;
  const hasNext = start + query.pageSize < entries.length;
  res.json({
    total: entries.length,
    page: query.page,
    pageSize: query.pageSize,
    ...(hasNext ? { next: nextPage(input.req, query.page + 1) } : {}),
    entries: entries.slice(start, start + query.pageSize),
  });
}

function nextPage(req: Request, page: number): string {
  const params = new URLSearchParams(req.query as Record<string, string>);
  params.set('page', String(page));
  return `${req.baseUrl}${req.path}?${params.toString()}`;
}

async function explain(ctx: ApiContext, input: RouteInput, res: Response): Promise<void> {
  const id = input.params.id as string;
  const { now } = input.query as z.output<typeof schemas.explainQuery>;
  const settings = runSettingsFrom(ctx.config, { asOf: now, dryRun: true });
  const outcome = await explainPatient({ ...ctx.endpoints, logger: ctx.logger, ...ctx.rules }, settings, id);
  if ('skipped' in outcome) {
    throw new HttpError(404, `Patient/${id}: ${outcome.skipped}`);
  }
  res.json(outcome.explanation);
}

async function notification(ctx: ApiContext, input: RouteInput, res: Response): Promise<void> {
  const target = await notificationTarget(input.body, ctx.endpoints);
  ctx.notifications.add(target);
  res.status(202).json({ accepted: target === 'all' ? 'all' : target.patients.length });
}

/** The shared secret of the Subscription, compared in constant time. */
export function checkSubscriptionSecret(config: Config, req: Request): void {
  const { secret, header } = config.service.notifications;
  if (!secret) {
    throw new HttpError(404, 'notifications are not enabled (service.notifications.secret)');
  }
  const given = Buffer.from(req.get(header) ?? '');
  const wanted = Buffer.from(secret);
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    throw new HttpError(401, `missing or wrong ${header}`);
  }
}

/** The bodies the API reads: JSON, FHIR's included. */
export const JSON_TYPES = ['application/json', 'application/fhir+json'];

/** What any route taking a body may answer about it (see jsonBodyOnly in app.ts). */
const BODY_RESPONSES: Record<number, string> = {
  400: 'the body is not valid JSON, or not as the schema says',
  413: 'the body is over service.limits.bodyBytes',
  415: 'the body is not JSON (application/json or application/fhir+json), or is compressed',
};

/** The OpenAPI 3.1 description of ROUTES, schemas generated from the same zod schemas that validate requests. */
export function openApiDocument(config: Config): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const path = route.path.replace(/:([A-Za-z]+)/g, '{$1}');
    paths[path] ??= {};
    const body = route.body && { schema: jsonSchema(route.body) };
    paths[path][route.method] = {
      summary: route.summary,
      ...(route.access === 'public' ? { security: [] } : {}),
      ...(route.access === 'subscription' ? { security: [{ subscriptionSecret: [] }] } : {}),
      ...(route.access === 'read' || route.access === 'operate'
        ? { security: [{ bearer: [] }], 'x-required-role': route.access }
        : {}),
      parameters: [...parametersOf(route.params, 'path'), ...parametersOf(route.query, 'query')],
      ...(body
        ? { requestBody: { required: false, content: Object.fromEntries(JSON_TYPES.map((t) => [t, body])) } }
        : {}),
      responses: Object.fromEntries(
        Object.entries({ ...route.responses, ...(route.body ? BODY_RESPONSES : {}) }).map(([status, description]) => [
          status,
          { description, content: { [route.produces ?? 'application/json']: {} } },
        ])
      ),
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'hfu-connector', version: '0.1.0', description: 'High Frequency Users connector service' },
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A JWT from the configured issuer, or an API key' },
        subscriptionSecret: { type: 'apiKey', in: 'header', name: config.service.notifications.header },
      },
    },
  };
}

function parametersOf(schema: z.ZodObject | undefined, where: 'path' | 'query'): Record<string, unknown>[] {
  if (!schema) {
    return [];
  }
  const json = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    schema: property,
  }));
}

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}
