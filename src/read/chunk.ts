import type { Patient, Resource } from '@medplum/fhirtypes';
import type { IsoDate } from '../dates';
import type { FhirClient, SearchParams } from '../fhir';
import { patientIdOf } from '../fhir';
import type { CompiledMapping, PatientRecord, SourceType } from '../mappings';
import { windowStart } from '../mappings';

export interface ChunkRecords {
  records: PatientRecord[];
  /** Resources returned that could not be attributed to a patient of the chunk (no or foreign subject). */
  unattributed: number;
}

/**
 * One search per resource type for a chunk of patients (`subject=Patient/a,Patient/b,...`), bounded to the widest
 * look-back window of the type's features when every one of them has a window; the exact window is applied in code.
 */
export async function readChunk(
  client: FhirClient,
  mapping: CompiledMapping,
  patients: readonly Patient[],
  asOf: IsoDate,
  options: { dateBounds: boolean; signal?: AbortSignal }
): Promise<ChunkRecords> {
  const byId = new Map<string, PatientRecord>();
  for (const patient of patients) {
    if (patient.id) {
      byId.set(patient.id, { patient, resources: {} });
    }
  }
  const ids = [...byId.keys()];
  let unattributed = 0;
  await Promise.all(
    chunkSearches(mapping, asOf, options.dateBounds).map(async ({ type, subjectParam, params }) => {
      if (!ids.length) {
        return;
      }
      for await (const chunk of client.searchBySubjects<Resource>(type, subjectParam, ids, params, options.signal)) {
        for (const resource of chunk.resources) {
          const record = byId.get(patientIdOf(resource) ?? '');
          if (!record || resource.resourceType !== type) {
            unattributed++;
            continue;
          }
          (record.resources[type] ??= []).push(resource);
        }
      }
    })
  );
  return { records: [...byId.values()], unattributed };
}

export interface ChunkSearch {
  type: SourceType;
  /** The search parameter naming the patient (`subject`, `patient`). */
  subjectParam: string;
  /** Everything else: the date bound, when the type has one. */
  params: SearchParams;
}

/**
 * The searches a chunk of patients needs, one per resource type the mapping reads: what `readChunk` runs, and what
 * the benchmark's raw fetch runs to measure the endpoint alone.
 */
export function chunkSearches(mapping: CompiledMapping, asOf: IsoDate, dateBounds: boolean): ChunkSearch[] {
  return mapping.resourceTypes.flatMap((type) => {
    const search = mapping.search[type];
    if (!search) {
      return [];
    }
    const params: SearchParams = {};
    const bound = dateBounds ? earliestWindowStart(mapping, type, asOf) : undefined;
    if (bound && search.date) {
      params[search.date] = `ge${bound}`;
    }
    return [{ type, subjectParam: search.subject, params }];
  });
}

/** The start of the widest window among the type's features, or undefined when any feature reads all history. */
function earliestWindowStart(mapping: CompiledMapping, type: SourceType, asOf: IsoDate): IsoDate | undefined {
  const features = mapping.features.filter((f) => f.resources.includes(type));
  if (!features.length || features.some((f) => !f.window)) {
    return undefined;
  }
  return features.map((f) => windowStart(asOf, f.window as NonNullable<typeof f.window>)).sort()[0];
}
