import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setImmediate } from 'node:timers/promises';
import { badRequest, matchesSearchRequest, notFound, parseSearchRequest } from '@medplum/core';
import type { SearchRequest } from '@medplum/core';
import type { Group, Resource } from '@medplum/fhirtypes';
import type express from 'express';
import type { Request, Response } from 'express';
import { SOURCE_TYPES } from '../vocabulary';
import type { IndexedMemoryRepository } from './repository';

/** The patient-compartment types an export may ask for: what the connector's mappings may read. */
const EXPORTABLE = SOURCE_TYPES;

interface ExportJob {
  id: string;
  request: string;
  transactionTime: string;
  dir: string;
  types: string[];
  done: number;
  output: { type: string; url: string; count: number }[];
  status: 'in-progress' | 'complete' | 'failed';
  error?: string;
}

/**
 * FHIR Bulk Data export (v2) on the embedded server, for tests and the benchmark: `Patient/$export` and
 * `Group/[id]/$export` with `_type`, `_since` and `_typeFilter`, answered asynchronously (202 and a status URL that
 * answers 202 with `X-Progress` and `Retry-After` until the ndjson files are written to a temp folder, then the
 * manifest), the files served from there, and DELETE on the status URL to cancel and clean up.
 */
export function addBulkExport(
  app: express.Express,
  basePath: string,
  repo: IndexedMemoryRepository,
  baseUrlOf: (req: Request) => string
): void {
  const jobs = new Map<string, ExportJob>();
  const kickOff = async (req: Request, res: Response, groupId?: string): Promise<void> => {
    if (groupId && !(await repo.readResource('Group', groupId).catch(() => undefined))) {
      sendOutcome(res, 404, notFound);
      return;
    }
    const problem = exportProblem(req);
    if (problem) {
      sendOutcome(res, 400, badRequest(problem));
      return;
    }
    const base = baseUrlOf(req);
    const job: ExportJob = {
      id: randomUUID(),
      request: new URL(req.originalUrl, base).toString(),
      transactionTime: new Date().toISOString(),
      dir: mkdtempSync(path.join(tmpdir(), 'hfu-export-')),
      types: typesOf(req),
      done: 0,
      output: [],
      status: 'in-progress',
    };
    jobs.set(job.id, job);
    void runExport(job, repo, base, groupId, req).catch((err: unknown) => {
      job.status = 'failed';
      job.error = (err as Error).message;
    });
    res.status(202).set('Content-Location', `${base}/$export-status/${job.id}`).end();
  };
  app.get(`${basePath}/Patient/$export`, (req, res, next) => kickOff(req, res).catch(next));
  app.get(`${basePath}/Group/:id/$export`, (req, res, next) => kickOff(req, res, req.params.id).catch(next));
  app.get(`${basePath}/$export-status/:id`, (req, res) => {
    const job = jobs.get(req.params.id as string);
    if (!job) {
      sendOutcome(res, 404, notFound);
    } else if (job.status === 'in-progress') {
      res
        .status(202)
        .set({ 'X-Progress': `${job.done} of ${job.types.length} types`, 'Retry-After': '1' })
        .end();
    } else if (job.status === 'failed') {
      sendOutcome(res, 500, badRequest(`export failed: ${job.error}`));
    } else {
      res.status(200).json({
        transactionTime: job.transactionTime,
        request: job.request,
        requiresAccessToken: true,
        output: job.output,
        error: [],
      });
    }
  });
  app.delete(`${basePath}/$export-status/:id`, (req, res) => {
    const job = jobs.get(req.params.id as string);
    if (!job) {
      sendOutcome(res, 404, notFound);
      return;
    }
    jobs.delete(job.id);
    rmSync(job.dir, { recursive: true, force: true });
    res.status(202).end();
  });
  app.get(`${basePath}/$export-file/:id/:file`, (req, res) => {
    const job = jobs.get(req.params.id as string);
    const file = req.params.file as string;
    if (!job || job.status !== 'complete' || !/^[A-Za-z]+\.ndjson$/.test(file)) {
      sendOutcome(res, 404, notFound);
      return;
    }
    res.status(200).type('application/fhir+ndjson');
    createReadStream(path.join(job.dir, file)).pipe(res);
  });
}

