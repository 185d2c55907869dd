import { placementOf, planStep } from '../../../src/lifecycle';
import { decision, enrolled, episode, inProgramme, plan, review, task } from './fixtures';

const parameters = { asOf: '2026-11-23', checkInEveryDays: 14, checkInCount: 6 };
const reviewing = (status: Parameters<typeof review>[0]) => inProgramme(episode({ review: review(status) }));

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
    const underReview = planStep(reviewing('requested'), decision('second'), false, parameters);
    expect(underReview.actions.map((a) => a.kind)).toEqual(['refresh-proposal']);
    expect(underReview.needsRanking).toBe(false);
    expect(underReview.after).toEqual({ stage: 'under-review', member: { inactive: true } });
  });

  it('waits for the population to enrol (places are released first), and says where a waitlisted patient stays', () => {
    const step = planStep(reviewing('accepted'), decision('second'), false, parameters);
    expect(step.actions.map((a) => a.kind)).toEqual(['enrol']);
    expect(step.needsRanking).toBe(true);
    expect(step.after).toEqual({ stage: 'enrolled', member: { inactive: false } });
    expect(step.waitlisted).toEqual({ stage: 'accepted', member: { inactive: true } });
  });

  it('finishing an enrolment stopped part-way keeps the patient enrolled, with no waitlist to fall back to', () => {
    const step = planStep(inProgramme(enrolled({ flag: undefined })), decision('second'), false, parameters);
    expect(step.actions.map((a) => a.kind)).toContain('enrol');
    expect(step.after).toEqual({ stage: 'enrolled', member: { inactive: false } });
    expect(step.waitlisted).toBeUndefined();
  });

  it('takes out of the cohort on exit or discharge: discharged when a care plan was in force, closed before', () => {
    const died = decision('second', ['deceased']);
    const closed = planStep(reviewing('requested'), died, false, parameters);
    expect(closed.actions.map((a) => a.kind)).toEqual(['exit']);
    expect(closed).toMatchObject({ needsRanking: false, after: { stage: 'closed' } });
    const left = planStep(inProgramme(enrolled({ conversation: task('requested') })), died, false, parameters);
    expect(left.after).toEqual({ stage: 'discharged' });
    const completed = inProgramme(enrolled({ carePlan: plan('completed') }));
    const discharge = planStep(completed, decision('second'), true, parameters);
    expect(discharge.actions.map((a) => a.kind)).toEqual(['discharge']);
    expect(discharge).toMatchObject({ needsRanking: false, after: { stage: 'discharged' } });
  });

  it('schedules check-ins early, with the cadence it is given', () => {
    const done = task('completed', { executionPeriod: { end: '2026-11-01T10:00:00Z' } });
    const step = planStep(inProgramme(enrolled({ conversation: done })), decision('second'), false, {
      ...parameters,
      checkInEveryDays: 7,
    });
    expect(step.actions).toEqual([expect.objectContaining({ kind: 'schedule-check-in', n: 1, due: '2026-11-08' })]);
    expect(step.needsRanking).toBe(false);
    expect(step.after).toEqual({ stage: 'enrolled', member: { inactive: false } });
    const none = planStep(inProgramme(enrolled({ conversation: done })), decision('second'), false, {
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
