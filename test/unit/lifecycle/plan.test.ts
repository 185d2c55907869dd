import type { CarePlan, Flag, Task } from '@medplum/fhirtypes';
import type { Decision } from '../../../src/criteria';
import type { Episode, PatientInProgramme } from '../../../src/lifecycle';
import { lifecycleParameters, placementOf, planStep } from '../../../src/lifecycle';
import { TIER_CODE } from '../../../src/vocabulary';

const parameters = { asOf: '2026-11-23', checkInEveryDays: 14, checkInCount: 6 };

const review = (status: Task['status']): Task => ({
  resourceType: 'Task',
  id: 'r',
  status,
  intent: 'proposal',
  reasonCode: { coding: [TIER_CODE.second] },
});
const task = (status: Task['status'], extra: Partial<Task> = {}): Task => ({
  resourceType: 'Task',
  status,
  intent: 'order',
  ...extra,
});
const plan = (status: CarePlan['status']): CarePlan => ({
  resourceType: 'CarePlan',
  id: 'cp',
  status,
  intent: 'plan',
  subject: { reference: 'Patient/p' },
});
const flag = (status: Flag['status']): Flag => ({
  resourceType: 'Flag',
  id: 'f',
  status,
  category: [{ coding: [TIER_CODE.second] }],
  code: {},
  subject: { reference: 'Patient/p' },
});
const inProgramme = (parts: Partial<Episode>): PatientInProgramme => ({
  patientId: 'p',
  episodes: [{ number: 1, checkIns: new Map(), ...parts }],
});
const enrolled = (parts: Partial<Episode> = {}) =>
  inProgramme({ review: review('accepted'), flag: flag('active'), carePlan: plan('active'), ...parts });
const decision = (tier: 'first' | 'second' | undefined, excludedBy: string[] = []): Decision => ({
  patientId: 'p',
  facts: {},
  evidence: {},
  qualifyingTier: tier,
  excludedBy,
  tier: excludedBy.length ? undefined : tier,
  riskFactors: [],
});

describe('a patient step', () => {
  it('proposes a new candidate only when the ranking allows, and says it waits for the ranking either way', () => {
    const held = planStep(undefined, decision('first'), false, parameters);
    expect(held).toEqual({ actions: [], needsRanking: true, after: {} });
    const proposed = planStep(undefined, decision('first'), true, parameters);
    expect(proposed.actions).toEqual([{ kind: 'propose', episode: 1, tier: 'first' }]);
    expect(proposed.needsRanking).toBe(true);
    expect(proposed.after).toEqual({ stage: 'under-review', member: { inactive: true } });
  });

  it('needs no ranking for someone who does not qualify, nor for a proposal kept current', () => {
    expect(planStep(undefined, decision(undefined), true, parameters)).toEqual({
      actions: [],
      needsRanking: false,
      after: {},
    });
    const underReview = planStep(inProgramme({ review: review('requested') }), decision('second'), false, parameters);
    expect(underReview.actions.map((a) => a.kind)).toEqual(['refresh-proposal']);
    expect(underReview.needsRanking).toBe(false);
    expect(underReview.after).toEqual({ stage: 'under-review', member: { inactive: true } });
  });

  it('waits for the population to enrol (places are released first), and says where a waitlisted patient stays', () => {
    const step = planStep(inProgramme({ review: review('accepted') }), decision('second'), false, parameters);
    expect(step.actions.map((a) => a.kind)).toEqual(['enrol']);
    expect(step.needsRanking).toBe(true);
    expect(step.after).toEqual({ stage: 'enrolled', member: { inactive: false } });
    expect(step.waitlisted).toEqual({ stage: 'accepted', member: { inactive: true } });
  });

  it('finishing an enrolment stopped part-way keeps the patient enrolled, with no waitlist to fall back to', () => {
    const step = planStep(enrolled({ flag: undefined }), decision('second'), false, parameters);
    expect(step.actions.map((a) => a.kind)).toContain('enrol');
    expect(step.after).toEqual({ stage: 'enrolled', member: { inactive: false } });
    expect(step.waitlisted).toBeUndefined();
  });

  it('takes out of the cohort on exit or discharge: discharged when a care plan was in force, closed before', () => {
    const died = decision('second', ['deceased']);
    const closed = planStep(inProgramme({ review: review('requested') }), died, false, parameters);
    expect(closed.actions.map((a) => a.kind)).toEqual(['exit']);
    expect(closed).toMatchObject({ needsRanking: false, after: { stage: 'closed' } });
    const left = planStep(enrolled({ conversation: task('requested') }), died, false, parameters);
    expect(left.after).toEqual({ stage: 'discharged' });
    const completed = inProgramme({
      review: review('accepted'),
      flag: flag('active'),
      carePlan: plan('completed'),
      conversation: task('requested'),
    });
    const discharge = planStep(completed, decision('second'), true, parameters);
    expect(discharge.actions.map((a) => a.kind)).toEqual(['discharge']);
    expect(discharge).toMatchObject({ needsRanking: false, after: { stage: 'discharged' } });
  });

  it('schedules check-ins early, with the cadence it is given', () => {
    const done = task('completed', { executionPeriod: { end: '2026-11-01T10:00:00Z' } });
    const step = planStep(enrolled({ conversation: done }), decision('second'), false, {
      ...parameters,
      checkInEveryDays: 7,
    });
    expect(step.actions).toEqual([expect.objectContaining({ kind: 'schedule-check-in', n: 1, due: '2026-11-08' })]);
    expect(step.needsRanking).toBe(false);
    expect(step.after).toEqual({ stage: 'enrolled', member: { inactive: false } });
    const none = planStep(enrolled({ conversation: done }), decision('second'), false, {
      ...parameters,
      checkInCount: 0,
    });
    expect(none.actions).toEqual([]);
  });
});

describe('placements', () => {
  it('keep open episodes in the cohort, inactive until enrolled', () => {
    expect(placementOf('undecided')).toEqual({ stage: 'undecided', member: { inactive: true } });
    expect(placementOf('declined')).toEqual({ stage: 'declined' });
    expect(placementOf(undefined)).toEqual({});
  });
});

describe('lifecycle parameters', () => {
  it('come from the programme, and a programme without one is refused by name', () => {
    const parameters = { checkInEveryDays: 7, checkInCount: 3, conversationWithinDays: 10, coolOffDays: 90 };
    expect(lifecycleParameters({ id: 'x', parameters })).toEqual(parameters);
    expect(() => lifecycleParameters({ id: 'x', parameters: { checkInEveryDays: 7 } })).toThrow(
      'programme x declares no parameter checkInCount'
    );
  });
});
