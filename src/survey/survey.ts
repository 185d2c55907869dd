import type { Patient } from '@medplum/fhirtypes';
import type { IsoDate } from '../dates';
import type { FhirClient } from '../fhir';
import type { CompiledMapping, ElementCheck, PatientRecord } from '../mappings';
import { elementChecks, FeatureEvaluationError, featureEvaluator } from '../mappings';
import { capabilitySurvey, readCapabilities } from './capability';
import { codedFields, emptyFields, unrecognisedValues, unusedExtensions } from './coded';
import { unreadTypes } from './probe';
import { quality } from './quality';
import { readRecords, resourcesOf } from './records';
import type { FeatureSurvey, SurveyReport } from './report';
import { samplePatients } from './sample';
import { spread, Tally } from './stats';
import { mappingVocabulary } from './vocabulary';

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
  /** The separate write target (`writeback.fhir`), when configured: only its `GET metadata` is read. */
  target?: FhirClient;
  signal?: AbortSignal;
}

/**
 * Surveys a sample of the population against a mapping. Reads only (GET): the Patient pages, each mapped type per
 * chunk of sampled patients, `_summary=count` searches and `metadata` (a separate target's too). Keeps codes, counts,
 * urls and ids.
 */
export async function runSurvey(
  client: FhirClient,
  mapping: CompiledMapping,
  population: SurveyPopulation,
  options: SurveyOptions
): Promise<SurveyReport> {
  const { signal } = options;
  const [statement, targetStatement, size] = await Promise.all([
    readCapabilities(client, signal),
    options.target ? readCapabilities(options.target, signal) : undefined,
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
    capability: capabilitySurvey(
      mapping,
      statement,
      { refusedPatientLists: reads.filter((r) => r.strategy === 'per-patient').map((r) => r.resourceType) },
      options.target ? { baseUrl: options.target.baseUrl, statement: targetStatement } : undefined
    ),
  };
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
    const perPatient = records.map((record) =>
      feature.resources.reduce((n, type) => n + resourcesOf(record, type).length, 0)
    );
    const counts = selected.get(feature.name) ?? { resources: 0, patients: 0 };
    return {
      name: feature.name,
      title: feature.spec.title ?? feature.name,
      description: feature.spec.description,
      resource: feature.resource,
      types: feature.resources,
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
 * as each of the value types the R4 model allows it. A feature over several types names the type of each
 * (`Appointment.start`, `Encounter.period.start`).
 */
function fieldsRead(feature: CompiledMapping['features'][number]): string[] {
  const paths = new Set<string>();
  const walk = (node: ElementCheck, prefix: string, depth: number): void => {
    const here = prefix ? `${prefix}.${node.key}` : node.key;
    if (depth > 0 || !node.children.size || node.key === 'extension') {
      paths.add(here);
      return;
    }
    node.children.forEach((child) => walk(child, here, depth + 1));
  };
  const several = feature.resources.length > 1;
  for (const [type, roots] of elementChecks({ features: [feature] })) {
    roots.forEach((root) => walk(root, several ? type : '', 0));
  }
  return [...paths].sort();
}
