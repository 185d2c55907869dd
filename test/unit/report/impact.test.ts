import type { PatientSeries } from '../../../src/report';
import { estimate, verdict } from '../../../src/report';

/**
 * Constructed per-patient series whose true effect is known. Each patient has a latent admission rate (most low, a
 * few high); patients are chosen, as the programme chooses them, for 2 or more admissions in the year before, and
 * the chosen are split at random into enrolled and comparison (a lottery over capacity). After the index date each
 * has Poisson(rate) admissions a year, the enrolled Poisson(rate × (1 + effect)). Chosen for a high year, both groups
 * fall afterwards whatever the effect: regression to the mean.
 */
function population(effect: number, candidates: number, seed: number) {
  const random = mulberry32(seed);
  const enrolled: PatientSeries[] = [];
  const comparison: PatientSeries[] = [];
  const enrolledRates: number[] = [];
  while (enrolled.length + comparison.length < candidates) {
    const u = random();
    const rate = u < 0.8 ? 0.2 : u < 0.95 ? 1 : 3;
    const before = poisson(rate, random);
    if (before < 2) {
      continue;
    }
    const isEnrolled = random() < 0.5;
    const after = poisson(rate * (isEnrolled ? 1 + effect : 1), random);
    const ed = poisson(rate, random);
    const series = {
      before: { emergencyAdmissions: before, edAttendances: ed },
      after: { emergencyAdmissions: after, edAttendances: poisson(rate, random) },
    };
    if (isEnrolled) {
      enrolled.push(series);
      enrolledRates.push(rate);
    } else {
      comparison.push(series);
    }
  }
  const meanRate = enrolledRates.reduce((s, r) => s + r, 0) / enrolledRates.length;
  return { enrolled, comparison, trueDifference: effect * meanRate };
}

const SETTINGS = { minGroupSize: 30, bootstrapSamples: 1000, seed: 7 };

describe('impact: difference in differences against a comparison group', () => {
  it('with no effect the interval contains 0, while the enrolled alone show a large fall', () => {
    const { enrolled, comparison } = population(0, 6000, 11);
    const result = estimate('emergencyAdmissions', enrolled, comparison, SETTINGS);
    expect(result.difference?.low).toBeLessThan(0);
    expect(result.difference?.high).toBeGreaterThan(0);
    expect(result.naiveBeforeAfter.relative).toBeLessThan(-0.3); // regression to the mean alone
    expect(result.naiveBeforeAfter.difference).toBeLessThan(-0.5);
    expect(verdict(result, SETTINGS.minGroupSize)).toBe('no difference detected');
  });

  it.each([-0.2, -0.4])('with effect %p the interval contains the true effect and excludes 0', (effect) => {
    const { enrolled, comparison, trueDifference } = population(effect, 8000, 23);
    const result = estimate('emergencyAdmissions', enrolled, comparison, SETTINGS);
    const ci = result.difference!;
    expect(ci.low).toBeLessThanOrEqual(trueDifference);
    expect(ci.high).toBeGreaterThanOrEqual(trueDifference);
    expect(ci.high).toBeLessThan(0);
    const relative = result.relative!;
    expect(relative.low).toBeLessThanOrEqual(effect);
    expect(relative.high).toBeGreaterThanOrEqual(effect);
    expect(verdict(result, SETTINGS.minGroupSize)).toBe('fewer admissions than the comparison group');
  });

  it('with tiny groups the verdict is "too few patients to say", whatever the estimate', () => {
    const { enrolled, comparison } = population(-0.4, 20, 5);
    const result = estimate('emergencyAdmissions', enrolled, comparison, SETTINGS);
    expect(result.enrolled.patients + result.comparison.patients).toBe(20);
    expect(verdict(result, SETTINGS.minGroupSize)).toBe('too few patients to say');
    const none = estimate('emergencyAdmissions', enrolled, [], SETTINGS);
    expect(none.difference).toBeNull();
    expect(verdict(none, SETTINGS.minGroupSize)).toBe('too few patients to say');
  });

  it('gives the same interval for the same data and seed, and computes the point estimate exactly', () => {
    const enrolled = [series(4, 1), series(2, 2), series(3, 0)];
    const comparison = [series(3, 2), series(2, 1)];
    const a = estimate('emergencyAdmissions', enrolled, comparison, SETTINGS);
    const b = estimate('emergencyAdmissions', enrolled, comparison, SETTINGS);
    expect(a).toEqual(b);
    // enrolled 3 -> 1 (change -2), comparison 2.5 -> 1.5 (change -1): difference -1; ratios (1/3) / (0.6) - 1
    expect(a.difference?.estimate).toBeCloseTo(-1, 10);
    expect(a.relative?.estimate).toBeCloseTo(1 / 3 / 0.6 - 1, 3);
    expect(a.naiveBeforeAfter.difference).toBeCloseTo(-2, 10);
    expect(a.difference!.low).toBeLessThanOrEqual(a.difference!.estimate);
    expect(a.difference!.high).toBeGreaterThanOrEqual(a.difference!.estimate);
  });
});

function series(before: number, after: number): PatientSeries {
  return {
    before: { emergencyAdmissions: before, edAttendances: 0 },
    after: { emergencyAdmissions: after, edAttendances: 0 },
  };
}

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    let t = (state += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Knuth's method: fine for the small rates here. */
function poisson(rate: number, random: () => number): number {
  const limit = Math.exp(-rate);
  let k = 0;
  let p = random();
  while (p > limit) {
    k++;
    p *= random();
  }
  return k;
}
