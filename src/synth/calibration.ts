import type { PatientTruth } from './population';

export interface TierThresholds {
  firstAdmissions: number;
  secondAdmissions: number;
  repeatItems: number;
}

/** The worked example's thresholds (NHS England guidance, 2022). */
export const DEFAULT_THRESHOLDS: TierThresholds = { firstAdmissions: 2, secondAdmissions: 1, repeatItems: 10 };

/** The tier the generator intended, from its own counts: what the connector's cohort must reproduce. */
export function expectedTier(
  truth: PatientTruth,
  t: TierThresholds = DEFAULT_THRESHOLDS
): 'first' | 'second' | undefined {
  if (truth.deceased || !truth.active || truth.optedOut || truth.repeatMedications < t.repeatItems) {
    return undefined;
  }
  if (truth.emergencyAdmissions >= t.firstAdmissions) {
    return 'first';
  }
  return truth.emergencyAdmissions >= t.secondAdmissions ? 'second' : undefined;
}

export interface CalibrationFigures {
  patients: number;
  firstTier: number;
  secondTier: number;
  /** Per 60,000 patients, for the top 1% by GP encounters: the pulse article's 1,925 and 54,000. */
  top1PercentEdPer60k: number;
  top1PercentGpPer60k: number;
  /** Share of all GP encounters used by the top 5% of patients (the blog's 30-40%). */
  top5PercentGpShare: number;
}

/** The figures the seeds give, measured on a generated population. */
export function calibrationFigures(truth: readonly PatientTruth[]): CalibrationFigures {
  const byGp = [...truth].sort((a, b) => b.gpEncounters - a.gpEncounters);
  const top1 = byGp.slice(0, Math.max(1, Math.round(truth.length / 100)));
  const top5 = byGp.slice(0, Math.max(1, Math.round(truth.length / 20)));
  const sum = (rows: readonly PatientTruth[], key: 'gpEncounters' | 'edAttendances'): number =>
    rows.reduce((total, row) => total + row[key], 0);
  const scale = 60_000 / truth.length;
  const tiers = truth.map((t) => expectedTier(t));
  return {
    patients: truth.length,
    firstTier: tiers.filter((t) => t === 'first').length,
    secondTier: tiers.filter((t) => t === 'second').length,
    top1PercentEdPer60k: Math.round(sum(top1, 'edAttendances') * scale),
    top1PercentGpPer60k: Math.round(sum(top1, 'gpEncounters') * scale),
    top5PercentGpShare: sum(top5, 'gpEncounters') / Math.max(1, sum(truth, 'gpEncounters')),
  };
}
