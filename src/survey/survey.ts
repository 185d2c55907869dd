import type { Patient, Resource } from '@medplum/fhirtypes';
import type { IsoDate } from '../dates';
import { londonDay } from '../dates';
import type { FhirClient } from '../fhir';
import { FhirError } from '../fhir';
import type { CompiledMapping, ElementCheck, PatientRecord, SourceType } from '../mappings';
import { elementChecks, FeatureEvaluationError, featureEvaluator } from '../mappings';
import { capabilitySurvey } from './capability';
import { CODED_FIELDS, NO_SYSTEM, valueKey } from './fields';
import type { CodedFieldSurvey, FeatureSurvey, QualitySurvey, SurveyReport, UnrecognisedValue } from './report';
import { samplePatients } from './sample';
import { spread, Tally } from './stats';
import type { MappingVocabulary } from './vocabulary';
import { mappingVocabulary, namesCodeSystems, placeCode, placeSystem } from './vocabulary';

/** The patients to draw from: a run's population (cohort's `Population` fits). */
export interface SurveyPopulation {
  title: string;
  pages(signal?: AbortSignal): AsyncIterable<Patient[]>;
  size(signal?: AbortSignal): Promise<number | undefined>;
}

export interface SurveyOptions {
  sample: number;
  seed: number;
  asOf: IsoDate;
  signal?: AbortSignal;
}

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

/**
 * Surveys a sample of the population against a mapping. Reads only (GET): the Patient pages, each mapped type per
 * chunk of sampled patients, `_summary=count` searches and `metadata`. Keeps codes, counts, urls and ids.
 */
export async function runSurvey(
  client: FhirClient,
  mapping: CompiledMapping,
  population: SurveyPopulation,
  options: SurveyOptions
): Promise<SurveyReport> {
  const { signal } = options;
  const [capability, size] = await Promise.all([
    capabilitySurvey(client, mapping, signal),
    population.size(signal).catch(() => undefined),
  ]);
  const sample = await samplePatients(population.pages(signal), options.sample, options.seed);
  const { records, unattributed, reads } = await readRecords(client, mapping, sample.patients, signal);
  const vocabulary = mappingVocabulary(mapping);
  const evaluated = evaluate(mapping, records, options.asOf);
  const coded = codedFields(mapping, records, vocabulary);
  return {
    endpoint: client.baseUrl,
    mapping: { name: mapping.name, file: mapping.file },
    asOf: options.asOf,
    population: { title: population.title, ...(size === undefined ? {} : { size }) },
    sample: {
      requested: options.sample,
      patients: records.length,
      read: sample.seen,
      method: 'reservoir sample over every page of the population (seeded, deterministic for the same order)',
      seed: options.seed,
    },
    reads,
    features: evaluated.features,
    notEvaluated: evaluated.notEvaluated,
    codedFields: coded,
    emptyFields: emptyFields(coded, records),
    unrecognised: unrecognisedValues(coded, vocabulary),
    unusedExtensions: unusedExtensions(records, vocabulary),
    unreadTypes: await unreadTypes(client, mapping, records, signal),
    quality: await quality(client, mapping, records, unattributed, options.asOf, signal),
    capability,
  };
}

