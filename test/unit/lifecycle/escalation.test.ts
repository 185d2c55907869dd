import type { CarePlan, Flag, QuestionnaireResponse, ServiceRequest, Task } from '@medplum/fhirtypes';
import { loadProgramme } from '../../../src/criteria';
import { SourceReferences } from '../../../src/fhir';
import type { Action, Episode, EpisodeForms } from '../../../src/lifecycle';
import { escalationState, planStep, transitions, unresolvedReallocation } from '../../../src/lifecycle';
import { loadMapping } from '../../../src/mappings';
import { IDENTIFIER, MANAGED_TAG } from '../../../src/vocabulary';
import type { SupportKind } from '../../../src/vocabulary/care';
import { SUPPORT } from '../../../src/vocabulary/care';
import { coded, ons4, question } from '../../helpers/care-forms';
import { patientChanges } from '../../../src/writeback/patient';
import { mergeOwned } from '../../../src/writeback/reconcile';
import type { PatientContext } from '../../../src/writeback/resources';
import { enrolled, inProgramme, settings } from './fixtures';

/**
 * Escalations: a check-in asks the MDT to review the plan; at most one such review is open at a time; what the MDT
 * decides on it (on the Task, from the workspace or a platform) is what the run does next.
 */
const managed = (kind: string, n?: number) => ({
  meta: { tag: [MANAGED_TAG] },
  identifier: [
    { system: IDENTIFIER.task, value: `nhse-hfu-2022/Patient/p/${kind}/1${n === undefined ? '' : `/${n}`}` },
  ],
});
const checkInTask = (n: number, status: Task['status']): Task => ({
  resourceType: 'Task',
  id: `ci${n}`,
  status,
  intent: 'order',
  owner: { reference: 'PractitionerRole/coach-1' },
  ...managed('check-in', n),
});
const escalation = (n: number, status: Task['status'], extra: Partial<Task> = {}): Task => ({
  resourceType: 'Task',
  id: `esc${n}`,
  status,
  intent: 'proposal',
  owner: { reference: 'CareTeam/pcn-mdt' },
  ...managed('mdt-review', n),
  ...extra,
});
const decided = (code: string, extra: Partial<Task> = {}): Partial<Task> => ({
  businessStatus: { coding: [{ code }] },
  executionPeriod: { end: '2026-11-30T23:30:00Z' }, // 23:30 UTC on 30 November: still the 30th in London (GMT)
  ...extra,
});
const response: QuestionnaireResponse = { resourceType: 'QuestionnaireResponse', id: 'qr', status: 'completed' };
const form = (nextStep: 'continue' | 'escalate' | 'discharge', completedOn = '2026-11-20') => ({
  task: 'Task/ci',
  response,
  completedOn,
  nextStep,
});

/** Enrolled, the conversation held; check-ins 1..n recorded with these next steps; the escalations given. */
function checkedIn(steps: ('continue' | 'escalate' | 'discharge')[], escalations: Task[] = []): Episode {
  const forms: EpisodeForms = {
    conversation: { task: 'Task/conv', response, completedOn: '2026-11-01', participation: 'yes' },
    checkIns: new Map(steps.map((s, i) => [i + 1, form(s)])),
    unprocessable: [],
  };
  return enrolled({
    conversation: { resourceType: 'Task', id: 'conv', status: 'completed', intent: 'order', ...managed('conv') },
    carePlan: {
      resourceType: 'CarePlan',
      id: 'cp',
      status: 'active',
      intent: 'plan',
      subject: { reference: 'Patient/p' },
      author: { reference: 'PractitionerRole/coach-1' },
      activity: [{ reference: { reference: 'Task/conv' } }],
      ...managed('care-plan'),
      identifier: [{ system: IDENTIFIER.carePlan, value: 'nhse-hfu-2022/Patient/p/care-plan/1' }],
    },
    flag: {
      resourceType: 'Flag',
      id: 'f',
      status: 'active',
      code: {},
      subject: { reference: 'Patient/p' },
      meta: { tag: [MANAGED_TAG] },
      identifier: [{ system: IDENTIFIER.flag, value: 'nhse-hfu-2022/Patient/p/flag/1' }],
    },
    checkIns: new Map(steps.map((_, i) => [i + 1, checkInTask(i + 1, 'completed')])),
    escalations: new Map(escalations.map((t) => [Number(t.id?.slice(3)), t])),
    forms,
  });
}
const actionsOf = (episode: Episode) => transitions(inProgramme(episode), undefined, false, settings);
const kinds = (episode: Episode) => actionsOf(episode).map((a) => a.kind);

