import { createHash } from 'node:crypto';
import type { Task } from '@medplum/fhirtypes';
import { validateAgainstProfile } from '../../src/profiles';
import type { RunJson } from './helpers/programme';
import { AS_OF, ProgrammePractice, SPECS } from './helpers/programme';

/**
 * `programme.capacity.selection: lottery` on the hand-made practice: first priority a, d, e (one place), second
 * b, c, f, g, h (two places). The oracle for each draw is the README's definition, computed here: candidates in
 * ascending order of SHA-256(`<seed>:<evaluation date>/<tier>:<patient id>`).
 */
const SEED = 20_261_201;
const TIERS = {
  first: SPECS.filter((s) => s.admissionsDaysAgo.length >= 2 && s.repeats >= 10).map((s) => s.id),
  second: SPECS.filter((s) => s.admissionsDaysAgo.length === 1 && s.repeats >= 10).map((s) => s.id),
};

interface LotteryJson {
  tier: 'first' | 'second';
  drawId: string;
  seed: number;
  places: number;
  candidates: string[];
  drawn: string[];
  waiting: string[];
}
type LotteryRun = RunJson & { lottery?: LotteryJson[] };

function drawOrder(tier: 'first' | 'second', patients: readonly string[]): string[] {
  const n = (id: string) => createHash('sha256').update(`${SEED}:${AS_OF}/${tier}:${id}`).digest('hex').slice(0, 13);
  return [...patients].sort((a, b) => n(a).localeCompare(n(b)) || a.localeCompare(b));
}

let practice: ProgrammePractice;
beforeAll(async () => {
  practice = await ProgrammePractice.start({
    programme: { capacity: { first: 1, second: 2, selection: 'lottery', seed: SEED } },
  });
});
afterAll(() => practice.stop());

async function run(): Promise<LotteryRun> {
  const { code, json, stderr } = await practice.run(AS_OF);
  expect({ code, stderr: code ? stderr.slice(-2000) : '' }).toEqual({ code: 0, stderr: '' });
  expect(json.writeFailures).toEqual([]);
  return json as LotteryRun;
}

const reviewOf = (id: string) => practice.must<Task>('Task', id, 'mdt-review');

describe('lottery over capacity', () => {
  const first = drawOrder('first', TIERS.first);
  const second = drawOrder('second', TIERS.second);

  it('proposes a seeded draw within capacity, recorded in the run report and on each review Task', async () => {
    expect(TIERS.first).toHaveLength(3);
    expect(TIERS.second).toHaveLength(5);
    const json = await run();
    expect(json.proposed.sort()).toEqual([first[0], ...second.slice(0, 2)].map((id) => `Patient/${id}`).sort());
    expect(json.lottery).toEqual([
      {
        tier: 'first',
        drawId: `${AS_OF}/first`,
        seed: SEED,
        places: 1,
        candidates: first.map((id) => `Patient/${id}`),
        drawn: [`Patient/${first[0]}`],
        waiting: first.slice(1).map((id) => `Patient/${id}`),
      },
      {
        tier: 'second',
        drawId: `${AS_OF}/second`,
        seed: SEED,
        places: 2,
        candidates: second.map((id) => `Patient/${id}`),
        drawn: second.slice(0, 2).map((id) => `Patient/${id}`),
        waiting: second.slice(2).map((id) => `Patient/${id}`),
      },
    ]);
    const review = await reviewOf(second[1] as string);
    const inputs = (code: string) => (review.input ?? []).filter((i) => i.type.coding?.[0]?.code === code);
    expect(inputs('lottery-draw').map((i) => i.valueString)).toEqual([`${AS_OF}/second`]);
    expect(inputs('lottery-seed').map((i) => i.valueInteger)).toEqual([SEED]);
    expect(inputs('lottery-places').map((i) => i.valueInteger)).toEqual([2]);
    expect(inputs('lottery-candidate').map((i) => i.valueReference?.reference)).toEqual(
      second.map((id) => `Patient/${id}`)
    );
    expect(validateAgainstProfile(review)).toEqual([]);
    for (const id of [...first.slice(1), ...second.slice(2)]) {
      expect(await practice.managed<Task>('Task', id, 'mdt-review')).toBeUndefined();
    }
  });

  it('draws nothing again while the places are full, and writes nothing the second time', async () => {
    const json = await run();
    expect(json.proposed).toEqual([]);
    expect(json.lottery ?? []).toEqual([]);
    expect(json.writes).toMatchObject({ created: 0, updated: 0, provenance: 0 });
    const review = await reviewOf(second[0] as string);
    expect(review.input?.filter((i) => i.type.coding?.[0]?.code === 'lottery-candidate')).toHaveLength(5);
  });

  it('offers a freed place to whoever the draw left waiting first, in draw order', async () => {
    const decided = { lastModified: new Date().toISOString() };
    await practice.record(await reviewOf(first[0] as string), { ...decided, status: 'rejected' });
    await practice.record(await reviewOf(second[0] as string), { ...decided, status: 'rejected' });
    const json = await run();
    expect(json.proposed.sort()).toEqual([first[1], second[2]].map((id) => `Patient/${id}`).sort());
    expect(json.lottery ?? []).toEqual([]);
    // The next in line is still waiting; the one offered a place is no longer on the list.
    const later = { lastModified: new Date().toISOString() };
    await practice.record(await reviewOf(first[1] as string), { ...later, status: 'rejected' });
    const next = await run();
    expect(next.proposed).toEqual([`Patient/${first[2]}`]);
  });
});
