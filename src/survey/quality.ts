import type { Resource } from '@medplum/fhirtypes';
import type { IsoDate } from '../dates';
import { londonDay } from '../dates';
import type { FhirClient } from '../fhir';
import type { CompiledMapping, PatientRecord, SourceType } from '../mappings';
import { resourcesOf } from './records';
import type { QualitySurvey } from './report';

/**
 * Dates in the future (of what has happened: a booked appointment may be ahead) or before birth, references that name
 * no sampled patient, entered in error, encounters with no period, appointments with no start.
 */
export async function quality(
  client: FhirClient,
  mapping: CompiledMapping,
  records: readonly PatientRecord[],
  unattributed: ReadonlyMap<SourceType, number>,
  asOf: IsoDate,
  signal?: AbortSignal
): Promise<QualitySurvey[]> {
  const types: SourceType[] = ['Patient', ...mapping.resourceTypes];
  return Promise.all(
    types.map(async (type): Promise<QualitySurvey> => {
      const row = qualityOf(mapping, records, type, asOf);
      row.unresolvedPatientReferences = unattributed.get(type) ?? 0;
      const subjectParam = mapping.search[type]?.subject;
      if (subjectParam) {
        const missing = await client
          .count(type, { [`${subjectParam}:missing`]: 'true' }, signal)
          .catch(() => undefined);
        if (missing !== undefined) {
          row.withoutPatientOnServer = missing;
        }
      }
      return row;
    })
  );
}

/** One type's faults in the sample, in the dates the mapping's features read for it. */
function qualityOf(
  mapping: CompiledMapping,
  records: readonly PatientRecord[],
  type: SourceType,
  asOf: IsoDate
): QualitySurvey {
  const variables = { asOfDate: asOf };
  const dates = mapping.features.flatMap((f) => (f.resources.includes(type) && f.date ? [f.date] : []));
  const row: QualitySurvey = {
    resource: type,
    resources: 0,
    futureDates: 0,
    datesBeforeBirth: 0,
    unresolvedPatientReferences: 0,
    enteredInError: 0,
    ...(type === 'Encounter' ? { withoutPeriod: 0 } : {}),
    ...(type === 'Appointment' ? { withoutStart: 0 } : {}),
  };
  for (const record of records) {
    const birth = londonDay(record.patient.birthDate);
    for (const resource of resourcesOf(record, type)) {
      const days = dates.flatMap((date) => safeDates(() => date(resource, variables)));
      if (type === 'Patient' && birth) {
        days.push(birth);
      }
      row.resources++;
      row.futureDates += days.some((day) => day > asOf) && !mayBeAhead(resource) ? 1 : 0;
      row.datesBeforeBirth += birth && type !== 'Patient' && days.some((day) => day < birth) ? 1 : 0;
      row.enteredInError += enteredInError(resource) ? 1 : 0;
      if (row.withoutPeriod !== undefined && !(resource as { period?: { start?: string } }).period?.start) {
        row.withoutPeriod++;
      }
      if (row.withoutStart !== undefined && startRequired(resource) && !(resource as { start?: string }).start) {
        row.withoutStart++;
      }
    }
  }
  return row;
}

/** The days a date expression gives, ignoring what is not a date (the record check reports malformed ones). */
function safeDates(evaluate: () => unknown[]): string[] {
  try {
    return evaluate()
      .map((value) => londonDay(value))
      .filter((day): day is string => day !== undefined);
  } catch {
    return [];
  }
}

/** Appointment statuses that say it has taken place (or was missed): only these are wrong when dated ahead. */
const APPOINTMENT_HAPPENED = new Set(['fulfilled', 'arrived', 'checked-in', 'noshow']);

/** R4's invariant app-3: only proposed or cancelled appointments (and waitlisted ones) may have no start. */
function startRequired(resource: Resource): boolean {
  return !['proposed', 'cancelled', 'waitlist'].includes((resource as { status?: string }).status ?? '');
}

/** A booked, proposed or cancelled appointment is rightly dated after the survey date. */
function mayBeAhead(resource: Resource): boolean {
  return resource.resourceType === 'Appointment' && !APPOINTMENT_HAPPENED.has(resource.status);
}

function enteredInError(resource: Resource): boolean {
  const status = (resource as { status?: unknown }).status;
  const verification = (resource as { verificationStatus?: { coding?: { code?: string }[] } }).verificationStatus;
  return status === 'entered-in-error' || Boolean(verification?.coding?.some((c) => c.code === 'entered-in-error'));
}