describe('escalations in the lifecycle', () => {
  it('opens one for a check-in that asks, and none while another is before the MDT', () => {
    expect(kinds(checkedIn(['escalate']))).toEqual(['record-care', 'escalate', 'schedule-check-in']);
    expect(actionsOf(checkedIn(['escalate']))[1]).toMatchObject({ kind: 'escalate', n: 1 });
    // Check-in 2 asks again while check-in 1's escalation is open (or deferred): nothing new.
    expect(kinds(checkedIn(['escalate', 'escalate'], [escalation(1, 'requested')]))).toEqual([
      'record-care',
      'schedule-check-in',
    ]);
    const deferred = escalation(1, 'requested', decided('deferred'));
    expect(escalationState(deferred)).toBe('open');
    expect(kinds(checkedIn(['escalate', 'escalate'], [deferred]))).toEqual(['record-care', 'schedule-check-in']);
    // Once the MDT has decided it, the later check-in that also asked gets its own.
    const kept = escalation(1, 'completed', decided('continue-plan'));
    expect(actionsOf(checkedIn(['escalate', 'escalate'], [kept]))).toMatchObject([
      { kind: 'record-care' },
      { kind: 'escalate', n: 2 },
      { kind: 'schedule-check-in', n: 3 },
    ]);
  });

  it('reads each decision from the Task: keep the plan, move, discharge; anything else ends it with nothing more', () => {
    const cases: [Partial<Task>, Task['status'], string][] = [
      [decided('continue-plan'), 'completed', 'continue-plan'],
      [{}, 'completed', 'continue-plan'], // completed by a platform with no business status: the plan goes on
      [decided('reallocate'), 'completed', 'reallocate'],
      [decided('discharge'), 'completed', 'discharge'],
      [{}, 'cancelled', 'closed'],
      [{}, 'rejected', 'closed'],
      [{}, 'in-progress', 'open'],
    ];
    for (const [extra, status, state] of cases) {
      expect({ status, extra, state: escalationState(escalation(1, status, extra)) }).toEqual({ status, extra, state });
    }
    const kept = checkedIn(['escalate'], [escalation(1, 'completed', decided('continue-plan'))]);
    expect(kinds(kept)).toEqual(['record-care', 'schedule-check-in']);
  });

  it('moves the plan to the professional the MDT chose, until its author is them', () => {
    const moved = escalation(1, 'completed', decided('reallocate', { owner: { reference: 'PractitionerRole/gp-1' } }));
    const episode = checkedIn(['escalate'], [moved]);
    expect(actionsOf(episode)).toMatchObject([
      { kind: 'record-care' },
      { kind: 'reallocate', owner: 'PractitionerRole/gp-1' },
      { kind: 'schedule-check-in', n: 2 },
    ]);
    const done = {
      ...episode,
      carePlan: { ...(episode.carePlan as CarePlan), author: { reference: 'PractitionerRole/gp-1' } },
    };
    expect(kinds(done)).toEqual(['record-care', 'schedule-check-in']);
    // A later decision to keep the plan as it is stands over an earlier move (the MDT decided last).
    const keptSince = checkedIn(
      ['escalate', 'escalate'],
      [moved, escalation(2, 'completed', decided('continue-plan'))]
    );
    expect(kinds(keptSince)).not.toContain('reallocate');
  });

  it('moves nothing when the move names no professional, and says which escalation and why', () => {
    const owners: [Task['owner'], string][] = [
      [{ reference: 'CareTeam/pcn-mdt' }, 'reallocate-owner-not-a-professional'],
      [{ reference: 'Group/mdt' }, 'reallocate-owner-not-a-professional'],
      [{ reference: 'Organization/y99001' }, 'reallocate-owner-not-a-professional'],
      [undefined, 'reallocate-owner-missing'],
    ];
    for (const [owner, reason] of owners) {
      const task = { ...escalation(1, 'completed', decided('reallocate')), owner };
      const episode = checkedIn(['escalate'], [task]);
      expect({ owner, kinds: kinds(episode) }).toEqual({ owner, kinds: ['record-care', 'schedule-check-in'] });
      expect(unresolvedReallocation(episode)).toEqual({ task: 'Task/esc1', reason });
    }
    const named = checkedIn(
      ['escalate'],
      [escalation(1, 'completed', decided('reallocate', { owner: { reference: 'Practitioner/x' } }))]
    );
    expect(unresolvedReallocation(named)).toBeUndefined();
  });

  it('completes the plan when the MDT discharges, from the day they decided, scheduling nothing more', () => {
    const episode = checkedIn(['escalate'], [escalation(1, 'completed', decided('discharge'))]);
    expect(actionsOf(episode)).toMatchObject([
      { kind: 'record-care' },
      { kind: 'complete-plan', reason: 'discharged-by-mdt', on: '2026-11-30' },
    ]);
    expect(planStep(inProgramme(episode), undefined, false, settings).after).toEqual({ stage: 'discharged' });
  });
});

