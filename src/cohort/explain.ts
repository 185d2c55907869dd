import type { Patient } from '@medplum/fhirtypes';
import { dominantRisk, proposedOwnerOf } from '../allocation';
import type { Decision, RuleExplanation } from '../criteria';
import { explainDecision } from '../criteria';
import { evaluatePatient } from '../evaluate';
import type { PatientInProgramme, Stage } from '../lifecycle';
import { readPatientProgramme, standingOf } from '../lifecycle';
import type { FactValue, PatientRecord } from '../mappings';
import { featureEvaluator } from '../mappings';
import { readChunk, readFailure, resolvePopulation, unreadReason } from '../read';
import type { RiskType } from '../vocabulary';
import type { RunDeps, RunSettings } from './configure';
import { sourceReferences } from './configure';

/** Where the patient is in the programme, as the record says, and the dominant risk this evaluation gives. */
export interface ProgrammePlace {
  /** Absent when the programme has never proposed them. */
  stage?: Stage;
  episode?: number;
  dominantRisk: RiskType;
  /** Who owns their care: allocated (the care plan's author) or proposed (on the review). */
  owner?: { reference: string; status: 'allocated' | 'proposed' };
}

/** Why one patient is, or is not, a candidate: the verdict, their features with evidence, and every rule. */
export interface PatientExplanation {
  patient: string;
  asOf: string;
  candidate: boolean;
  tier?: string;
  reason: string;
  programme: ProgrammePlace;
  features: Record<string, FactValue>;
  evidence: Record<string, string[]>;
  tiers: RuleExplanation[];
  exclusions: RuleExplanation[];
  riskFactors: RuleExplanation[];
}

type Explained = { explanation: PatientExplanation; decision: Decision } | { skipped: string };

/**
 * Evaluates one patient as a run would: their Patient and data, and their own resources of the programme (for the
 * cool-off and where they stand). Nothing is written. Returns why they could not be evaluated instead when they could
 * not.
 */
export async function explainPatient(deps: RunDeps, settings: RunSettings, patientId: string): Promise<Explained> {
  const { programme, mapping } = deps;
  const { asOf } = settings;
  let read: { record?: PatientRecord; place?: PatientInProgramme; inPopulation: boolean };
  try {
    read = await readOne(deps, settings, patientId);
  } catch (err) {
    return { skipped: unreadReason(readFailure(err)) };
  }
  if (!read.record) {
    return { skipped: 'not found on the endpoint' };
  }
  if (!read.inPopulation && !read.place) {
    return { skipped: 'not in the population this configuration reads' };
  }
  const patients = new Map(read.place ? [[patientId, read.place]] : []);
  const context = { programme, evaluate: featureEvaluator(mapping, asOf), asOf, record: { patients } };
  const evaluation = evaluatePatient(read.record, context);
  if ('malformed' in evaluation) {
    return { skipped: `malformed data: ${evaluation.malformed.message}` };
  }
  const { decision } = evaluation;
  const rules = explainDecision(programme, decision);
  return {
    decision,
    explanation: {
      patient: `Patient/${patientId}`,
      asOf,
      ...verdict(decision),
      programme: placeOf(read.place, dominantRisk(programme, decision.facts)),
      features: decision.facts,
      evidence: decision.evidence,
      tiers: rules.tiers ?? [],
      exclusions: rules.exclusions ?? [],
      riskFactors: rules.riskFactors ?? [],
    },
  };
}

/** The patient, their data, and their resources of the programme: three reads about one patient, none about others. */
async function readOne(
  deps: RunDeps,
  settings: RunSettings,
  patientId: string
): Promise<{ record?: PatientRecord; place?: PatientInProgramme; inPopulation: boolean }> {
  const { source, programme, mapping } = deps;
  const { signal } = settings;
  const [population, found, place] = await Promise.all([
    resolvePopulation(source, settings.scope, signal),
    source.searchAll<Patient>('Patient', { _id: patientId }, signal),
    readPatientProgramme(deps.record, programme.id, patientId, sourceReferences(deps), signal),
  ]);
  const patient = found.find((p) => p.resourceType === 'Patient' && p.id === patientId);
  if (!patient) {
    return { place, inPopulation: false };
  }
  const options = { dateBounds: settings.dateBounds, signal };
  const { records } = await readChunk(source, mapping, [patient], settings.asOf, options);
  return { record: records[0], place, inPopulation: population.includes(patient) };
}

function placeOf(patient: PatientInProgramme | undefined, risk: RiskType): ProgrammePlace {
  const { latest, stage } = standingOf(patient);
  const author = latest?.carePlan?.author?.reference;
  const allocated = author && /^(PractitionerRole|Practitioner|CareTeam)\//.test(author) ? author : undefined;
  const proposed = proposedOwnerOf(latest?.review);
  const owner = allocated
    ? { reference: allocated, status: 'allocated' as const }
    : proposed
      ? { reference: proposed, status: 'proposed' as const }
      : undefined;
  return { ...(stage ? { stage, episode: latest?.number } : {}), dominantRisk: risk, ...(owner ? { owner } : {}) };
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