/** The sampled patients' resources of each type the mapping reads, all history, one search per type and chunk. */
async function readRecords(
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

/**
 * The patient a resource names, as `Patient/<id>` (relative or absolute); undefined for anything else. The run has
 * the same rule (cohort's patientIdOf); the survey keeps its own so that it reads through fhir/ and mappings/ only.
 */
function patientIdOf(resource: Resource): string | undefined {
  const ref =
    (resource as { subject?: { reference?: string } }).subject?.reference ??
    (resource as { patient?: { reference?: string } }).patient?.reference;
  return ref ? /(?:^|\/)Patient\/([^/]+)$/.exec(ref)?.[1] : undefined;
}

function resourcesOf(record: PatientRecord, type: SourceType): Resource[] {
  return type === 'Patient' ? [record.patient] : (record.resources[type] ?? []);
}

/** Each feature over the sample with the mapping's own evaluation: what it reads, and what it selects. */
function evaluate(
  mapping: CompiledMapping,
  records: readonly PatientRecord[],
  asOf: IsoDate
): { features: FeatureSurvey[]; notEvaluated: SurveyReport['notEvaluated'] } {
  const evaluator = featureEvaluator(mapping, asOf);
  const selected = new Map(mapping.features.map((f) => [f.name, { resources: 0, patients: 0 }]));
  const failures = new Tally();
  const evaluatedRecords: PatientRecord[] = [];
  for (const record of records) {
    try {
      const { evidence } = evaluator(record);
      for (const [name, refs] of Object.entries(evidence)) {
        const counts = selected.get(name);
        if (counts && refs.length) {
          counts.resources += refs.length;
          counts.patients++;
        }
      }
      evaluatedRecords.push(record);
    } catch (err) {
      if (!(err instanceof FeatureEvaluationError)) {
        throw err;
      }
      // The reason starts with the resource's reference: keep the type and the problem, not the id.
      failures.add(`${err.feature}\t${err.reason.replace(/^([A-Za-z]+)\/[^:\s]+:\s*/, '$1 ')}`);
    }
  }
  const features = mapping.features.map((feature): FeatureSurvey => {
    const perPatient = records.map((record) => resourcesOf(record, feature.resource).length);
    const counts = selected.get(feature.name) ?? { resources: 0, patients: 0 };
    return {
      name: feature.name,
      title: feature.spec.title ?? feature.name,
      description: feature.spec.description,
      resource: feature.resource,
      fields: fieldsRead(feature),
      resourcesPerPatient: spread(perPatient),
      resources: perPatient.reduce((a, b) => a + b, 0),
      selected: counts.resources,
      patientsWithAny: counts.patients,
    };
  });
  const notEvaluated = failures.entries().map(([key, patients]) => {
    const [feature, problem] = key.split('\t') as [string, string];
    return { feature, problem, patients };
  });
  return { features, notEvaluated };
}

/**
 * The elements one feature reads, two levels deep (`class.code`, `period.start`); an extension as `extension`, not
 * as each of the value types the R4 model allows it.
 */
function fieldsRead(feature: CompiledMapping['features'][number]): string[] {
  const paths = new Set<string>();
  const walk = (node: ElementCheck, prefix: string): void => {
    const here = prefix ? `${prefix}.${node.key}` : node.key;
    if (prefix || !node.children.size || node.key === 'extension') {
      paths.add(here);
      return;
    }
    node.children.forEach((child) => walk(child, here));
  };
  elementChecks({ features: [feature] })
    .get(feature.resource)
    ?.forEach((root) => walk(root, ''));
  return [...paths].sort();
}

/** The coded fields the mapping reads, with every value seen and whether the mapping places it. */
function codedFields(
  mapping: CompiledMapping,
  records: readonly PatientRecord[],
  vocabulary: MappingVocabulary
): CodedFieldSurvey[] {
  const read = elementChecks(mapping);
  const readsElement = (type: SourceType) => (element: string) => read.get(type)?.has(element) ?? false;
  const urls = vocabulary.extensionUrls;
  const byFeature = mapping.features.map((f) => ({
    feature: f,
    elements: new Set(
      elementChecks({ features: [f] })
        .get(f.resource)
        ?.keys()
    ),
  }));
  const readers = (field: (typeof CODED_FIELDS)[number]): string[] =>
    byFeature
      .filter(
        ({ feature, elements }) => feature.resource === field.resource && field.elements.some((e) => elements.has(e))
      )
      .map(({ feature }) => feature.name);
  return CODED_FIELDS.filter((field) => field.elements.some(readsElement(field.resource))).map((field) => {
    const namesSystems = namesCodeSystems(
      mapping.features.filter((f) => readers(field).includes(f.name)).map((f) => f.spec)
    );
    const tally = new Tally();
    const inLists = new Tally();
    let withValue = 0;
    for (const record of records) {
      for (const resource of resourcesOf(record, field.resource)) {
        const values = field.values(resource, urls);
        if (values.length) {
          withValue++;
        }
        for (const value of values) {
          const key = field.kind === 'codes' ? valueKey(value) : (value.system ?? NO_SYSTEM);
          tally.add(key);
          if (field.kind === 'systems' && inAnyList(value, vocabulary)) {
            inLists.add(key);
          }
        }
      }
    }
    return {
      id: field.id,
      label: field.label,
      resource: field.resource,
      kind: field.kind,
      features: readers(field),
      resourcesWithValue: withValue,
      values: tally.entries().map(([value, count]) => {
        const placement =
          field.kind === 'codes'
            ? placeCode(field, parseKey(value), vocabulary)
            : placeSystem(field, value, vocabulary, readsElement(field.resource), namesSystems);
        return {
          value,
          count,
          ...placement,
          ...(field.kind === 'systems' ? { inLists: inLists.get(value) } : {}),
        };
      }),
    };
  });
}

function inAnyList(value: { system?: string; code?: string }, vocabulary: MappingVocabulary): boolean {
  return (vocabulary.bySystem.get(value.system ?? '') ?? []).some((list) => list.codes.has(value.code ?? ''));
}

function parseKey(key: string): { system?: string; code?: string } {
  const bar = key.lastIndexOf('|');
  return bar < 0 ? { code: key } : { system: key.slice(0, bar), code: key.slice(bar + 1) };
}

/** Fields the mapping reads that no sampled record of the type carries (a local extension the mapping skips aside). */
function emptyFields(fields: readonly CodedFieldSurvey[], records: readonly PatientRecord[]): string[] {
  const unread = new Set(CODED_FIELDS.filter((f) => f.unread).map((f) => f.id));
  return fields
    .filter((field) => field.resourcesWithValue === 0 && !unread.has(field.id))
    .filter((field) => records.some((record) => resourcesOf(record, field.resource as SourceType).length > 0))
    .map((field) => field.id);
}

/** Sentences for the values the mapping cannot place: "admission method 2E seen 14 times: in neither ... nor ...". */
function unrecognisedValues(fields: readonly CodedFieldSurvey[], vocabulary: MappingVocabulary): UnrecognisedValue[] {
  return fields.flatMap((field) =>
    field.values
      .filter((v) => !v.recognised)
      .map((v) => ({
        field: field.id,
        value: v.value,
        count: v.count,
        features: field.features,
        lists: (vocabulary.bySystem.get(field.kind === 'codes' ? (parseKey(v.value).system ?? '') : v.value) ?? []).map(
          (list) => list.id
        ),
        message: `${field.label}: ${v.value} seen ${v.count} ${v.count === 1 ? 'time' : 'times'}: ${v.note}`,
      }))
  );
}

/** Extensions anywhere in the sampled resources whose url the mapping does not name, by type and element. */
function unusedExtensions(
  records: readonly PatientRecord[],
  vocabulary: MappingVocabulary
): SurveyReport['unusedExtensions'] {
  const tally = new Tally();
  // An extension's own sub-extensions (`ombCategory` in US Core race) belong to it: only the outer url is reported.
  const visit = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      value.forEach((item) => visit(item, path));
      return;
    }
    if (!value || typeof value !== 'object') {
      return;
    }
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      const isExtension = key === 'extension' || key === 'modifierExtension';
      if (isExtension && Array.isArray(child)) {
        for (const extension of child as { url?: unknown }[]) {
          if (typeof extension?.url === 'string' && !vocabulary.extensionUrls.has(extension.url)) {
            tally.add(`${path}.${key}\t${extension.url}`);
          }
        }
      } else if (key !== 'contained') {
        visit(child, `${path}.${key}`);
      }
    }
  };
  for (const record of records) {
    visit(record.patient, 'Patient');
    for (const [type, resources] of Object.entries(record.resources)) {
      resources?.forEach((resource) => visit(resource, type));
    }
  }
  return tally.entries().map(([key, count]) => {
    const [path, url] = key.split('\t') as [string, string];
    return { resource: path.split('.')[0] as string, path, url, count };
  });
}

