import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Patient, Resource } from '@medplum/fhirtypes';
import type { IsoDate } from '../dates';
import type { BulkExportRequest, BulkManifest, FhirClient } from '../fhir';
import { bulkExport, FhirError, patientIdOf, releaseExport, toQuery } from '../fhir';
import type { Logger } from '../logging';
import type { CompiledMapping, PatientRecord, SourceType } from '../mappings';
import type { ChunkRecords } from './chunk';
import { chunkSearches } from './chunk';
import type { Population } from './population';

export interface BulkReadOptions {
  asOf: IsoDate;
  dateBounds: boolean;
  /** Patients per group read back from disk and evaluated together. */
  chunkSize: number;
  /** Longest wait between two status polls, whatever `Retry-After` says. */
  maxPollMs: number;
  signal?: AbortSignal;
}

/** Lines held in memory before they are appended to their spool files. */
const SPOOL_BUFFER_BYTES = 8 * 1024 * 1024;

/**
 * The population through one Bulk Data export: the Patient file first, then each type's file, streamed line by line
 * into spool files on disk, one per group of `chunkSize` patients; then group by group, each read back and returned
 * as patient records. Memory holds the patients' ids and one group, never a whole file. Resources of patients
 * outside the population (a practice's export filtered on Patient only) are dropped.
 */
export async function* bulkRecords(
  deps: { client: FhirClient; mapping: CompiledMapping; logger: Logger },
  population: Population,
  options: BulkReadOptions
): AsyncGenerator<ChunkRecords> {
  const searches = chunkSearches(deps.mapping, options.asOf, options.dateBounds);
  const typeFilters = searches.filter((s) => Object.keys(s.params).length).map((s) => `${s.type}?${toQuery(s.params)}`);
  const { manifest, statusUrl } = await startExport(
    deps,
    {
      groupId: population.bulk.groupId,
      types: ['Patient', ...searches.map((s) => s.type)],
      typeFilters: [...(population.bulk.patientFilter ? [population.bulk.patientFilter] : []), ...typeFilters],
    },
    options
  );
  const spool = await Spool.create(options.chunkSize);
  try {
    for await (const { type, line } of exportLines(deps.client, manifest, options.signal)) {
      await spool.add(type, line);
    }
    await spool.flush();
    await releaseExport(deps.client, statusUrl);
    for (let group = 0; group < spool.groups; group++) {
      yield await spool.read(group, new Set(deps.mapping.resourceTypes));
    }
  } catch (err) {
    await releaseExport(deps.client, statusUrl); // the files are no use to anyone now
    throw err;
  } finally {
    await spool.remove();
  }
}

/**
 * Incremental refresh through Bulk Data: the ids of the patients with a Patient or mapped resource changed since
 * `since`, from one export with `_since` (streamed; only the ids are kept).
 */
export async function changedPatientsSince(
  deps: { client: FhirClient; mapping: CompiledMapping; logger: Logger },
  population: Population,
  since: string,
  options: Pick<BulkReadOptions, 'maxPollMs' | 'signal'>
): Promise<Set<string>> {
  const { manifest, statusUrl } = await startExport(
    deps,
    { groupId: population.bulk.groupId, types: ['Patient', ...deps.mapping.resourceTypes], since },
    options
  );
  const changed = new Set<string>();
  try {
    for await (const { line } of exportLines(deps.client, manifest, options.signal)) {
      const id = patientIdOf(parseLine(line));
      if (id) {
        changed.add(id);
      }
    }
  } finally {
    await releaseExport(deps.client, statusUrl);
  }
  return changed;
}

/** Kicks off an export and waits for its manifest, logging progress (debug) and how long it took. */
async function startExport(
  deps: { client: FhirClient; logger: Logger },
  request: BulkExportRequest,
  options: Pick<BulkReadOptions, 'maxPollMs' | 'signal'>
): Promise<{ manifest: BulkManifest; statusUrl: string }> {
  const started = performance.now();
  const exported = await bulkExport(deps.client, request, {
    signal: options.signal,
    maxPollMs: options.maxPollMs,
    onProgress: (progress) => deps.logger.debug('bulk export in progress', { progress }),
  });
  deps.logger.info('bulk export ready', {
    files: exported.manifest.output.length,
    ms: Math.round(performance.now() - started),
  });
  return exported;
}

