import type { CarePlan, Flag, Task } from '@medplum/fhirtypes';
import { loadProgramme } from '../../../src/criteria';
import { SourceReferences } from '../../../src/fhir';
import type { Episode } from '../../../src/lifecycle';
import { planStep, stepDownState, transitions } from '../../../src/lifecycle';
import { loadMapping } from '../../../src/mappings';
import { patientChanges } from '../../../src/writeback/patient';
import type { PatientContext } from '../../../src/writeback/resources';
import { IDENTIFIER, MANAGED_TAG } from '../../../src/vocabulary';
import { decision, enrolled, flag, inProgramme, plan, settings, task } from './fixtures';

/**
 * Step-down reviews: the run writes one when an enrolled patient no longer meets the criteria (once an episode); what
 * the MDT decides on it (on the Task, from the workspace or a platform) is what the run does next.
 */
const stepDown = (status: Task['status'], extra: Partial<Task> = {}): Task => ({
  resourceType: 'Task',
  id: 'sd',
  status,
  intent: 'proposal',
  ...extra,
});
const decided = (code: string): Partial<Task> => ({
  businessStatus: { coding: [{ code }] },
  executionPeriod: { end: '2026-11-30T23:30:00Z' }, // 23:30 UTC on 30 November: still the 30th in London (GMT)
});
const noLongerQualifies = decision(undefined);
const actionsOf = (episode: Episode, found = noLongerQualifies) =>
  transitions(inProgramme(episode), found, false, settings);
const kinds = (episode: Episode, found = noLongerQualifies) => actionsOf(episode, found).map((a) => a.kind);

describe('step-down reviews in the lifecycle', () => {
  it('writes one when the patient no longer meets the criteria, and no second while one exists in the episode', () => {
    expect(kinds(enrolled())).toEqual(['step-down']);
    expect(kinds(enrolled(), decision('second'))).toEqual([]);
    expect(kinds(enrolled({ stepDown: stepDown('requested') }))).toEqual([]);
    expect(kinds(enrolled({ stepDown: stepDown('requested', decided('deferred')) }))).toEqual([]);
  });

  it('closes an open review when the patient meets the criteria again, and asks again should they drop out again', () => {
    const meetsAgain = decision('second');
    for (const open of [stepDown('requested'), stepDown('requested', decided('deferred')), stepDown('in-progress')]) {
      expect(kinds(enrolled({ stepDown: open }), meetsAgain)).toEqual(['close-step-down']);
    }
    // Closed by the run: nothing more while they qualify; re-opened once they do not.
    const closedByRun = stepDown('cancelled', { businessStatus: { coding: [{ code: 'meets-criteria-again' }] } });
    expect(kinds(enrolled({ stepDown: closedByRun }), meetsAgain)).toEqual([]);
    expect(kinds(enrolled({ stepDown: closedByRun }))).toEqual(['step-down']);
    // A review decided by the MDT, or cancelled by anyone else, is never re-opened nor closed.
    for (const done of [stepDown('completed', decided('continue-plan')), stepDown('cancelled')]) {
      expect([kinds(enrolled({ stepDown: done }), meetsAgain), kinds(enrolled({ stepDown: done }))]).toEqual([[], []]);
    }
  });

  it('reads each decision from the Task: step down, keep; anything else decided keeps the patient in', () => {
    const cases: [Partial<Task>, Task['status'], string][] = [
      [decided('step-down'), 'completed', 'step-down'],
      [decided('continue-plan'), 'completed', 'continue-plan'],
      [{}, 'completed', 'continue-plan'], // completed by a platform with no business status: never a silent removal
      [decided('deferred'), 'requested', 'open'],
      [{}, 'in-progress', 'open'],
      [{}, 'cancelled', 'closed'],
      [{}, 'rejected', 'closed'],
    ];
    for (const [extra, status, state] of cases) {
      expect({ status, extra, state: stepDownState(stepDown(status, extra)) }).toEqual({ status, extra, state });
    }
  });

  it('completes the plan when the MDT steps the patient down, from the day they decided, naming the review', () => {
    const review = stepDown('completed', decided('step-down'));
    const episode = enrolled({ stepDown: review });
    expect(actionsOf(episode)).toEqual([
      { kind: 'complete-plan', episode, reason: 'stepped-down', on: '2026-11-30', decidedIn: review },
    ]);
    // Whatever this run found: the MDT's decision stands even if the patient qualifies again the same day.
    expect(kinds(episode, decision('second'))).toEqual(['complete-plan']);
    expect(planStep(inProgramme(episode), noLongerQualifies, false, settings).after).toEqual({ stage: 'discharged' });
  });

  it('keeps the patient in the programme when the MDT says so: nothing more, and no new review this episode', () => {
    const kept = enrolled({ stepDown: stepDown('completed', decided('continue-plan')) });
    expect(kinds(kept)).toEqual([]);
    // Qualifying again, then dropping out again later in the same episode: still no second review.
    expect(kinds(kept, decision('second'))).toEqual([]);
    expect(kinds(kept)).toEqual([]);
  });

  it('holds a step-down back while a care-team form waits for correction', () => {
    const episode = enrolled({
      stepDown: stepDown('completed', decided('step-down')),
      forms: { checkIns: new Map(), unprocessable: [{ task: 'Task/ci1', reason: 'no next step' }] },
    });
    expect(kinds(episode)).toEqual([]);
  });
});

