import type { Patient, Resource } from '@medplum/fhirtypes';
import type { IsoDate } from '../dates';
import type { FhirClient, SearchParams } from '../fhir';
import { patientIdOf } from '../fhir';
import type { CompiledMapping, PatientRecord, SourceType } from '../mappings';
import { windowStart } from '../mappings';
import { mapConcurrently } from './concurrency';

export interface ChunkRecords {
  records: PatientRecord[];
  /** Resources returned that could not be attributed to a patient of the chunk (no or foreign subject). */
  unattributed: number;
}

/**
 * How a chunk's data are searched: `or-list`, one search per resource type for the chunk
 * (`subject=Patient/a,Patient/b,...`); `per-patient`, one search per patient and type, for servers that take one
 * reference per parameter; `everything`, one `Patient/[id]/$everything` per patient (of the mapping's types).
 */
export const SUBJECT_SEARCHES = ['or-list', 'per-patient', 'everything'] as const;
export type SubjectSearch = (typeof SUBJECT_SEARCHES)[number];

export interface ChunkOptions {
  dateBounds: boolean;
  /** Default `or-list`. */
  subjectSearch?: SubjectSearch;
  signal?: AbortSignal;
}

/**
 * The chunk's patients with their data: by the searches `chunkSearches` lists (bounded to the widest look-back window
 * of the type's features when every one of them has a window), or by `$everything`; the exact window is applied in
 * code. A resource that names no patient of the chunk, or is of a type not asked for, is counted, not kept.
 */
export async function readChunk(
  client: FhirClient,
  mapping: CompiledMapping,
  patients: readonly Patient[],
  asOf: IsoDate,
  options: ChunkOptions
): Promise<ChunkRecords> {
  const byId = new Map<string, PatientRecord>();
  for (const patient of patients) {
    if (patient.id) {
      byId.set(patient.id, { patient, resources: {} });
    }
  }
  const ids = [...byId.keys()];
  const searches = chunkSearches(mapping, asOf, options.dateBounds);
  let unattributed = 0;
  const file = (type: SourceType, resources: readonly Resource[], askedFor?: string): void => {
    for (const resource of resources) {
      const patientId = patientIdOf(resource) ?? '';
      const record = byId.get(patientId);
      if (!record || resource.resourceType !== type || (askedFor !== undefined && patientId !== askedFor)) {
        unattributed++;
        continue;
      }
      (record.resources[type] ??= []).push(resource);
    }
  };
  if (ids.length && searches.length) {
    const read = READERS[options.subjectSearch ?? 'or-list'];
    await read({ client, ids, searches, file, signal: options.signal });
  }
  return { records: [...byId.values()], unattributed };
}

interface ChunkRead {
  client: FhirClient;
  ids: readonly string[];
  searches: readonly ChunkSearch[];
  /**
   * Files what came back as of `type` (the type asked for) under the patient it names — when asked about one
   * patient, only if it is that patient (another's would come again with their own search).
   */
  file: (type: SourceType, resources: readonly Resource[], askedFor?: string) => void;
  signal?: AbortSignal;
}

const READERS: Record<SubjectSearch, (read: ChunkRead) => Promise<void>> = {
  'or-list': byOrList,
  'per-patient': byPatient,
  everything: byEverything,
};

/** One search per type, the chunk's patients OR-ed (split where the URL would be too long), all types at once. */
async function byOrList({ client, ids, searches, file, signal }: ChunkRead): Promise<void> {
  await Promise.all(
    searches.map(async ({ type, subjectParam, params }) => {
      for await (const chunk of client.searchBySubjects<Resource>(type, subjectParam, ids, params, signal)) {
        file(type, chunk.resources);
      }
    })
  );
}

/** One search per patient and type, as many at once as the endpoint takes requests (`fhir.concurrency`). */
async function byPatient({ client, ids, searches, file, signal }: ChunkRead): Promise<void> {
  const pairs = ids.flatMap((id) => searches.map((search) => ({ id, search })));
  const work = async ({ id, search }: (typeof pairs)[number]) => {
    const { type, subjectParam, params } = search;
    file(type, await client.searchAll<Resource>(type, { ...params, [subjectParam]: `Patient/${id}` }, signal), id);
  };
  for await (const _done of mapConcurrently(each(pairs), client.transport.concurrency, work)) {
    // filed as each search completes
  }
}

/**
 * `Patient/[id]/$everything?_type=...` per patient, as many at once as the endpoint takes requests. The Patient
 * itself, and types not asked for (a server may ignore `_type`), are left out; no date bound is sent (servers read
 * `start`/`end` as they see fit), the windows are applied in code as always.
 */
async function byEverything({ client, ids, searches, file, signal }: ChunkRead): Promise<void> {
  const types = new Set<string>(searches.map((s) => s.type));
  const work = async (id: string) => {
    for await (const bundle of client.everything<Resource>(id, { _type: [...types].join(',') }, signal)) {
      for (const { resource } of bundle.entry ?? []) {
        if (resource && types.has(resource.resourceType)) {
          file(resource.resourceType as SourceType, [resource], id);
        }
      }
    }
  };
  for await (const _done of mapConcurrently(each(ids), client.transport.concurrency, work)) {
    // filed page by page
  }
}

async function* each<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
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
