import type { RunDeps } from '../cohort';
import type { FhirClient } from '../fhir';
import type { CohortEntry } from '../lifecycle';
import { cohortEntries, readProgrammeRecord, STAGES } from '../lifecycle';
import { cohortIdentifier } from '../writeback';
import { SharedRead } from '../workspace';

/**
 * The cohort as `GET /cohort` lists it, read from the programme record once and kept between runs (a SharedRead, as
 * the workspace's worklist is): the view is dropped when a run finishes (scheduled, requested or
 * notification-driven), so what the MDT records shows once a refresh has picked it up, as the rest of the programme
 * does.
 */
export class CohortView extends SharedRead<CohortEntry[]> {
  /** Every patient of the programme at any stage, in patient order. */
  entries(): Promise<CohortEntry[]> {
    return this.get();
  }
}

/** Reads the programme record (from the record's endpoint) and lists every patient in it, at every stage. */
export function readCohort(
  client: FhirClient,
  programme: RunDeps['programme'],
  populationKey: () => Promise<string>
): () => Promise<CohortEntry[]> {
  return async () => {
    const record = await readProgrammeRecord(client, programme.id, cohortIdentifier(programme, await populationKey()));
    return cohortEntries(record, new Set(STAGES));
  };
}
