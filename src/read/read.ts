import type { Patient, Resource } from '@medplum/fhirtypes';
import type { IsoDate } from '../dates';
import type { FhirClient, FhirError } from '../fhir';
import type { Logger } from '../logging';
import type { CompiledMapping } from '../mappings';
import { bulkRecords } from './bulk';
import type { ChunkRecords, SubjectSearch } from './chunk';
import { readChunk } from './chunk';
import { mapConcurrently } from './concurrency';
import type { UnreadPatient } from './ledger';
import { failureCodes, ReadLedger, readFailure } from './ledger';
import type { Population } from './population';
import { restrictPopulation } from './population';

/**
 * How the population is read: everyone, page by page or through one Bulk Data export; or only named patients (those
 * whose data changed since the watermark, with everyone in the programme; or the patients a notification named).
 */
export type ReadMode =
  | { kind: 'full'; via: 'search' | 'bulk' }
  | { kind: 'incremental'; changedSince: string; patients: ReadonlySet<string> }
  | { kind: 'targeted'; patients: ReadonlySet<string> };

export interface ReadDeps {
  client: FhirClient;
  mapping: CompiledMapping;
  logger: Logger;
}

export interface ReadRequest {
  population: Population;
  mode: ReadMode;
  /** The programme's patients: read by id at the end when the population did not include them (moved, rescoped). */
  programmePatients: readonly string[];
  asOf: IsoDate;
  dateBounds: boolean;
  /** How a chunk's data are searched (default `or-list`); see `checkSubjectSearch`. */
  subjectSearch?: SubjectSearch;
  /** Chunks read at once. */
  concurrency: number;
  /** Bulk Data: the longest wait between status polls. */
  maxPollMs: number;
  /** Keep the newest `meta.lastUpdated` among what is read (the incremental refresh's next watermark). */
  trackNewest: boolean;
  signal?: AbortSignal;
  /** Stop at the next safe point: no further page or chunk is asked for. */
  stop?: AbortSignal;
}

/** One chunk of patients with their data, and the resources that came back about nobody in it. */
export type PatientChunk = ChunkRecords;

/** What the read got, once its chunks are all out. */
export interface ReadReport {
  /** Patients read whole and handed on. */
  seen: ReadonlySet<string>;
  /** Patients who could not be read, or who are in the programme and no longer on the endpoint. */
  unread: UnreadPatient[];
  /** False when part of the population, or some patients' data, could not be read. */
  complete: boolean;
  stopped: boolean;
  /** The newest `meta.lastUpdated` among the data read (when tracked). */
  newestData?: string;
  /** Resources returned that could not be attributed to a patient of their chunk. */
  unattributed: number;
  /** Patient-search entries that are not a usable Patient (wrong type, no id), by reason: skipped. */
  ignoredEntries: Record<string, number>;
}

/** The patients' data chunk by chunk, then the report of what was read. */
export interface PatientRead extends AsyncIterable<PatientChunk> {
  report(): ReadReport;
}

export function readPatients(deps: ReadDeps, request: ReadRequest): PatientRead {
  const reader = new Reader(deps, request);
  return { [Symbol.asyncIterator]: () => reader.chunks(), report: () => reader.report() };
}

/** Patients the population holds, for progress: what the run's count is heading for. */
export async function expectedSize(
  population: Population,
  mode: ReadMode,
  signal?: AbortSignal
): Promise<number | undefined> {
  return mode.kind === 'full' ? population.size(signal).catch(() => undefined) : mode.patients.size;
}

/** A chunk that failed after the transport's retries: tried once more at the end of the read. */
interface FailedChunk {
  ids: string[];
  /** Known when the Patients were read and only their data failed. */
  patients?: Patient[];
  error: FhirError;
}

class Reader {
  private readonly ledger: ReadLedger;
  private readonly seen = new Set<string>();
  private failed: FailedChunk[] = [];
  private stopped = false;
  private newest = 0;
  private unattributed = 0;
  private readonly ignored: Record<string, number> = {};

  constructor(
    private readonly deps: ReadDeps,
    private readonly request: ReadRequest
  ) {
    this.ledger = new ReadLedger(deps.logger);
  }

  async *chunks(): AsyncGenerator<PatientChunk> {
    yield* this.population();
    yield* this.retryFailed();
    // A read cut short leaves whoever it did not reach exactly as they are: nobody is looked up by id.
    if (this.ledger.complete && !this.stopped) {
      yield* this.programmePatientsNotSeen();
    }
    if (Object.keys(this.ignored).length) {
      this.deps.logger.warn('patient search entries skipped', this.ignored);
    }
  }

  report(): ReadReport {
    return {
      seen: this.seen,
      unread: this.ledger.report(),
      complete: this.ledger.complete,
      stopped: this.stopped,
      ...(this.newest ? { newestData: new Date(this.newest).toISOString() } : {}),
      unattributed: this.unattributed,
      ignoredEntries: { ...this.ignored },
    };
  }

  private population(): AsyncGenerator<PatientChunk> {
    const { population, mode, signal } = this.request;
    if (mode.kind === 'full' && mode.via === 'bulk') {
      return this.bulk();
    }
    const patients = mode.kind === 'full' ? undefined : [...mode.patients];
    const pages = patients ? restrictPopulation(population, this.deps.client, patients) : population;
    return this.pages(pages.pages(signal));
  }

