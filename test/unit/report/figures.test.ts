import { concentration, groupContinuity, patientContinuity } from '../../../src/report';

describe('concentration', () => {
  it('gives the top shares, the Gini coefficient and the Lorenz curve of textbook cases', () => {
    const equal = concentration(Array(100).fill(3));
    expect(equal).toMatchObject({ patients: 100, events: 300, top1: 0.01, top5: 0.05, top10: 0.1, gini: 0 });
    expect(equal.lorenz.find((p) => p.population === 0.5)?.events).toBe(0.5);
    // one patient of 100 has every event: Gini (n - 1) / n
    const one = concentration([...Array(99).fill(0), 50]);
    expect(one).toMatchObject({ top1: 1, top5: 1, gini: 0.99 });
    expect(one.lorenz.find((p) => p.population === 0.99)?.events).toBe(0);
    // 1..20: the top 10% (2 patients) hold 20 + 19 of 210
    const ramp = concentration(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(ramp.top10).toBeCloseTo(39 / 210, 4);
    expect(ramp.top1).toBeCloseTo(20 / 210, 4); // the top ⌈0.2⌉ = 1 patient
    expect(ramp.gini).toBeCloseTo(19 / 60, 4); // (n - 1) / 3n for 1..n
  });

  it('is all zeros for nobody and for no events', () => {
    expect(concentration([])).toMatchObject({ patients: 0, top1: 0, gini: 0 });
    expect(concentration([0, 0, 0])).toMatchObject({ events: 0, top10: 0, gini: 0 });
  });
});

describe('continuity of care', () => {
  const visits = (gps: string) => [...gps].map((gp, i) => ({ day: `2026-01-${String(i + 10)}`, practitioner: gp }));

  it('gives UPC, Bice-Boxerman COC and SECON as defined', () => {
    // A A B A C: n 5, counts 3,1,1: UPC 3/5, COC (9+1+1-5)/(5*4) = 0.3, SECON 1 of 4 consecutive pairs
    expect(patientContinuity(visits('AABAC'))).toEqual({ visits: 5, distinctGps: 3, upc: 0.6, coc: 0.3, secon: 0.25 });
    expect(patientContinuity(visits('AAAA'))).toMatchObject({ distinctGps: 1, upc: 1, coc: 1, secon: 1 });
    expect(patientContinuity(visits('ABCD'))).toMatchObject({ distinctGps: 4, upc: 0.25, coc: 0, secon: 0 });
  });

  it('orders contacts by day before counting consecutive ones, and needs two contacts', () => {
    const shuffled = [
      { day: '2026-03-01', practitioner: 'A' },
      { day: '2026-01-01', practitioner: 'A' },
      { day: '2026-02-01', practitioner: 'B' },
    ];
    expect(patientContinuity(shuffled)?.secon).toBe(0); // A, B, A
    expect(patientContinuity(visits('A'))).toBeUndefined();
  });

  it('takes the median of each index over a group', () => {
    const group = ['AABAC', 'AAAA', 'ABCD'].map((v) => patientContinuity(visits(v))!);
    expect(groupContinuity(group)).toEqual({
      patients: 3,
      medianDistinctGps: 3,
      medianUpc: 0.6,
      medianCoc: 0.3,
      medianSecon: 0.25,
    });
    expect(groupContinuity([]).medianUpc).toBeNull();
  });
});