function exportProblem(req: Request): string | undefined {
  if (!/respond-async/.test(req.get('prefer') ?? '')) {
    return 'the export needs the header Prefer: respond-async';
  }
  const format = req.query._outputFormat;
  if (format !== undefined && !['application/fhir+ndjson', 'application/ndjson', 'ndjson'].includes(String(format))) {
    return `unsupported _outputFormat ${String(format)}`;
  }
  const unknown = typesOf(req).filter((t) => !(EXPORTABLE as readonly string[]).includes(t));
  if (unknown.length) {
    return `_type: not exportable here: ${unknown.join(', ')}`;
  }
  if (req.query._since !== undefined && Number.isNaN(Date.parse(String(req.query._since)))) {
    return '_since must be an instant';
  }
  return undefined;
}

function typesOf(req: Request): string[] {
  const asked = req.query._type ? String(req.query._type).split(',').filter(Boolean) : [...EXPORTABLE];
  return [...new Set(asked)];
}

/** `_typeFilter`: a comma-separated list of `Type?query`; several for one type are alternatives (any may match). */
function typeFilters(req: Request): Map<string, SearchRequest[]> {
  const filters = new Map<string, SearchRequest[]>();
  const raw = req.query._typeFilter ? String(req.query._typeFilter) : '';
  for (const filter of raw.split(',').filter(Boolean)) {
    const parsed = parseSearchRequest(decodeURIComponent(filter));
    filters.set(parsed.resourceType, [...(filters.get(parsed.resourceType) ?? []), parsed]);
  }
  return filters;
}

async function runExport(
  job: ExportJob,
  repo: IndexedMemoryRepository,
  base: string,
  groupId: string | undefined,
  req: Request
): Promise<void> {
  await setImmediate(); // answer the kick-off first: the work happens after, as on a real server
  const patients = groupId ? await groupMembers(repo, groupId) : repo.idsOf('Patient');
  const filters = typeFilters(req);
  const since = req.query._since ? Date.parse(String(req.query._since)) : undefined;
  for (const type of job.types) {
    const file = `${type}.ndjson`;
    const out = createWriteStream(path.join(job.dir, file));
    let count = 0;
    for (let i = 0; i < patients.length; i++) {
      const patientId = patients[i] as string;
      const ids = type === 'Patient' ? [patientId] : repo.referencing(`Patient/${patientId}`, type);
      for (const id of ids) {
        const resource = await repo.readResource(type, id).catch(() => undefined);
        if (resource && included(resource, filters.get(type), since)) {
          if (!out.write(JSON.stringify(resource) + '\n')) {
            await new Promise<void>((resolve) => out.once('drain', () => resolve()));
          }
          count++;
        }
      }
      if (i % 200 === 199) {
        await setImmediate(); // keep answering status polls and searches meanwhile
      }
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (count) {
      job.output.push({ type, url: `${base}/$export-file/${job.id}/${file}`, count });
    }
    job.done++;
  }
  job.status = 'complete';
}

function included(resource: Resource, filters: SearchRequest[] | undefined, since: number | undefined): boolean {
  if (since !== undefined && Date.parse(resource.meta?.lastUpdated ?? '') < since) {
    return false;
  }
  return !filters || filters.some((filter) => matchesSearchRequest(resource, filter));
}

async function groupMembers(repo: IndexedMemoryRepository, groupId: string): Promise<string[]> {
  const group = await repo.readResource<Group>('Group', groupId);
  return (group.member ?? [])
    .filter((m) => !m.inactive)
    .map((m) => /^Patient\/(.+)$/.exec(m.entity.reference ?? '')?.[1])
    .filter((id): id is string => Boolean(id));
}

function sendOutcome(res: Response, status: number, outcome: unknown): void {
  res.status(status).type('application/fhir+json').send(JSON.stringify(outcome));
}
