import type { Resource } from '@medplum/fhirtypes';
import { changedPatientsSince } from './bulk';
import { patientIdOf } from '../fhir';
import { failureCodes, readFailure } from './ledger';
import type { Population } from './population';
import type { ReadDeps, ReadMode } from './read';

export interface ModeOptions {
  extract: 'search' | 'bulk';
  /** A targeted refresh: only these patients. */
  patients?: readonly string[];
  /** Incremental refresh, when configured: the overlap read again before the watermark (writes in flight). */
  incremental?: { overlapSeconds: number };
  /** The watermark the cohort Group carries: the newest data the last complete read saw. */
  watermark?: string;
  /** Everyone in the programme: an incremental read always reads them. */
  programmePatients: readonly string[];
  maxPollMs: number;
  signal?: AbortSignal;
}

/**
 * Which patients this run reads: the named ones; with incremental refresh and a watermark, those whose data changed
 * since (less the overlap) and everyone in the programme; otherwise everyone (also when the changes cannot be listed).
 */
export async function chooseReadMode(deps: ReadDeps, population: Population, options: ModeOptions): Promise<ReadMode> {
  if (options.patients) {
    return { kind: 'targeted', patients: new Set(options.patients) };
  }
  const everyone: ReadMode = { kind: 'full', via: options.extract };
  const { incremental, watermark } = options;
  if (!incremental || !watermark) {
    return everyone; // the first run, or incremental refresh off
  }
  const since = new Date(Date.parse(watermark) - incremental.overlapSeconds * 1000).toISOString();
  let changed: Set<string>;
  try {
    changed =
      options.extract === 'bulk'
        ? await changedPatientsSince(deps, population, since, options)
        : await changedBySearch(deps, since, options.signal);
  } catch (err) {
    deps.logger.warn('changes could not be listed: reading everyone', failureCodes(readFailure(err)));
    return everyone;
  }
  deps.logger.info('incremental refresh', { changed: changed.size, inProgramme: options.programmePatients.length });
  return {
    kind: 'incremental',
    changedSince: watermark,
    patients: new Set([...changed, ...options.programmePatients]),
  };
}

/** Patients with a Patient or mapped resource changed since `since`, by `_lastUpdated` searches. */
async function changedBySearch(deps: ReadDeps, since: string, signal?: AbortSignal): Promise<Set<string>> {
  const changed = new Set<string>();
  for (const type of ['Patient', ...deps.mapping.resourceTypes] as const) {
    const params = { _lastUpdated: `ge${since}`, _count: deps.client.pageSize };
    for await (const page of deps.client.search<Resource>(type, params, signal)) {
      page.map(patientIdOf).forEach((id) => id && changed.add(id));
    }
  }
  return changed;
}
