import type { FhirClient } from '../fhir';
import { FhirError } from '../fhir';
import type { CompiledMapping, PatientRecord } from '../mappings';
import type { SurveyReport } from './report';

/**
 * Patient-compartment types probed for records the mapping does not read (`patient` is their R4 search parameter):
 * where a source may keep what the mapping looks for elsewhere (MedicationStatement for medicines, Appointment for
 * GP contacts).
 */
export const PROBED_TYPES = [
  'AllergyIntolerance',
  'Appointment',
  'CarePlan',
  'CareTeam',
  'Condition',
  'Consent',
  'DiagnosticReport',
  'DocumentReference',
  'Encounter',
  'EpisodeOfCare',
  'Flag',
  'Immunization',
  'MedicationAdministration',
  'MedicationDispense',
  'MedicationRequest',
  'MedicationStatement',
  'Observation',
  'Procedure',
  'QuestionnaireResponse',
  'ServiceRequest',
] as const;

/** Records of types the mapping does not read, for the sampled patients (`_summary=count` per type and chunk). */
export async function unreadTypes(
  client: FhirClient,
  mapping: CompiledMapping,
  records: readonly PatientRecord[],
  signal?: AbortSignal
): Promise<SurveyReport['unreadTypes']> {
  const read = new Set<string>(mapping.resourceTypes);
  const refs = records.map((r) => `Patient/${r.patient.id}`);
  const types = PROBED_TYPES.filter((type) => !read.has(type));
  const results = await Promise.all(
    types.map(async (resourceType) => {
      let count = 0;
      try {
        for (let i = 0; i < refs.length; i += client.chunkSize) {
          const chunk = refs.slice(i, i + client.chunkSize).join(',');
          const n = await client.count(resourceType, { patient: chunk }, signal);
          if (n === undefined) {
            return { resourceType, problem: 'the server gave no count' };
          }
          count += n;
        }
      } catch (err) {
        if (!(err instanceof FhirError)) {
          throw err;
        }
        // A server without OR lists on references: the whole server's count still says whether the type is used.
        const onServer = await client.count(resourceType, {}, signal).catch(() => undefined);
        return onServer === undefined
          ? { resourceType, problem: `the server refused the count (${err.kind})` }
          : { resourceType, count: onServer, problem: 'on the whole server: it refused a list of patients' };
      }
      return { resourceType, count };
    })
  );
  return results.filter((r) => r.count === undefined || r.count > 0);
}
