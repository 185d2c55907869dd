import { quantile, spread, Tally } from '../../../src/survey';

describe('survey statistics', () => {
  it('takes quantiles by nearest rank', () => {
    const values = [7, 1, 3, 9, 5, 2, 8, 4, 6, 10];
    expect(quantile(values, 0.5)).toBe(5);
    expect(quantile(values, 0.9)).toBe(9);
    expect(quantile(values, 1)).toBe(10);
    expect(quantile([4], 0.9)).toBe(4);
    expect(quantile([], 0.5)).toBe(0);
  });

  it('summarises a skewed count: most patients have none, a few have many', () => {
    const perPatient = [...Array<number>(80).fill(0), ...Array<number>(15).fill(1), 4, 6, 9, 12, 30];
    expect(spread(perPatient)).toEqual({ median: 0, p90: 1, max: 30 });
    expect(spread([])).toEqual({ median: 0, p90: 0, max: 0 });
  });

  it('tallies most frequent first, ties by key', () => {
    const tally = new Tally();
    ['b', 'a', 'c', 'a', 'b', 'a'].forEach((k) => tally.add(k));
    tally.add('d', 2);
    expect(tally.entries()).toEqual([
      ['a', 3],
      ['b', 2],
      ['d', 2],
      ['c', 1],
    ]);
    expect(tally.get('zzz')).toBe(0);
  });
});
