import { mean, quantile, round, seededRandom } from './stats';

/** The outcomes compared before and after the index date. */
export const OUTCOMES = ['emergencyAdmissions', 'edAttendances'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/**
 * One patient's use before and after their index date: the enrolment date for the enrolled, the same date for the
 * comparison patients who qualified (or nearly qualified) then. Rates are per patient-year.
 */
export interface PatientSeries {
  before: Record<Outcome, number>;
  after: Record<Outcome, number>;
}

export type Verdict =
  | 'too few patients to say'
  | 'no difference detected'
  | 'fewer admissions than the comparison group'
  | 'more admissions than the comparison group';

export interface Interval {
  estimate: number;
  low: number;
  high: number;
}

/** Mean rates per patient-year of one group, before and after. */
export interface GroupRates {
  patients: number;
  before: number;
  after: number;
}

export interface OutcomeEstimate {
  enrolled: GroupRates;
  comparison: GroupRates;
  /** Difference in differences: the enrolled's change less the comparison group's, per patient-year, 95% CI. */
  difference: Interval | null;
  /** The same as a proportion: the enrolled's after/before ratio over the comparison's, less one (−0.2: 20% fewer). */
  relative: Interval | null;
  /**
   * The enrolled alone, after less before: what regression to the mean produces even when the programme does
   * nothing, since they were chosen for having had many admissions. Never the estimate of the effect.
   */
  naiveBeforeAfter: { difference: number; relative: number | null };
}

export interface ImpactSettings {
  minGroupSize: number;
  bootstrapSamples: number;
  seed: number;
}

/** The estimate for one outcome: difference in differences with a seeded bootstrap over patients in each group. */
export function estimate(
  outcome: Outcome,
  enrolled: readonly PatientSeries[],
  comparison: readonly PatientSeries[],
  settings: ImpactSettings
): OutcomeEstimate {
  const rates = (group: readonly PatientSeries[]): GroupRates => ({
    patients: group.length,
    before: round(mean(group.map((p) => p.before[outcome])), 4),
    after: round(mean(group.map((p) => p.after[outcome])), 4),
  });
  const e = summary(enrolled, outcome);
  const naive = {
    difference: round(e.after - e.before, 4),
    relative: e.before ? round(e.after / e.before - 1, 4) : null,
  };
  const base = { enrolled: rates(enrolled), comparison: rates(comparison), naiveBeforeAfter: naive };
  if (!enrolled.length || !comparison.length) {
    return { ...base, difference: null, relative: null };
  }
  const point = contrast(e, summary(comparison, outcome));
  const draws = bootstrap(outcome, enrolled, comparison, settings);
  const interval = (value: number | null, values: number[]): Interval | null =>
    value === null || !values.length
      ? null
      : { estimate: round(value, 4), low: round(quantile(values, 0.025), 4), high: round(quantile(values, 0.975), 4) };
  return {
    ...base,
    difference: interval(point.difference, draws.difference),
    relative: interval(point.relative, draws.relative),
  };
}

/** The plain verdict on one estimate: whether the interval excludes no effect, and which way. */
export function verdict(estimate: OutcomeEstimate, minGroupSize: number): Verdict {
  const ci = estimate.difference;
  if (!ci || estimate.enrolled.patients < minGroupSize || estimate.comparison.patients < minGroupSize) {
    return 'too few patients to say';
  }
  if (ci.high < 0) {
    return 'fewer admissions than the comparison group';
  }
  return ci.low > 0 ? 'more admissions than the comparison group' : 'no difference detected';
}

interface Summary {
  before: number;
  after: number;
}

function summary(group: readonly PatientSeries[], outcome: Outcome): Summary {
  return { before: mean(group.map((p) => p.before[outcome])), after: mean(group.map((p) => p.after[outcome])) };
}

function contrast(enrolled: Summary, comparison: Summary): { difference: number; relative: number | null } {
  const difference = enrolled.after - enrolled.before - (comparison.after - comparison.before);
  const ratio = (s: Summary) => (s.before ? s.after / s.before : NaN);
  const relative = ratio(enrolled) / ratio(comparison) - 1;
  return { difference, relative: Number.isFinite(relative) ? relative : null };
}

/** Resamples each group's patients with replacement, `bootstrapSamples` times; the contrasts sorted. */
function bootstrap(
  outcome: Outcome,
  enrolled: readonly PatientSeries[],
  comparison: readonly PatientSeries[],
  settings: ImpactSettings
): { difference: number[]; relative: number[] } {
  const random = seededRandom(settings.seed);
  const resample = (group: readonly PatientSeries[]): Summary => {
    let before = 0;
    let after = 0;
    for (let i = 0; i < group.length; i++) {
      const p = group[Math.floor(random() * group.length)] as PatientSeries;
      before += p.before[outcome];
      after += p.after[outcome];
    }
    return { before: before / group.length, after: after / group.length };
  };
  const difference: number[] = [];
  const relative: number[] = [];
  for (let b = 0; b < settings.bootstrapSamples; b++) {
    const c = contrast(resample(enrolled), resample(comparison));
    difference.push(c.difference);
    if (c.relative !== null) {
      relative.push(c.relative);
    }
  }
  const ascending = (a: number, b: number) => a - b;
  return { difference: difference.sort(ascending), relative: relative.sort(ascending) };
}