describe('what the run writes for an escalation decision', () => {
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
  const changesFor = (episode: Episode, actions: Action[]) =>
    patientChanges({
      ctx,
      patient: inProgramme(episode),
      decision: undefined,
      actions,
      risk: 'clinical',
      allocate: () => ({ kind: 'unassigned' }),
      settings: { conversationWithinDays: 14, checkInEveryDays: 14 },
    });

  it('a move: the open check-in and the care plan are the new owner’s; nothing else changes', () => {
    const moved = escalation(1, 'completed', decided('reallocate', { owner: { reference: 'PractitionerRole/gp-1' } }));
    const episode = checkedIn(['escalate'], [moved]);
    episode.checkIns.set(2, checkInTask(2, 'requested'));
    const changes = changesFor(episode, [{ kind: 'reallocate', episode, owner: 'PractitionerRole/gp-1' }]);
    expect(changes.desired.map((d) => [d.resource.resourceType, d.resource.id, d.owned])).toEqual([
      ['Task', 'ci2', ['owner']],
      ['CarePlan', 'cp', ['author']],
    ]);
    expect((changes.desired[0]?.resource as Task).owner).toEqual({ reference: 'PractitionerRole/gp-1' });
    expect((changes.desired[1]?.resource as CarePlan).author).toEqual({ reference: 'PractitionerRole/gp-1' });
    expect(changes.evidence).toEqual(['Task/esc1']);
  });

  it('a discharge read with the conversation: open referrals revoked, new ones written revoked, a completed one kept', () => {
    const episode = checkedIn(['discharge']);
    const conversation = episode.forms?.conversation as NonNullable<EpisodeForms['conversation']>;
    conversation.response = {
      ...response,
      item: [
        question('participation', coded('hfu-participation', 'yes')),
        question('what-matters', { valueString: 'My garden' }),
        question(
          'support',
          coded('hfu-support', 'housing'),
          coded('hfu-support', 'carer-support'),
          coded('hfu-support', 'financial-advice')
        ),
      ],
    };
    const checkIn = episode.forms?.checkIns.get(1) as NonNullable<ReturnType<EpisodeForms['checkIns']['get']>>;
    checkIn.response = {
      ...response,
      id: 'qr2',
      item: [ons4([6, 6, 6, 4]), question('next-step', coded('hfu-next-step', 'discharge'))],
    };
    const n = (kind: SupportKind) => Object.keys(SUPPORT).indexOf(kind) + 1;
    const written = (kind: SupportKind, status: ServiceRequest['status']): ServiceRequest => ({
      resourceType: 'ServiceRequest',
      id: kind,
      status,
      intent: 'order',
      subject: { reference: 'Patient/p' },
      meta: { tag: [MANAGED_TAG] },
      identifier: [{ system: IDENTIFIER.referral, value: `nhse-hfu-2022/Patient/p/referral/1/${n(kind)}` }],
    });
    episode.referrals = new Map([
      [n('housing'), written('housing', 'active')],
      [n('financial-advice'), written('financial-advice', 'completed')],
    ]);
    const actions = transitions(inProgramme(episode), undefined, false, settings);
    expect(actions.map((a) => a.kind)).toEqual(['record-care', 'complete-plan']);
    // What each write leaves on the server: a new resource as desired, an existing one with the owned fields merged.
    const existing = [...episode.referrals.values()];
    const referrals = changesFor(episode, actions)
      .desired.filter((d) => d.resource.resourceType === 'ServiceRequest')
      .map((d) => {
        const current = existing.find((r) => r.identifier?.[0]?.value === d.identifier.value);
        const status = ((current ? mergeOwned(current, d) : d.resource) as ServiceRequest).status;
        return [d.identifier.value.split('/').pop(), status];
      });
    expect(referrals.sort()).toEqual(
      [
        [String(n('housing')), 'revoked'],
        [String(n('carer-support')), 'revoked'],
        [String(n('financial-advice')), 'completed'],
      ].sort()
    );
  });

  it('a discharge: the plan completed with the reason, the flag ended, the open check-in cancelled', () => {
    const episode = checkedIn(['escalate'], [escalation(1, 'completed', decided('discharge'))]);
    episode.checkIns.set(2, checkInTask(2, 'requested'));
    const changes = changesFor(episode, [
      { kind: 'complete-plan', episode, reason: 'discharged-by-mdt', on: '2026-11-30' },
    ]);
    const byType = Object.fromEntries(changes.desired.map((d) => [d.resource.resourceType, d.resource]));
    expect(byType.CarePlan).toMatchObject({ status: 'completed', period: { end: '2026-11-30' } });
    expect((byType.CarePlan as CarePlan).extension?.[0]?.valueCodeableConcept?.coding?.[0]?.code).toBe(
      'discharged-by-mdt'
    );
    expect(byType.Flag as Flag).toMatchObject({ status: 'inactive', period: { end: '2026-11-30' } });
    expect(byType.Task).toMatchObject({ id: 'ci2', status: 'cancelled' });
    expect(changes.reasons).toEqual(['discharged-by-mdt']);
    expect(changes.evidence).toEqual(['Task/esc1']);
  });
});
