import { createHash } from 'node:crypto';
import { configSchema } from '../../../src/config';
import type { Decision, Selection } from '../../../src/criteria';
import { applyCapacity, decide, loadProgramme } from '../../../src/criteria';
import type { FactValue } from '../../../src/mappings';

const programme = loadProgramme();

const facts = (overrides: Record<string, FactValue>): Record<string, FactValue> => ({
  unplannedAdmissions: 0,
  repeatMedications: 0,
  edAttendances: 0,
  calls999: 0,
  calls111: 0,
  gpEncounters: 0,
  longTermConditions: 0,
  mentalHealth: false,
  carer: false,
  frailty: false,
  age: 60,
  deceased: false,
  registered: true,
  optOutConsent: false,
  objectionRecorded: false,
  ...overrides,
});

/** 30 first-priority candidates (2 admissions, 10+ repeats) and 5 second-priority ones. */
const candidates: Decision[] = [
  ...Array.from({ length: 30 }, (_, i) =>
    decide(programme, `f${String(i).padStart(2, '0')}`, {
      facts: facts({ unplannedAdmissions: 2 + (i % 3), repeatMedications: 10 + i }),
      evidence: {},
    })
  ),
  ...Array.from({ length: 5 }, (_, i) =>
    decide(programme, `s${i}`, { facts: facts({ unplannedAdmissions: 1, repeatMedications: 12 }), evidence: {} })
  ),
];

const lottery = (seed: number, waitlist: Selection['waitlist'] = {}): Selection => ({
  kind: 'lottery',
  seed,
  asOf: '2026-12-01',
  waitlist,
});
const ids = (decisions: readonly Decision[]): string[] => decisions.map((d) => d.patientId);

/** The draw order the README documents, computed here from its definition: SHA-256 of seed, draw id, patient id. */
function documentedOrder(seed: number, drawId: string, patients: readonly string[]): string[] {
  const number = (id: string) => createHash('sha256').update(`${seed}:${drawId}:${id}`).digest('hex').slice(0, 13);
  return [...patients].sort((a, b) => number(a).localeCompare(number(b)) || a.localeCompare(b));
}

describe('lottery over capacity', () => {
  it('draws the same places for the same seed, whatever order the candidates come in, and others for another', () => {
    const a = applyCapacity(programme, candidates, { first: 8 }, lottery(7));
    const b = applyCapacity(programme, [...candidates].reverse(), { first: 8 }, lottery(7));
    const c = applyCapacity(programme, candidates, { first: 8 }, lottery(8));
    expect(ids(a.proposed)).toEqual(ids(b.proposed));
    expect(a.draws).toEqual(b.draws);
    expect(ids(c.proposed)).not.toEqual(ids(a.proposed));
  });

  it('proposes no more than the places, records the seed and every candidate drawn from, and waits the rest', () => {
    const { proposed, waitlisted, draws } = applyCapacity(programme, candidates, { first: 8, second: 2 }, lottery(7));
    const first = candidates.filter((d) => d.tier === 'first').map((d) => d.patientId);
    const second = candidates.filter((d) => d.tier === 'second').map((d) => d.patientId);
    expect(proposed.filter((d) => d.tier === 'first')).toHaveLength(8);
    expect(proposed.filter((d) => d.tier === 'second')).toHaveLength(2);
    expect(draws.map((d) => [d.tier, d.seed, d.drawId, d.places])).toEqual([
      ['first', 7, '2026-12-01/first', 8],
      ['second', 7, '2026-12-01/second', 2],
    ]);
    const [drawFirst, drawSecond] = draws;
    expect(drawFirst?.order).toEqual(documentedOrder(7, '2026-12-01/first', first));
    expect(drawSecond?.order).toEqual(documentedOrder(7, '2026-12-01/second', second));
    expect(ids(proposed)).toEqual([...(drawFirst?.order.slice(0, 8) ?? []), ...(drawSecond?.order.slice(0, 2) ?? [])]);
    expect(ids(waitlisted)).toEqual([...(drawFirst?.order.slice(8) ?? []), ...(drawSecond?.order.slice(2) ?? [])]);
  });

  it('is not severity: the draw takes candidates the ranking would have left waiting', () => {
    const ranked = applyCapacity(programme, candidates, { first: 8 });
    const drawn = applyCapacity(programme, candidates, { first: 8 }, lottery(7));
    expect(new Set(ids(drawn.proposed))).not.toEqual(new Set(ids(ranked.proposed)));
    expect(ranked.draws).toEqual([]);
  });

  it('offers places to those an earlier draw left waiting first, in their order, then draws among the rest', () => {
    const waiting = ['f21', 'f03', 'f17'];
    const outcome = applyCapacity(programme, candidates, { first: 5 }, lottery(7, { first: waiting }));
    const { draws } = outcome;
    const proposed = outcome.proposed.filter((d) => d.tier === 'first');
    expect(ids(proposed).slice(0, 3)).toEqual(waiting);
    const rest = candidates.filter((d) => d.tier === 'first' && !waiting.includes(d.patientId)).map((d) => d.patientId);
    expect(draws[0]?.places).toBe(2);
    expect(draws[0]?.order).toEqual(documentedOrder(7, '2026-12-01/first', rest));
    expect(ids(proposed).slice(3)).toEqual(draws[0]?.order.slice(0, 2));
  });

  it('draws nothing when the places are enough, and nothing when those waiting fill them', () => {
    expect(applyCapacity(programme, candidates, { first: 30, second: 5 }, lottery(7)).draws).toEqual([]);
    const full = applyCapacity(programme, candidates, { first: 2 }, lottery(7, { first: ['f09', 'f01', 'f05'] }));
    expect(ids(full.proposed.filter((d) => d.tier === 'first'))).toEqual(['f09', 'f01']);
    expect(full.draws.filter((d) => d.tier === 'first')).toEqual([]);
  });
});

describe('lottery configuration', () => {
  it('takes selection and seed with either kind of capacity, and refuses a lottery without a seed', () => {
    const parse = (capacity: unknown) => configSchema.safeParse({ programme: { capacity } });
    expect(parse({ first: 5, selection: 'lottery', seed: 3 }).data?.programme.capacity).toMatchObject({
      first: 5,
      selection: 'lottery',
      seed: 3,
    });
    expect(parse({ perThousand: { first: 1 }, selection: 'rank' }).success).toBe(true);
    expect(parse({ first: 5 }).data?.programme.capacity).not.toHaveProperty('selection');
    const unseeded = parse({ first: 5, selection: 'lottery' });
    expect(unseeded.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['programme.capacity.seed', expect.stringContaining('a lottery needs a seed')],
    ]);
    expect(parse({ first: 5, selection: 'draw' }).success).toBe(false);
  });
});
