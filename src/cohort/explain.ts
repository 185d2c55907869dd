import type { Decision, RuleExplanation } from '../criteria';
import { explainDecision } from '../criteria';
import type { FactValue } from '../mappings';
import type { RunDeps, RunSettings } from './run';
import { runCohort } from './run';

/** Why one patient is, or is not, a candidate: the verdict, their features with evidence, and every rule. */
export interface PatientExplanation {
  patient: string;
  asOf: string;
  candidate: boolean;
  tier?: string;
  reason: string;
  features: Record<string, FactValue>;
  evidence: Record<string, string[]>;
  tiers: RuleExplanation[];
  exclusions: RuleExplanation[];
  riskFactors: RuleExplanation[];
}

/**
 * Evaluates one patient as a run would (a targeted dry run: the programme record is read for their cool-off, nothing
 * is written). Returns why they could not be evaluated instead when they could not.
 */
export async function explainPatient(
  deps: RunDeps,
  settings: RunSettings,
  patientId: string
): Promise<{ explanation: PatientExplanation; decision: Decision } | { skipped: string }> {
  const result = await runCohort(deps, { ...settings, dryRun: true, patients: [patientId], keepAllDecisions: true });
  const decision = result.decisions?.[0];
  if (!decision) {
    return { skipped: result.skipped[0]?.reason ?? 'not found on the endpoint' };
  }
  const rules = explainDecision(deps.programme, decision);
  return {
    decision,
    explanation: {
      patient: `Patient/${patientId}`,
      asOf: result.asOf,
      ...verdict(decision),
      features: decision.facts,
      evidence: decision.evidence,
      tiers: rules.tiers ?? [],
      exclusions: rules.exclusions ?? [],
      riskFactors: rules.riskFactors ?? [],
    },
  };
}

function verdict(decision: Decision): { candidate: boolean; tier?: string; reason: string } {
  if (decision.tier) {
    return { candidate: true, tier: decision.tier, reason: `meets the ${decision.tier} tier` };
  }
  if (decision.excludedBy.length) {
    return { candidate: false, reason: `excluded: ${decision.excludedBy.join(', ')}` };
  }
  return { candidate: false, reason: 'no tier rule holds' };
}
