import { calibrationFigures, synthesizePractice } from '../../../src/synth';

const AS_OF = '2026-11-23';
const practice = synthesizePractice({ patients: 5000, seed: 1, asOf: AS_OF });

describe('calibration against the seeds (5,000-patient practice, seed 1)', () => {
  const figures = calibrationFigures(practice.truth);

  it('puts 5-10 patients in the first-priority tier and 20-40 in the second (worked example: 7 and 29)', () => {
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
    const f = calibrationFigures(large.truth);
    expect(f.firstTier / 20).toBeGreaterThanOrEqual(1);
    expect(f.firstTier / 20).toBeLessThanOrEqual(2.5);
    expect(f.secondTier / 20).toBeGreaterThanOrEqual(4);
    expect(f.secondTier / 20).toBeLessThanOrEqual(8);
  });
});