/** Every line of an export's files as it arrives, the Patient files first (so patients are known before their data). */
async function* exportLines(
  client: FhirClient,
  manifest: BulkManifest,
  signal?: AbortSignal
): AsyncGenerator<{ type: string; line: string }> {
  const files = [
    ...manifest.output.filter((o) => o.type === 'Patient'),
    ...manifest.output.filter((o) => o.type !== 'Patient'),
  ];
  for (const file of files) {
    for await (const line of client.transport.lines(file.url, { authorize: manifest.requiresAccessToken, signal })) {
      yield { type: file.type, line };
    }
  }
}

/** ndjson lines filed on disk by patient group, buffered in memory up to SPOOL_BUFFER_BYTES. */
class Spool {
  private readonly groupOf = new Map<string, number>();
  private buffers = new Map<number, string[]>();
  private buffered = 0;
  /** Lines of resources about no patient of the population. */
  unattributed = 0;

  private constructor(
    private readonly dir: string,
    private readonly chunkSize: number
  ) {}

  static async create(chunkSize: number): Promise<Spool> {
    return new Spool(await mkdtemp(path.join(tmpdir(), 'hfu-bulk-')), chunkSize);
  }

  get groups(): number {
    return Math.ceil(this.groupOf.size / this.chunkSize);
  }

  async add(type: string, line: string): Promise<void> {
    const group = type === 'Patient' ? this.addPatient(line) : this.groupOf.get(patientOfLine(line) ?? '');
    if (group === undefined) {
      this.unattributed++;
      return;
    }
    let lines = this.buffers.get(group);
    if (!lines) {
      lines = [];
      this.buffers.set(group, lines);
    }
    lines.push(line);
    this.buffered += line.length;
    if (this.buffered > SPOOL_BUFFER_BYTES) {
      await this.flush();
    }
  }

  async flush(): Promise<void> {
    const buffers = this.buffers;
    this.buffers = new Map();
    this.buffered = 0;
    for (const [group, lines] of buffers) {
      await appendFile(this.file(group), lines.join('\n') + '\n');
    }
  }

  /** One group's patients with their resources of the mapping's types. */
  async read(group: number, types: ReadonlySet<string>): Promise<ChunkRecords> {
    const records = new Map<string, PatientRecord>();
    let unattributed = group === 0 ? this.unattributed : 0;
    const text = await readFile(this.file(group), 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!line) {
        continue;
      }
      const resource = parseLine(line);
      if (resource.resourceType === 'Patient') {
        records.set(resource.id as string, { patient: resource as Patient, resources: {} });
        continue;
      }
      const record = records.get(patientIdOf(resource) ?? '');
      if (!record || !types.has(resource.resourceType)) {
        unattributed++;
        continue;
      }
      (record.resources[resource.resourceType as SourceType] ??= []).push(resource);
    }
    return { records: [...records.values()], unattributed };
  }

  remove(): Promise<void> {
    return rm(this.dir, { recursive: true, force: true });
  }

  private addPatient(line: string): number | undefined {
    const id = parseLine(line).id;
    if (!id || this.groupOf.has(id)) {
      return undefined;
    }
    const group = Math.floor(this.groupOf.size / this.chunkSize);
    this.groupOf.set(id, group);
    return group;
  }

  private file(group: number): string {
    return path.join(this.dir, `${group}.ndjson`);
  }
}

/** The patient a line is about, found without keeping the parsed resource. */
function patientOfLine(line: string): string | undefined {
  return patientIdOf(parseLine(line));
}

function parseLine(line: string): Resource {
  try {
    const resource = JSON.parse(line) as Resource;
    if (resource && typeof resource.resourceType === 'string') {
      return resource;
    }
  } catch {
    // fall through
  }
  // A line that cannot be read cannot be attributed: some patient's data would be missing unnoticed.
  throw new FhirError('a bulk export file holds a line that is not a FHIR resource', { kind: 'invalid-response' });
}
