import type { CarePlan, Resource } from '@medplum/fhirtypes';
import type { IsoDate } from '../dates';
import { londonDay } from '../dates';
import { HFU_CODE, isManaged } from '../vocabulary';

/**
 * When each patient was enrolled, read from the record as a run wrote it: the start of the programme's earliest
 * personalised care and support plan (a CarePlan tagged as the connector's, not entered in error). This is what the
 * multi-year generator's programme effect keys on, so a test enrols patients through the real lifecycle.
 */
export function enrolmentDates(resources: Iterable<Resource>): Map<string, IsoDate> {
  const dates = new Map<string, IsoDate>();
  for (const resource of resources) {
    if (resource.resourceType !== 'CarePlan' || !isProgrammePlan(resource)) {
      continue;
    }
    const patientId = /^Patient\/([^/]+)$/.exec(resource.subject?.reference ?? '')?.[1];
    const start = londonDay(resource.period?.start);
    if (patientId && start && (dates.get(patientId) ?? '9999-12-31') > start) {
      dates.set(patientId, start);
    }
  }
  return dates;
}

function isProgrammePlan(plan: CarePlan): boolean {
  const tagged = isManaged(plan);
  const category = plan.category?.some((c) =>
    c.coding?.some((coding) => coding.code === HFU_CODE.carePlanCategory.code)
  );
  return Boolean(tagged && category && plan.status !== 'entered-in-error');
}
