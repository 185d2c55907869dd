import type { CarePlan, Task } from '@medplum/fhirtypes';
import type { ProgrammeRecord } from '../../../src/lifecycle';
import { enrolmentDates, lotteryWaitlisted, programmeFlow } from '../../../src/report/programme-flow';
import { CODE_SYSTEM } from '../../../src/vocabulary';

const candidate = (id: string) => ({
  type: { coding: [{ system: CODE_SYSTEM.taskInput, code: 'lottery-candidate' }] },
  valueReference: { reference: `Patient/${id}` },
});
const review = (drawnFrom: string[], status: Task['status'] = 'accepted'): Task => ({
  resourceType: 'Task',
  status,
  intent: 'proposal',
  authoredOn: '2025-11-20T10:00:00Z',
  lastModified: '2025-11-22T10:00:00Z',
  reasonCode: { coding: [{ system: CODE_SYSTEM.tier, code: 'second' }] },
  input: drawnFrom.map(candidate),
});
const plan = (start: string): CarePlan => ({
  resourceType: 'CarePlan',
  status: 'active',
  intent: 'plan',
  subject: { reference: 'Patient/x' },
  period: { start },
});

/** a and b drawn by one lottery among a, b, c, d; c waits; d was drawn but declined by the MDT; e enrolled later. */
function record(): ProgrammeRecord {
  const episode = (r: Task, p?: CarePlan) => [{ number: 1, review: r, carePlan: p, checkIns: new Map() }];
  const lottery = ['a', 'b', 'c', 'd'];
  return {
    patients: new Map([
      ['a', { patientId: 'a', episodes: episode(review(lottery), plan('2025-11-23')) }],
      ['b', { patientId: 'b', episodes: episode(review(lottery), plan('2025-11-23')) }],
      ['d', { patientId: 'd', episodes: episode(review(lottery, 'rejected')) }],
      ['e', { patientId: 'e', episodes: episode(review([]), plan('2026-10-01')) }],
    ]),
  };
}

describe('the programme read from its record', () => {
  it('dates each enrolment from its care plan, only those enrolled long enough ago', () => {
    expect([...enrolmentDates(record(), '2026-05-23')]).toEqual([
      ['a', '2025-11-23'],
      ['b', '2025-11-23'],
    ]);
  });

  it("takes the lottery's comparison group from the draw's candidates: neither drawn nor ever enrolled", () => {
    const r = record();
    const waitlisted = lotteryWaitlisted(r, enrolmentDates(r, '2026-05-23'));
    // d was drawn (it has its own review, declined): not a comparison patient; c was never drawn, so waits
    expect([...waitlisted]).toEqual([['c', '2025-11-23']]);
  });

  it('counts each stage and each event in its month and tier, and the days to a decision', () => {
    const flow = programmeFlow(record(), []);
    expect(flow.stages).toEqual({ enrolled: 3, declined: 1 });
    expect(flow.totals).toMatchObject({ proposals: 4, accepted: 3, declinedByMdt: 1, enrolled: 3 });
    expect(flow.medianDaysProposalToDecision).toBe(2);
    expect(flow.caseloadByRole).toEqual({ unallocated: 3 });
  });
});