describe('what the run writes for a step-down decision', () => {
  const ctx: PatientContext = {
    programme: loadProgramme({ features: loadMapping('uk-core').features }),
    patientId: 'p',
    cohort: { system: 'https://fhir.hfu-connector.org/Id/cohort', value: 'nhse-hfu-2022/practice-Y99001' },
    cohortTitle: 'Practice Y99001',
    asOf: '2026-12-01',
    now: '2026-12-01T09:00:00.000Z',
    reviewOwner: 'CareTeam/pcn-mdt',
    source: SourceReferences.between('https://fhir.example.org/R4', 'https://fhir.example.org/R4'),
  };

  it('the plan completed as stepped down, the flag ended, the open conversation cancelled; the review as evidence', () => {
    const managed = (system: string, kind: string) => ({
      meta: { tag: [MANAGED_TAG] },
      identifier: [{ system, value: `nhse-hfu-2022/Patient/p/${kind}/1` }],
    });
    const episode = enrolled({
      stepDown: stepDown('completed', decided('step-down')),
      conversation: task('requested', { id: 'conv', ...managed(IDENTIFIER.task, 'what-matters-conversation') }),
      carePlan: plan('active', managed(IDENTIFIER.carePlan, 'care-plan')),
      flag: { ...flag('active'), ...managed(IDENTIFIER.flag, 'flag') },
    });
    const [action] = actionsOf(episode);
    const changes = patientChanges({
      ctx,
      patient: inProgramme(episode),
      decision: noLongerQualifies,
      actions: action ? [action] : [],
      risk: 'clinical',
      allocate: () => ({ kind: 'unassigned' }),
      settings: { conversationWithinDays: 14, checkInEveryDays: 14 },
    });
    const byType = Object.fromEntries(changes.desired.map((d) => [d.resource.resourceType, d.resource]));
    expect(byType.CarePlan).toMatchObject({ status: 'completed', period: { end: '2026-11-30' } });
    expect((byType.CarePlan as CarePlan).extension?.[0]?.valueCodeableConcept?.coding?.[0]?.code).toBe('stepped-down');
    expect(byType.Flag as Flag).toMatchObject({ status: 'inactive', period: { end: '2026-11-30' } });
    expect(byType.Task).toMatchObject({ id: 'conv', status: 'cancelled' });
    expect(changes.reasons).toEqual(['stepped-down']);
    expect(changes.evidence).toEqual(['Task/sd']);
  });
});
