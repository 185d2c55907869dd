import type { Patient } from '@medplum/fhirtypes';
import { samplePatients } from '../../../src/survey';

/** A population of `n` patients served in pages of `pageSize`, as a search would. */
async function* pages(n: number, pageSize: number): AsyncGenerator<Patient[]> {
  for (let i = 0; i < n; i += pageSize) {
    yield Array.from({ length: Math.min(pageSize, n - i) }, (_, j) => ({ resourceType: 'Patient', id: `p${i + j}` }));
  }
}
const index = (p: Patient) => Number(p.id?.slice(1));

describe('sampling the population', () => {
  it('draws across the whole population, not the first page', async () => {
    const { patients, seen } = await samplePatients(pages(2000, 100), 200, 1);
    expect(seen).toBe(2000);
    expect(patients).toHaveLength(200);
    expect(new Set(patients.map((p) => p.id)).size).toBe(200);
    const tenths = Array.from(
      { length: 10 },
      (_, t) => patients.filter((p) => Math.floor(index(p) / 200) === t).length
    );
    // Each tenth of the population holds about a tenth of the sample (20 expected; binomial sd about 4).
    tenths.forEach((n) => expect(n).toBeGreaterThanOrEqual(5));
    expect(patients.filter((p) => index(p) < 100)).not.toHaveLength(200);
  });

  it('is repeatable for a seed and differs between seeds', async () => {
    const ids = async (seed: number) => (await samplePatients(pages(1000, 50), 50, seed)).patients.map((p) => p.id);
    expect(await ids(7)).toEqual(await ids(7));
    expect(await ids(7)).not.toEqual(await ids(8));
  });

  it('takes everyone from a population smaller than the sample, and skips patients without an id', async () => {
    async function* withAnonymous(): AsyncGenerator<Patient[]> {
      yield [{ resourceType: 'Patient', id: 'a' }, { resourceType: 'Patient' }, { resourceType: 'Patient', id: 'b' }];
    }
    const { patients, seen } = await samplePatients(withAnonymous(), 500, 1);
    expect(patients.map((p) => p.id)).toEqual(['a', 'b']);
    expect(seen).toBe(2);
  });
});
