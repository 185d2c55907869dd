import type { CohortEntry } from '../../../src/lifecycle';
import { CohortView } from '../../../src/service/cohort-view';

const entry = (patient: string): CohortEntry => ({ patient, stage: 'under-review', episode: 1, evidence: [] });

/** A read of the record that counts how often it was made and answers what the test sets. */
function reader(): {
  read: () => Promise<CohortEntry[]>;
  reads: () => number;
  answer: (next: () => Promise<CohortEntry[]>) => void;
} {
  let reads = 0;
  let next = async (): Promise<CohortEntry[]> => [entry(`Patient/p${reads}`)];
  return {
    read: () => {
      reads++;
      return next();
    },
    reads: () => reads,
    answer: (fn) => (next = fn),
  };
}

describe('CohortView', () => {
  it('reads once for many requests, concurrent ones included', async () => {
    const r = reader();
    const view = new CohortView(r.read);
    const [a, b] = await Promise.all([view.entries(), view.entries()]);
    expect(await view.entries()).toBe(a);
    expect(b).toBe(a);
    expect(r.reads()).toBe(1);
  });

  it('reads again after invalidate', async () => {
    const r = reader();
    const view = new CohortView(r.read);
    expect((await view.entries())[0]?.patient).toBe('Patient/p1');
    view.invalidate();
    expect((await view.entries())[0]?.patient).toBe('Patient/p2');
    expect(r.reads()).toBe(2);
  });

  it('does not keep a failed read', async () => {
    const r = reader();
    r.answer(async () => {
      throw new Error('the endpoint is down');
    });
    const view = new CohortView(r.read);
    await expect(view.entries()).rejects.toThrow('the endpoint is down');
    r.answer(async () => [entry('Patient/back')]);
    expect(await view.entries()).toEqual([entry('Patient/back')]);
    expect(r.reads()).toBe(2);
  });

  it('a read overtaken by invalidate serves those who asked before, not those after', async () => {
    const r = reader();
    let release!: () => void;
    r.answer(() => new Promise((resolve) => (release = () => resolve([entry('Patient/old')]))));
    const view = new CohortView(r.read);
    const before = view.entries();
    view.invalidate();
    r.answer(async () => [entry('Patient/new')]);
    const after = await view.entries();
    release();
    expect(await before).toEqual([entry('Patient/old')]);
    expect(after).toEqual([entry('Patient/new')]);
    expect(await view.entries()).toBe(after);
  });
});
