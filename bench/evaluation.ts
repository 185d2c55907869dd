/**
 * Evaluation alone: features and criteria over patients already in memory (no HTTP, no JSON), on this one thread —
 * the connector's own cost per patient, in patients per second per core.
 */
import type { Patient } from '@medplum/fhirtypes';
import { decide } from '../src/criteria';
import { rulesFrom } from '../src/cohort';
import { configSchema } from '../src/config';
import type { PatientRecord, SourceType } from '../src/mappings';
import { featureEvaluator } from '../src/mappings';
import { generatePatients } from '../src/synth';
import { median, report } from './report';
import { AS_OF } from './run-vs-raw';

export function benchEvaluation(patients: number, mapping = 'uk-core'): number {
  const rules = rulesFrom(configSchema.parse({ mapping }));
  const records = syntheticRecords(patients, new Set(rules.mapping.resourceTypes));
  const evaluate = featureEvaluator(rules.mapping, AS_OF);
  const once = (): number => {
    const started = performance.now();
    let candidates = 0;
    for (const record of records) {
      const decision = decide(rules.programme, record.patient.id as string, evaluate(record));
      candidates += decision.tier ? 1 : 0;
    }
    if (!candidates) {
      throw new Error('no candidates: the benchmark population is wrong');
    }
    return performance.now() - started;
  };
  once(); // warm-up: compile and optimise before measuring
  const ms = median([once(), once(), once()]);
  const rate = patients / (ms / 1000);
  report(`evaluation alone (${mapping} mapping, ${patients.toLocaleString('en-GB')} patients in memory, one core)`, {
    'median of 3': `${(ms / 1000).toFixed(2)} s`,
    'patients/s/core': `${Math.round(rate).toLocaleString('en-GB')} (target >= 2,000: ${rate >= 2000 ? 'met' : 'NOT met'})`,
  });
  return rate;
}

/** Patients as a run holds them after reading: the Patient, and their resources of the mapping's types by type. */
function syntheticRecords(patients: number, types: ReadonlySet<string>): PatientRecord[] {
  const records: PatientRecord[] = [];
  for (const synth of generatePatients({ patients, seed: 1, asOf: AS_OF })) {
    const patient = synth.resources.find((r): r is Patient => r.resourceType === 'Patient') as Patient;
    const record: PatientRecord = { patient, resources: {} };
    for (const resource of synth.resources) {
      if (resource !== patient && types.has(resource.resourceType)) {
        (record.resources[resource.resourceType as SourceType] ??= []).push(resource);
      }
    }
    records.push(record);
  }
  return records;
}
