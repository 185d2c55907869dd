import type { Config, Scope, WorkforceMember } from '../config';
import type { Capacity, Programme } from '../criteria';
import { loadProgramme } from '../criteria';
import { FhirClient, SourceReferences } from '../fhir';
import type { FhirClientDeps } from '../fhir';
import type { Logger } from '../logging';
import type { CompiledMapping } from '../mappings';
import type { SubjectSearch } from '../read';
import type { WriteStrategySetting } from '../writeback';
import type { IsoDate } from '../dates';
import { londonToday } from '../dates';
import { loadMapping } from '../mappings';
import type { RunProgress } from './result';

export interface RunDeps {
  /** The source: the population and its clinical data, only ever read (it may be read-only). */
  source: FhirClient;
  /**
   * The programme's record: where its Group, Tasks, Flags, CarePlans and Provenance are read back from and written to
   * (`writeback.fhir`); the source itself unless configured apart.
   */
  record: FhirClient;
  mapping: CompiledMapping;
  programme: Programme;
  logger: Logger;
}

export interface RunSettings {
  scope: Scope;
  asOf: IsoDate;
  dryRun: boolean;
  capacity?: Capacity;
  /** Chunks of patients read at once. */
  concurrency: number;
  dateBounds: boolean;
  /** How the population is read: searches page by page (default), or one Bulk Data export. */
  extract?: 'search' | 'bulk';
  /** How a page of patients' data is searched (`extract.subjectSearch`); default `or-list`. */
  subjectSearch?: SubjectSearch;
  /** Bulk Data: the longest wait between status polls. */
  maxPollMs?: number;
  /**
   * Incremental refresh: when the cohort Group carries a watermark, read only the patients whose data changed since
   * (less `overlapSeconds`, for writes in flight at the last read) and everyone in the programme; move it on after.
   */
  incremental?: { overlapSeconds: number };
  reviewOwner?: string;
  workforce?: readonly WorkforceMember[];
  /** Entries per transaction the FHIR server accepts (Medplum: 8 when any entry is conditional). */
  transactionMaxEntries?: number;
  /** How one patient's writes are sent (`writeback.strategy`); default a transaction. */
  writeStrategy?: WriteStrategySetting;
  /** Keep every evaluated patient's decision (for `hfu tune`). */
  keepAllDecisions?: boolean;
  signal?: AbortSignal;
  /** The wall clock, for the dates the record keeps (authoredOn, recorded); injectable for tests. */
  now?: () => Date;
  /** The run's id (for a service that must name a run before it starts); default a new UUID. */
  runId?: string;
  /**
   * Asks the run to stop at the next safe point: before the next page is read or the next patient's transaction is
   * sent (the one in flight finishes). A stopped run writes no Group and reports itself incomplete.
   */
  stop?: AbortSignal;
  /**
   * A targeted refresh: only these patients of the population are read and advanced (a notification that their
   * review or care plan changed). No new proposals: ranking and capacity need the whole population.
   */
  patients?: readonly string[];
  onProgress?: (progress: RunProgress) => void;
}

/** The mapping and programme a configuration names, both compiled (any error names file and key). */
export function rulesFrom(config: Config): Pick<RunDeps, 'mapping' | 'programme'> {
  const mapping = loadMapping(config.mapping);
  const programme = loadProgramme({
    ref: config.programme.file,
    parameters: config.programme.parameters,
    features: mapping.features,
  });
  return { mapping, programme };
}

/** A run's settings from the configuration, with what the caller decides (date, dry run, a targeted refresh). */
export function runSettingsFrom(
  config: Config,
  options: {
    asOf?: IsoDate;
    dryRun: boolean;
    scope?: Scope;
    patients?: string[];
    keepAllDecisions?: boolean;
    /** Read everyone even when incremental refresh is configured. */
    full?: boolean;
  }
): RunSettings {
  return {
    patients: options.patients,
    scope: options.scope ?? config.scope,
    asOf: options.asOf ?? londonToday(),
    dryRun: options.dryRun,
    capacity: config.programme.capacity,
    concurrency: config.extract.concurrency,
    dateBounds: config.extract.dateBounds,
    extract: config.extract.mode,
    subjectSearch: config.extract.subjectSearch,
    maxPollMs: config.fhir.maxRetryAfterMs,
    incremental:
      config.extract.incremental && !options.full
        ? { overlapSeconds: config.extract.incrementalOverlapSeconds }
        : undefined,
    reviewOwner: config.writeback.reviewOwner,
    workforce: config.allocation.workforce,
    transactionMaxEntries: config.writeback.transactionMaxEntries,
    writeStrategy: config.writeback.strategy,
    keepAllDecisions: options.keepAllDecisions,
  };
}

/**
 * The two clients of a run: the source at `sourceBaseUrl` (`fhir`, or the embedded server), and the record's target
 * (`writeback.fhir`) when configured apart — else the same client, so one endpoint is one client.
 */
export function endpointsFrom(
  config: Config,
  sourceBaseUrl: string,
  deps: FhirClientDeps = {}
): Pick<RunDeps, 'source' | 'record'> {
  const source = FhirClient.fromConfig({ ...config.fhir, baseUrl: sourceBaseUrl }, deps);
  const target = config.writeback.fhir;
  return { source, record: target ? FhirClient.fromConfig(target, deps) : source };
}

/** How the run's record refers to its source's resources: relative on one endpoint, absolute across two. */
export function sourceReferences(deps: Pick<RunDeps, 'source' | 'record'>): SourceReferences {
  return SourceReferences.between(deps.source.baseUrl, deps.record.baseUrl);
}
