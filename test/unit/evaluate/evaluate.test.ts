import type { Task } from '@medplum/fhirtypes';
import { rulesFrom } from '../../../src/cohort';
import { configSchema } from '../../../src/config';
import type { Decision } from '../../../src/criteria';
import type { EvaluationContext } from '../../../src/evaluate';
import { COVERAGE_MIN_POPULATION, evaluateChunk, evaluatePatient, FeatureCoverage } from '../../../src/evaluate';
import type { PatientInProgramme } from '../../../src/lifecycle';
import type { PatientRecord, SourceType } from '../../../src/mappings';
import { FeatureEvaluationError, featureEvaluator } from '../../../src/mappings';
import { patientIdOf } from '../../../src/fhir';
import { synthesizePractice } from '../../../src/synth';
import { TIER_CODE } from '../../../src/vocabulary';

const AS_OF = '2026-11-23';
const { mapping, programme } = rulesFrom(configSchema.parse({}));
const practice = synthesizePractice({ patients: 300, seed: 7, asOf: AS_OF });

/** The generator's resources filed by patient, as a read hands them on. */
const records: PatientRecord[] = (() => {
  const byId = new Map<string, PatientRecord>();
  for (const r of practice.resources) {
    if (r.resourceType === 'Patient') {
      byId.set(r.id as string, { patient: r, resources: {} });
    }
  }
  for (const r of practice.resources) {
    const record = r.resourceType === 'Patient' ? undefined : byId.get(patientIdOf(r) ?? '');
    if (record) {
      (record.resources[r.resourceType as SourceType] ??= []).push(r);
    }
  }
  return [...byId.values()];
})();

const context = (patients = new Map<string, PatientInProgramme>()): EvaluationContext => ({
  programme,
  evaluate: featureEvaluator(mapping, AS_OF),
  asOf: AS_OF,
  record: { patients },
});

describe('evaluating a patient', () => {
  const decisionOf = (r: PatientRecord) => {
    const evaluation = evaluatePatient(r, context());
    return 'decision' in evaluation ? evaluation.decision : undefined;
  };
  const candidate = records.find((r) => decisionOf(r)?.tier) as PatientRecord;

  it('decides their tier from their data', () => {
    const evaluation = evaluatePatient(candidate, context()) as { patientId: string; decision: Decision };
    expect(evaluation.patientId).toBe(candidate.patient.id);
    expect(evaluation.decision.tier).toMatch(/^(first|second)$/);
    expect(evaluation.decision.excludedBy).toEqual([]);
  });

  it('holds back a patient the MDT declined within the cool-off, at the same tier, from the record it is given', () => {
    const tier = (evaluatePatient(candidate, context()) as { decision: Decision }).decision.tier as 'first' | 'second';
    const declined: Task = {
      resourceType: 'Task',
      status: 'rejected',
      intent: 'proposal',
      lastModified: '2026-11-01T10:00:00Z',
      reasonCode: { coding: [TIER_CODE[tier]] },
    };
    const id = candidate.patient.id as string;
    const record = new Map([[id, { patientId: id, episodes: [{ number: 1, review: declined, checkIns: new Map() }] }]]);
    const evaluation = evaluatePatient(candidate, context(record)) as { decision: Decision };
    expect(evaluation.decision.excludedBy).toEqual(['cool-off']);
    expect(evaluation.decision.tier).toBeUndefined();
  });

  it('reports data that cannot be evaluated instead of deciding', () => {
    const ctx = context();
    const real = ctx.evaluate;
    ctx.evaluate = (r) => {
      if (r === candidate) {
        throw new FeatureEvaluationError('unplannedAdmissions', 'period.start is not a date');
      }
      return real(r);
    };
    expect(evaluatePatient(candidate, ctx)).toEqual({
      patientId: candidate.patient.id,
      malformed: {
        feature: 'unplannedAdmissions',
        reason: 'period.start is not a date',
        message: 'feature unplannedAdmissions: period.start is not a date',
      },
    });
  });
});

describe('evaluating a chunk', () => {
  it('gives one evaluation per patient, in order, and lets the event loop run when it takes more than a moment', async () => {
    const ctx = context();
    const real = ctx.evaluate;
    const events: string[] = [];
    ctx.evaluate = (r) => {
      const until = performance.now() + 2;
      while (performance.now() < until) {
        // a slow patient: 2 ms
      }
      events.push('patient');
      return real(r);
    };
    setImmediate(() => events.push('event loop'));
    const evaluations = await evaluateChunk(records.slice(0, 5), ctx);
    expect(evaluations.map((e) => e.patientId)).toEqual(records.slice(0, 5).map((r) => r.patient.id));
    expect(events.indexOf('event loop')).toBeGreaterThan(0);
    expect(events.indexOf('event loop')).toBeLessThan(events.length - 1);
  });
});

describe('feature coverage', () => {
  const decision = (evidence: Record<string, string[]>): Decision => ({
    patientId: 'p',
    facts: {},
    evidence,
    excludedBy: [],
    riskFactors: [],
  });

  it('names the features that matched nothing, once the population is big enough to tell', () => {
    const coverage = new FeatureCoverage();
    for (let i = 0; i < COVERAGE_MIN_POPULATION - 1; i++) {
      coverage.add(decision({ carer: [], frailty: i === 3 ? ['Observation/1'] : [] }));
    }
    expect(coverage.unmatched()).toEqual({ features: [], patients: COVERAGE_MIN_POPULATION - 1 });
    coverage.add(decision({ carer: [], frailty: [] }));
    expect(coverage.unmatched()).toEqual({ features: ['carer'], patients: COVERAGE_MIN_POPULATION });
  });
});
