import { synthesizePractice } from '../../../src/synth';
import { calibrationFigures, countsFromResources, expectedTiers } from '../../helpers/tiers';

const AS_OF = '2026-11-23';
const practice = synthesizePractice({ patients: 5000, seed: 1, asOf: AS_OF });

describe('calibration against the seeds (5,000-patient practice, seed 1)', () => {
  const figures = calibrationFigures(practice.resources, AS_OF);

  it('puts 5-10 patients in the first-priority tier and 20-40 in the second (worked example: 7 and 29)', () => {
    expect(figures.patients).toBe(5000);
    expect(figures.firstTier).toBeGreaterThanOrEqual(5);
    expect(figures.firstTier).toBeLessThanOrEqual(10);
    expect(figures.secondTier).toBeGreaterThanOrEqual(20);
    expect(figures.secondTier).toBeLessThanOrEqual(40);
  });

  it('gives the top 1% about 1,925 ED attendances and 54,000 GP encounters a year per 60,000 patients', () => {
    expect(figures.top1PercentEdPer60k).toBeGreaterThan(1925 * 0.75);
    expect(figures.top1PercentEdPer60k).toBeLessThan(1925 * 1.25);
    expect(figures.top1PercentGpPer60k).toBeGreaterThan(54_000 * 0.8);
    expect(figures.top1PercentGpPer60k).toBeLessThan(54_000 * 1.2);
  });

  it('has 5% of patients using 30-40% of GP appointments', () => {
    expect(figures.top5PercentGpShare).toBeGreaterThanOrEqual(0.3);
    expect(figures.top5PercentGpShare).toBeLessThanOrEqual(0.4);
  });

  it('keeps the tier rates near 1-2 and ~6 per 1,000 over a larger population', () => {
    const large = synthesizePractice({ patients: 20_000, seed: 7, asOf: AS_OF });
    const f = calibrationFigures(large.resources, AS_OF);
    expect(f.firstTier / 20).toBeGreaterThanOrEqual(1);
    expect(f.firstTier / 20).toBeLessThanOrEqual(2.5);
    expect(f.secondTier / 20).toBeGreaterThanOrEqual(4);
    expect(f.secondTier / 20).toBeLessThanOrEqual(8);
  });
});

describe('the generator', () => {
  it('emits resources that say what it meant: the counts read from them are the ones it kept', () => {
    const counts = countsFromResources(practice.resources, AS_OF);
    expect(counts.size).toBe(practice.truth.length);
    for (const truth of practice.truth) {
      const read = counts.get(truth.patientId);
      expect({ id: truth.patientId, ...read }).toEqual({
        id: truth.patientId,
        patientId: truth.patientId,
        emergencyAdmissions: truth.emergencyAdmissions,
        repeatMedications: truth.repeatMedications,
        edAttendances: truth.edAttendances,
        gpEncounters: truth.gpEncounters,
        deceased: truth.deceased,
        registered: truth.active,
        optedOut: truth.optedOut,
      });
    }
  });

  it('gives a cohort the oracle reads from its resources', () => {
    const tiers = [...expectedTiers(practice.resources, AS_OF).values()];
    expect(tiers.filter((t) => t === 'first')).toHaveLength(7);
    expect(tiers.filter((t) => t === 'second')).toHaveLength(29);
  });
});
