import { setImmediate } from 'node:timers/promises';
import type { Decision, Programme } from '../criteria';
import { decide, lifecycleParameters } from '../criteria';
import type { IsoDate } from '../dates';
import type { ProgrammeRecord } from '../lifecycle';
import { isCoolingOff, standingOf } from '../lifecycle';
import type { FeatureEvaluator, PatientRecord } from '../mappings';
import { FeatureEvaluationError } from '../mappings';

/** What a decision needs besides the patient's data: the programme, the date, and the record (for cool-off). */
export interface EvaluationContext {
  programme: Programme;
  evaluate: FeatureEvaluator;
  asOf: IsoDate;
  record: ProgrammeRecord;
}

/** One patient evaluated: the decision, or why their data could not be evaluated (they are skipped). */
export type Evaluation =
  | { patientId: string; decision: Decision }
  | { patientId: string; malformed: { feature: string; reason: string; message: string } };

/** One patient's decision from their data and where the record says they stand. Pure. */
export function evaluatePatient(record: PatientRecord, ctx: EvaluationContext): Evaluation {
  const patientId = record.patient.id as string;
  let features;
  try {
    features = ctx.evaluate(record);
  } catch (err) {
    if (!(err instanceof FeatureEvaluationError)) {
      throw err;
    }
    return { patientId, malformed: { feature: err.feature, reason: err.reason, message: err.message } };
  }
  const standing = standingOf(ctx.record.patients.get(patientId));
  const { coolOffDays } = lifecycleParameters(ctx.programme);
  const decision = decide(ctx.programme, patientId, features, (tier) => ({
    coolingOff: isCoolingOff(standing, tier, ctx.asOf, coolOffDays),
  }));
  return { patientId, decision };
}

/** Longest stretch of evaluation between two turns of the event loop. */
const EVALUATION_SLICE_MS = 1;

/** A chunk's patients evaluated in slices, letting the event loop run between them. */
export async function evaluateChunk(records: readonly PatientRecord[], ctx: EvaluationContext): Promise<Evaluation[]> {
  const evaluations: Evaluation[] = [];
  let slice = performance.now();
  for (const record of records) {
    evaluations.push(evaluatePatient(record, ctx));
    if (performance.now() - slice > EVALUATION_SLICE_MS) {
      // Let the event loop send the next searches and take in their answers: evaluating a whole chunk at once
      // leaves the FHIR server idle meanwhile (measured at 5,000 patients: the dry run took 1.69x the raw fetch
      // with both processes ~60% busy; 1.25x with 5 ms slices; at 10,000, 1.19-1.25x with 2 ms, 1.15-1.18x with 1 ms).
      await setImmediate();
      slice = performance.now();
    }
  }
  return evaluations;
}
