import type { RunDeps } from '../cohort';
import type { FhirClient } from '../fhir';
import type { CohortEntry } from '../lifecycle';
import { cohortEntries, readProgrammeRecord, STAGES } from '../lifecycle';
import { cohortIdentifier } from '../writeback';

/**
 * The cohort as `GET /cohort` lists it, read from the programme record once and kept between runs: paging through
 * the list costs one read of the record, not one per page. The view is dropped when a run finishes (scheduled,
 * requested or notification-driven): what the MDT records shows once a refresh has picked it up, as the rest of the
 * programme does. Requests arriving while the record is read share that read; a failed read is not kept.
 */
export class CohortView {
  private cached?: Promise<CohortEntry[]>;

  constructor(private readonly read: () => Promise<CohortEntry[]>) {}

  /** Every patient of the programme at any stage, in patient order. */
  entries(): Promise<CohortEntry[]> {
    if (!this.cached) {
      const reading = this.read();
      this.cached = reading;
      reading.catch(() => {
        if (this.cached === reading) {
          this.cached = undefined;
        }
      });
    }
    return this.cached;
  }

  /** The record may have changed (a run finished): the next request reads it again. */
  invalidate(): void {
    this.cached = undefined;
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
