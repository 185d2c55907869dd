import type { Patient, Resource } from '@medplum/fhirtypes';
import type { FhirClient } from '../fhir';
import { FhirError, patientIdOf } from '../fhir';
import type { CompiledMapping, PatientRecord, SourceType } from '../mappings';
import type { SurveyReport } from './report';

/** The sampled patients' resources of each type the mapping reads, all history, one search per type and chunk. */
export async function readRecords(
  client: FhirClient,
  mapping: CompiledMapping,
  patients: readonly Patient[],
  signal?: AbortSignal
): Promise<{ records: PatientRecord[]; unattributed: Map<SourceType, number>; reads: SurveyReport['reads'] }> {
  const byId = new Map(patients.map((patient) => [patient.id as string, { patient, resources: {} } as PatientRecord]));
  const ids = [...byId.keys()];
  const unattributed = new Map<SourceType, number>();
  const reads: SurveyReport['reads'] = [];
  await Promise.all(
    mapping.resourceTypes.map(async (type) => {
      const subjectParam = mapping.search[type]?.subject;
      if (!subjectParam || !ids.length) {
        return;
      }
      const { resources, strategy } = await readType(client, type, subjectParam, ids, signal);
      reads.push({ resourceType: type, strategy });
      for (const resource of resources) {
        const record = byId.get(patientIdOf(resource) ?? '');
        if (!record || resource.resourceType !== type) {
          unattributed.set(type, (unattributed.get(type) ?? 0) + 1);
          continue;
        }
        (record.resources[type] ??= []).push(resource);
      }
    })
  );
  reads.sort((a, b) => a.resourceType.localeCompare(b.resourceType));
  return { records: [...byId.values()], unattributed, reads };
}

/**
 * One type for the sampled patients: a search per chunk (`subject=Patient/a,Patient/b,...`), as the run reads; when
 * the server refuses the list (HTTP 400, as servers without OR on references do), one search per patient instead,
 * and the report says so.
 */
async function readType(
  client: FhirClient,
  type: SourceType,
  subjectParam: string,
  ids: readonly string[],
  signal?: AbortSignal
): Promise<{ resources: Resource[]; strategy: 'or-list' | 'per-patient' }> {
  const resources: Resource[] = [];
  try {
    for await (const chunk of client.searchBySubjects<Resource>(type, subjectParam, ids, {}, signal)) {
      resources.push(...chunk.resources);
    }
    return { resources, strategy: 'or-list' };
  } catch (err) {
    if (!(err instanceof FhirError) || err.status !== 400 || ids.length < 2) {
      throw err;
    }
  }
  const perPatient: Resource[] = [];
  for (let i = 0; i < ids.length; i += client.chunkSize) {
    const chunk = ids.slice(i, i + client.chunkSize);
    const found = await Promise.all(
      chunk.map((id) => client.searchAll<Resource>(type, { [subjectParam]: `Patient/${id}` }, signal))
    );
    perPatient.push(...found.flat());
  }
  return { resources: perPatient, strategy: 'per-patient' };
}

export function resourcesOf(record: PatientRecord, type: SourceType): Resource[] {
  return type === 'Patient' ? [record.patient] : (record.resources[type] ?? []);
}