  /** Pages of patients, each read as a chunk, `concurrency` chunks at once. */
  private async *pages(pages: AsyncIterable<Resource[]>): AsyncGenerator<PatientChunk> {
    try {
      const work = (page: Resource[]) => this.chunkOf(this.usable(page));
      for await (const chunk of mapConcurrently(pages, this.request.concurrency, work, () => this.stopRequested())) {
        if (chunk) {
          yield chunk;
        }
      }
    } catch (err) {
      this.ledger.populationCut(readFailure(err), 'population could not be read to the end');
    }
  }

  /** The population through one Bulk Data export; a failure anywhere leaves the rest of it unread. */
  private async *bulk(): AsyncGenerator<PatientChunk> {
    const { asOf, dateBounds, maxPollMs, signal } = this.request;
    const options = { asOf, dateBounds, chunkSize: this.deps.client.chunkSize, maxPollMs, signal };
    try {
      for await (const chunk of bulkRecords(this.deps, this.request.population, options)) {
        if (this.stopRequested()) {
          return;
        }
        yield this.noted(chunk);
      }
    } catch (err) {
      this.ledger.populationCut(readFailure(err), 'bulk export could not be read');
    }
  }

  /** Patients in the programme whom the population did not include this time (moved, scope changed): read by id. */
  private async *programmePatientsNotSeen(): AsyncGenerator<PatientChunk> {
    const { mode, programmePatients } = this.request;
    const wanted = (id: string) => !this.seen.has(id) && (mode.kind === 'full' || mode.patients.has(id));
    const ids = programmePatients.filter(wanted);
    const size = this.deps.client.chunkSize;
    for (let i = 0; i < ids.length && !this.stopRequested(); i += size) {
      const chunk = await this.chunkOfIds(ids.slice(i, i + size));
      if (chunk) {
        yield chunk;
      }
    }
    yield* this.retryFailed();
    if (!this.stopped) {
      ids.filter((id) => !this.seen.has(id) && !this.ledger.unread.has(id)).forEach((id) => this.ledger.notFound(id));
    }
  }

  private async chunkOfIds(ids: string[]): Promise<PatientChunk | undefined> {
    try {
      return await this.chunkOf(this.usable(await this.patientsById(ids)));
    } catch (err) {
      this.failedOnce({ ids, error: readFailure(err) });
      return undefined;
    }
  }

  private async chunkOf(patients: Patient[]): Promise<PatientChunk | undefined> {
    try {
      return this.noted(await this.readData(patients));
    } catch (err) {
      this.failedOnce({ ids: patients.map((p) => p.id as string), patients, error: readFailure(err) });
      return undefined;
    }
  }

  private failedOnce(failed: FailedChunk): void {
    this.failed.push(failed);
    this.deps.logger.warn('chunk could not be read: tried again at the end', {
      patients: failed.ids.length,
      ...failureCodes(failed.error),
    });
  }

  /** Each chunk that failed, once more; a second failure leaves its patients unread (and the read incomplete). */
  private async *retryFailed(): AsyncGenerator<PatientChunk> {
    const failed = this.failed;
    this.failed = [];
    for (const chunk of failed) {
      if (this.stopRequested()) {
        this.ledger.patientsLost(chunk.ids, chunk.error);
        continue;
      }
      let records: PatientChunk;
      try {
        records = await this.readData(chunk.patients ?? this.usable(await this.patientsById(chunk.ids)));
      } catch (err) {
        this.ledger.patientsLost(chunk.ids, readFailure(err));
        continue;
      }
      this.deps.logger.info('chunk read on a second try', { patients: chunk.ids.length });
      yield this.noted(records);
    }
  }

  private readData(patients: readonly Patient[]): Promise<PatientChunk> {
    const { asOf, dateBounds, subjectSearch, signal } = this.request;
    return readChunk(this.deps.client, this.deps.mapping, patients, asOf, { dateBounds, subjectSearch, signal });
  }

  private async patientsById(ids: readonly string[]): Promise<Resource[]> {
    const found: Resource[] = [];
    for await (const page of this.deps.client.searchByValues<Resource>(
      'Patient',
      '_id',
      ids,
      {},
      this.request.signal
    )) {
      found.push(...page);
    }
    return found;
  }

  /** The Patients of a search page; an entry of another type, or with no id, is skipped and counted. */
  private usable(page: readonly Resource[]): Patient[] {
    const patients: Patient[] = [];
    for (const entry of page) {
      const reason =
        entry.resourceType !== 'Patient' ? 'not a Patient' : typeof entry.id !== 'string' || !entry.id ? 'no id' : '';
      if (reason) {
        this.ignored[reason] = (this.ignored[reason] ?? 0) + 1;
      } else {
        patients.push(entry as Patient);
      }
    }
    return patients;
  }

  private noted(chunk: PatientChunk): PatientChunk {
    this.unattributed += chunk.unattributed;
    for (const record of chunk.records) {
      this.seen.add(record.patient.id as string);
      if (this.request.trackNewest) {
        this.noteLastUpdated([record.patient, ...Object.values(record.resources).flat()]);
      }
    }
    return chunk;
  }

  private noteLastUpdated(resources: readonly Resource[]): void {
    for (const resource of resources) {
      const updated = Date.parse(resource.meta?.lastUpdated ?? '');
      if (updated > this.newest) {
        this.newest = updated;
      }
    }
  }

  private stopRequested(): boolean {
    this.stopped ||= Boolean(this.request.stop?.aborted);
    return this.stopped;
  }
}
