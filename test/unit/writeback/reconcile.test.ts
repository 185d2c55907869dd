import type { Task } from '@medplum/fhirtypes';
import type { Desired } from '../../../src/writeback';
import { canonical, planWrites } from '../../../src/writeback';
import { MANAGED_TAG } from '../../../src/vocabulary';

const identifier = { system: 'https://id.test/task', value: 't1' };
const desired = (description: string): Desired<Task> => ({
  resource: {
    resourceType: 'Task',
    meta: { tag: [MANAGED_TAG] },
    identifier: [identifier],
    status: 'requested',
    intent: 'proposal',
    description,
  },
  identifier,
  owned: ['identifier', 'intent', 'description'],
});
const stored = (task: Task, extra: Partial<Task> = {}): Task => ({
  ...task,
  id: 'x1',
  meta: { ...task.meta, versionId: '1', lastUpdated: '2026-01-01T00:00:00Z' },
  ...extra,
});

describe('planning writes by business identifier', () => {
  it('creates what the record does not hold', () => {
    const plan = planWrites([desired('a')], []);
    expect(plan.creates).toHaveLength(1);
  });

  it('plans nothing when the record already holds the same', () => {
    const plan = planWrites([desired('a')], [stored(desired('a').resource)]);
    expect(plan.unchanged).toHaveLength(1);
    expect(plan.creates.length + plan.updates.length).toBe(0);
  });

  it("updates only its own fields and keeps the MDT's (status, owner, notes)", () => {
    const existing = stored(desired('old').resource, {
      status: 'accepted',
      owner: { reference: 'CareTeam/mdt' },
      note: [{ text: 'discussed' }],
    });
    const plan = planWrites([desired('new')], [existing]);
    expect(plan.updates).toHaveLength(1);
    const next = plan.updates[0]?.next as Task;
    expect(next).toMatchObject({
      id: 'x1',
      description: 'new',
      status: 'accepted',
      owner: { reference: 'CareTeam/mdt' },
    });
    expect(next.note).toEqual([{ text: 'discussed' }]);
    expect(next.meta?.versionId).toBe('1'); // kept for If-Match
  });

  it('never touches a resource bearing its identifier that it did not write', () => {
    const foreign = stored(desired('a').resource, { meta: { versionId: '1' }, description: 'someone else' });
    const plan = planWrites([desired('a')], [foreign]);
    expect(plan.conflicts).toEqual([{ identifier: 'https://id.test/task|t1', reference: 'Task/x1' }]);
    expect(plan.updates).toHaveLength(0);
  });

  it('compares content, not key order', () => {
    expect(canonical({ a: 1, b: { c: 2, d: 3 } })).toBe(canonical({ b: { d: 3, c: 2 }, a: 1 }));
  });
});