/** Records of types the mapping does not read, for the sampled patients (`_summary=count` per type and chunk). */
async function unreadTypes(
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

/** Dates in the future or before birth, references that name no sampled patient, entered in error, no period. */
async function quality(
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
  const dates = mapping.features.flatMap((f) => (f.resource === type && f.date ? [f.date] : []));
  const row: QualitySurvey = {
    resource: type,
    resources: 0,
    futureDates: 0,
    datesBeforeBirth: 0,
    unresolvedPatientReferences: 0,
    enteredInError: 0,
    ...(type === 'Encounter' ? { withoutPeriod: 0 } : {}),
  };
  for (const record of records) {
    const birth = londonDay(record.patient.birthDate);
    for (const resource of resourcesOf(record, type)) {
      const days = dates.flatMap((date) => safeDates(() => date(resource, variables)));
      if (type === 'Patient' && birth) {
        days.push(birth);
      }
      row.resources++;
      row.futureDates += days.some((day) => day > asOf) ? 1 : 0;
      row.datesBeforeBirth += birth && type !== 'Patient' && days.some((day) => day < birth) ? 1 : 0;
      row.enteredInError += enteredInError(resource) ? 1 : 0;
      if (row.withoutPeriod !== undefined && !(resource as { period?: { start?: string } }).period?.start) {
        row.withoutPeriod++;
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

function enteredInError(resource: Resource): boolean {
  const status = (resource as { status?: unknown }).status;
  const verification = (resource as { verificationStatus?: { coding?: { code?: string }[] } }).verificationStatus;
  return status === 'entered-in-error' || Boolean(verification?.coding?.some((c) => c.code === 'entered-in-error'));
}
