import type { AuditEvent, Encounter, MedicationRequest, Task } from '@medplum/fhirtypes';
import { Caseloads } from '../../../src/allocation';
import { decide, loadProgramme } from '../../../src/criteria';
import type { Episode } from '../../../src/lifecycle';
import { episodeStage, escalationState, stepDownState } from '../../../src/lifecycle';
import { SourceReferences } from '../../../src/fhir';
import { loadMapping } from '../../../src/mappings';
import { validateAgainstProfile } from '../../../src/profiles';
import { PROFILE } from '../../../src/vocabulary';
import { auditEvent } from '../../../src/workspace/audit';
import { caseloadView, myCaseloads } from '../../../src/workspace/caseloads';
import {
  checkDecision,
  conflictOf,
  decidedTask,
  decisionProvenance,
  decisionTarget,
  DECLINE_REASONS,
} from '../../../src/workspace/decide';
import { evidenceTimeline } from '../../../src/workspace/evidence';
import { OwnerLabels } from '../../../src/workspace/owners';
import { displayName, formatNhsNumber, maySee } from '../../../src/workspace/people';
import type { Decision, WorkspaceUser } from '../../../src/workspace/types';
import type { KnownPatient, Snapshot } from '../../../src/workspace/snapshot';
import { sectionOf, worklistRows, worklistView } from '../../../src/workspace/worklist';
import { mergeOwned } from '../../../src/writeback/reconcile';
import type { PatientContext } from '../../../src/writeback/resources';
import { escalationTask, reviewTask, stepDownTask } from '../../../src/writeback/resources';

const programme = loadProgramme({ features: loadMapping('uk-core').features });
const ctx: PatientContext = {
  programme,
  patientId: 'p1',
  cohort: { system: 'https://fhir.hfu-connector.org/Id/cohort', value: 'nhse-hfu-2022/practice-Y99001' },
  cohortTitle: 'Practice Y99001',
  asOf: '2026-11-23',
  now: '2026-11-23T09:00:00.000Z',
  reviewOwner: 'CareTeam/pcn-mdt',
  source: SourceReferences.between('https://fhir.example.org/R4', 'https://fhir.example.org/R4'),
};
const decision = decide(programme, 'p1', {
  facts: { unplannedAdmissions: 2, repeatMedications: 11, gpEncounters: 3, age: 80 },
  evidence: {
    unplannedAdmissions: ['Encounter/e1', 'Encounter/e2'],
    repeatMedications: ['MedicationRequest/m1'],
    gpEncounters: ['Encounter/g1', 'Encounter/g2', 'Encounter/g3'],
  },
});
const desired = reviewTask(ctx, decision, 1, 'first', 'clinical', 'PractitionerRole/gp-1');
const stored: Task = { ...desired.resource, id: 't1', meta: { ...desired.resource.meta, versionId: '3' } };
const alex: WorkspaceUser = {
  subject: 'urn:uuid:alex',
  name: 'Alex Jones',
  role: 'mdt',
  agent: {
    type: 'Practitioner',
    identifier: { system: 'https://fhir.nhs.uk/Id/sds-user-id', value: 'a1' },
    display: 'Alex Jones',
  },
};
const workforce = [
  { reference: 'PractitionerRole/gp-1', role: 'gp' as const, caseload: 1 },
  { reference: 'PractitionerRole/coach-1', role: 'health-and-wellbeing-coach' as const, caseload: 5 },
];
const labels = new OwnerLabels(workforce, new Map([['PractitionerRole/gp-1', 'Dr Sam Patel']]));
const NOW = '2026-11-24T10:00:00.000Z';

describe('a decision on an escalation (a review a check-in asked for)', () => {
  const asked = escalationTask(ctx, 1, 2, 'first');
  const open: Task = { ...asked.resource, id: 'esc', meta: { ...asked.resource.meta, versionId: '1' } };
  const cases: [Decision, string, string][] = [
    [{ kind: 'continue', note: 'Doing better since' }, 'continue-plan', 'continue-plan'],
    [{ kind: 'move', owner: 'PractitionerRole/coach-1' }, 'reallocate', 'reallocate'],
    [{ kind: 'discharge' }, 'discharge', 'discharge'],
    [{ kind: 'defer' }, 'open', 'deferred'],
  ];

  it.each(cases)('%o reads back as %s, business status %s, and validates', (d, state, status) => {
    const task = decidedTask(open, d, alex, NOW, labels);
    expect(escalationState(task)).toBe(state);
    expect(task.businessStatus?.coding?.[0]?.code).toBe(status);
    expect(task.note?.at(-1)).toMatchObject({ authorReference: alex.agent, time: NOW });
    expect(validateAgainstProfile(task)).toEqual([]);
    for (const field of asked.owned) {
      expect({ field, value: (task as unknown as Record<string, unknown>)[field] }).toEqual({
        field,
        value: (open as unknown as Record<string, unknown>)[field],
      });
    }
  });

  it('names the new owner on the Task and in the note, and refuses a move to nobody, the owner or a full caseload', () => {
    const moved = decidedTask(open, { kind: 'move', owner: 'PractitionerRole/gp-1' }, alex, NOW, labels);
    expect(moved.owner).toEqual({ reference: 'PractitionerRole/gp-1' });
    expect(moved.note?.at(-1)?.text).toBe('Moved to Dr Sam Patel, General practitioner, who now owns the care plan.');
    const caseloads = new Caseloads({ patients: new Map() });
    caseloads.add('PractitionerRole/gp-1', 'someone');
    const rules = {
      workforce,
      caseloads,
      risk: 'psychosocial' as const,
      labels,
      currentOwner: 'PractitionerRole/coach-1',
    };
    const check = (d: Decision) => () => checkDecision(d, rules, 'escalation');
    expect(check({ kind: 'move', owner: 'PractitionerRole/gp-1' })).toThrow('owner: has no room');
    expect(check({ kind: 'move', owner: 'PractitionerRole/coach-1' })).toThrow('owner: is their owner already');
    expect(check({ kind: 'move', owner: 'PractitionerRole/nobody' })).toThrow('owner: choose a member');
    expect(check({ kind: 'accept' })).toThrow('kind: continue, move, discharge or defer');
    expect(() => checkDecision({ kind: 'discharge' }, rules, 'review')).toThrow('kind: accept, decline or defer');
    // Any role: a psychosocial patient may be moved to a clinician with room.
    const roomy = { ...rules, caseloads: new Caseloads({ patients: new Map() }) };
    expect(() => checkDecision({ kind: 'move', owner: 'PractitionerRole/gp-1' }, roomy, 'escalation')).not.toThrow();
  });

  it('is what an enrolled patient with an escalation decides on; a conflict says where the patient stands', () => {
    const episode: Episode = { number: 1, review: stored, checkIns: new Map(), escalations: new Map([[2, open]]) };
    expect(decisionTarget(episode, 'enrolled')).toMatchObject({ kind: 'escalation', open: true, checkIn: 2 });
    const discharged = decidedTask(open, { kind: 'discharge' }, alex, NOW, labels);
    const after: Episode = { ...episode, escalations: new Map([[2, discharged]]) };
    expect(decisionTarget(after, 'enrolled')).toMatchObject({ kind: 'escalation', open: false });
    expect(decisionTarget({ ...episode, escalations: undefined }, 'under-review')).toMatchObject({
      kind: 'review',
      open: true,
    });
    expect(conflictOf(discharged, 'escalation').current.stage).toBe('discharged');
    expect(conflictOf(decidedTask(open, { kind: 'defer' }, alex, NOW, labels), 'escalation').current.stage).toBe(
      'enrolled'
    );
  });
});

describe('a decision on a step-down review (the patient no longer meets the criteria)', () => {
  const written = stepDownTask(ctx, 1, 'PractitionerRole/gp-1', 'CarePlan/cp');
  const open: Task = { ...written.resource, id: 'sd', meta: { ...written.resource.meta, versionId: '1' } };
  const cases: [Decision, string, string, string][] = [
    [{ kind: 'step-down', note: 'Managing well' }, 'step-down', 'step-down', 'Stepped down to community support'],
    [{ kind: 'continue' }, 'continue-plan', 'continue-plan', 'Kept on the plan'],
    [{ kind: 'defer' }, 'open', 'deferred', 'Deferred to the next meeting'],
  ];

  it.each(cases)('%o reads back as %s, business status %s, and validates', (d, state, status, said) => {
    const task = decidedTask(open, d, alex, NOW, labels);
    expect(stepDownState(task)).toBe(state);
    expect(task.businessStatus?.coding?.[0]?.code).toBe(status);
    expect(task.status).toBe(state === 'open' ? 'requested' : 'completed');
    expect(task.note?.at(-1)).toMatchObject({ authorReference: alex.agent, time: NOW });
    expect(task.note?.at(-1)?.text.startsWith(said)).toBe(true);
    expect(validateAgainstProfile(task)).toEqual([]);
    for (const field of written.owned) {
      expect({ field, value: (task as unknown as Record<string, unknown>)[field] }).toEqual({
        field,
        value: (open as unknown as Record<string, unknown>)[field],
      });
    }
  });

  it("takes step down, keep or defer only, and refuses the other reviews' decisions", () => {
    const rules = { workforce, caseloads: new Caseloads({ patients: new Map() }), risk: 'clinical' as const, labels };
    for (const kind of ['step-down', 'continue', 'defer'] as const) {
      expect(() => checkDecision({ kind }, rules, 'step-down')).not.toThrow();
    }
    const refused = 'kind: step-down, continue or defer';
    expect(() => checkDecision({ kind: 'discharge' }, rules, 'step-down')).toThrow(refused);
    expect(() => checkDecision({ kind: 'accept' }, rules, 'step-down')).toThrow(refused);
    expect(() => checkDecision({ kind: 'step-down' }, rules, 'escalation')).toThrow('kind: continue, move');
    expect(() => checkDecision({ kind: 'step-down', note: 'x'.repeat(2001) }, rules, 'step-down')).toThrow('note');
  });

  it('is what an enrolled patient decides on once no escalation is open; a conflict says where the patient stands', () => {
    const episode: Episode = { number: 1, review: stored, checkIns: new Map(), stepDown: open };
    expect(decisionTarget(episode, 'enrolled')).toMatchObject({ kind: 'step-down', open: true });
    // An escalation is decided first, as the worklist shows it first.
    const asked = escalationTask(ctx, 1, 2, 'first').resource;
    const withEscalation = { ...episode, escalations: new Map([[2, { ...asked, id: 'esc' }]]) };
    expect(decisionTarget(withEscalation, 'enrolled')).toMatchObject({ kind: 'escalation', open: true });
    const steppedDown = decidedTask(open, { kind: 'step-down' }, alex, NOW, labels);
    expect(decisionTarget({ ...episode, stepDown: steppedDown }, 'discharged')).toMatchObject({
      kind: 'step-down',
      open: false,
    });
    expect(conflictOf(steppedDown, 'step-down').current.stage).toBe('discharged');
    const kept = decidedTask(open, { kind: 'continue' }, alex, NOW, labels);
    expect(conflictOf(kept, 'step-down').current.stage).toBe('enrolled');
    expect(
      sectionOf({ ...episode, stepDown: decidedTask(open, { kind: 'defer' }, alex, NOW, labels) }, 'enrolled')
    ).toBe('step-down');
    expect(sectionOf({ ...episode, stepDown: kept }, 'enrolled')).toBeUndefined();
  });
});

describe('a decision on the review Task', () => {
  const cases: [Decision, string, string][] = [
    [{ kind: 'accept', owner: 'PractitionerRole/gp-1' }, 'accepted', 'enrol'],
    [{ kind: 'decline', reason: 'supported-elsewhere', note: 'Under the frailty team' }, 'declined', 'decline'],
    [{ kind: 'defer' }, 'under-review', 'deferred'],
  ];

  it.each(cases)('%o reads back as the lifecycle stage %s, business status %s, and validates', (d, stage, status) => {
    const task = decidedTask(stored, d, alex, NOW, labels);
    expect(episodeStage({ number: 1, review: task, checkIns: new Map() })).toBe(stage);
    expect(task.businessStatus?.coding?.[0]?.code).toBe(status);
    expect(task.lastModified).toBe(NOW);
    expect(task.note?.at(-1)).toMatchObject({ authorReference: alex.agent, time: NOW });
    expect(validateAgainstProfile(task)).toEqual([]);
    if (d.kind === 'defer') {
      expect(sectionOf({ number: 1, review: task, checkIns: new Map() }, 'under-review')).toBe('deferred');
    }
  });

  it("changes none of the connector's fields, and a run's refresh of them keeps every one of the MDT's", () => {
    const task = decidedTask(stored, { kind: 'decline', reason: 'other', note: 'x' }, alex, NOW, labels);
    for (const field of desired.owned) {
      expect({ field, value: (task as unknown as Record<string, unknown>)[field] }).toEqual({
        field,
        value: (stored as unknown as Record<string, unknown>)[field],
      });
    }
    const refreshed = mergeOwned(task, {
      ...desired,
      resource: { ...desired.resource, description: 'new figures' },
    }) as Task;
    expect(refreshed).toMatchObject({
      status: 'rejected',
      statusReason: task.statusReason,
      note: task.note,
      lastModified: NOW,
    });
  });

  it('records the owner the MDT chose, and words the note for the record', () => {
    const task = decidedTask(
      stored,
      { kind: 'accept', owner: 'PractitionerRole/gp-1', note: 'Seen in clinic' },
      alex,
      NOW,
      labels
    );
    expect(task.owner).toEqual({ reference: 'PractitionerRole/gp-1' });
    expect(task.note?.at(-1)?.text).toBe(
      'Accepted for the programme; allocated to Dr Sam Patel, General practitioner. Seen in clinic'
    );
    const declined = decidedTask(stored, { kind: 'decline', reason: 'patient-known-to-decline' }, alex, NOW, labels);
    expect(declined.statusReason?.coding?.[0]).toMatchObject({
      code: 'patient-known-to-decline',
      display: 'Patient known to decline',
    });
    expect(declined.owner).toEqual(stored.owner);
  });

  it('refuses an owner of the wrong kind or without room, an unknown reason, and an overlong note', () => {
    const caseloads = new Caseloads({ patients: new Map() });
    caseloads.add('PractitionerRole/gp-1', 'someone');
    const rules = { workforce, caseloads, risk: 'clinical' as const, labels };
    expect(() => checkDecision({ kind: 'accept', owner: 'PractitionerRole/gp-1' }, rules)).toThrow(
      'owner: has no room'
    );
    expect(() => checkDecision({ kind: 'accept', owner: 'PractitionerRole/coach-1' }, rules)).toThrow(
      'owner: not a role for clinical risk'
    );
    const roomy = {
      ...rules,
      workforce: [...workforce, { reference: 'PractitionerRole/pharm-1', role: 'pharmacist' as const, caseload: 3 }],
    };
    expect(() => checkDecision({ kind: 'accept' }, roomy)).toThrow('owner: choose a member');
    expect(() => checkDecision({ kind: 'accept' }, { ...rules, workforce: [] })).not.toThrow();
    // Nobody clinical has room: accepted without an owner, the patient waits for capacity.
    expect(() => checkDecision({ kind: 'accept' }, rules)).not.toThrow();
    expect(() => checkDecision({ kind: 'decline', reason: 'bored' }, rules)).toThrow(/^reason: one of/);
    expect(() => checkDecision({ kind: 'defer', note: 'x'.repeat(2001) }, rules)).toThrow(
      'note: at most 2000 characters'
    );
    expect(() => checkDecision({ kind: 'later' } as unknown as Decision, rules)).toThrow(
      'kind: accept, decline or defer'
    );
    expect(DECLINE_REASONS.map((r) => r.code)).toEqual([
      'supported-elsewhere',
      'not-appropriate',
      'patient-known-to-decline',
      'other',
    ]);
  });

  it('names who changed the review first, and when', () => {
    const task = { ...decidedTask(stored, { kind: 'defer' }, alex, NOW, labels), meta: { versionId: '4' } };
    expect(conflictOf(task)).toEqual({
      kind: 'conflict',
      by: 'Alex Jones',
      at: NOW,
      current: {
        status: 'requested',
        businessStatus: 'deferred',
        owner: 'CareTeam/pcn-mdt',
        version: '4',
        stage: 'under-review',
      },
    });
    const elsewhere = { ...stored, status: 'rejected' as const, lastModified: NOW };
    expect(conflictOf(elsewhere)).toMatchObject({ kind: 'conflict', at: NOW, current: { stage: 'declined' } });
    expect(conflictOf(elsewhere).by).toBeUndefined();
  });

  it("writes a Provenance naming the user on behalf of the practice, valid against the connector's profile", () => {
    const task = {
      ...decidedTask(stored, { kind: 'decline', reason: 'other' }, alex, NOW, labels),
      meta: { ...stored.meta, versionId: '4' },
    };
    const provenance = decisionProvenance(
      programme,
      task,
      { kind: 'decline', reason: 'other' },
      alex,
      { reference: 'Organization/y99001' },
      NOW
    );
    expect(provenance.target).toEqual([{ reference: 'Task/t1/_history/4' }]);
    expect(provenance.agent[0]).toMatchObject({ who: alex.agent, onBehalfOf: { reference: 'Organization/y99001' } });
    expect(provenance.reason?.[0]?.coding?.[0]?.code).toBe('other');
    expect(validateAgainstProfile(provenance)).toEqual([]);
    expect(decisionProvenance(programme, task, { kind: 'decline', reason: 'other' }, alex, undefined, NOW).id).toBe(
      provenance.id
    );
  });
});

describe('the AuditEvent of a view or a decision', () => {
  const view = auditEvent(alex, { kind: 'view', patient: 'Patient/p1' }, NOW);
  const decided = auditEvent(
    alex,
    { kind: 'decision', patient: 'Patient/p1', review: 'Task/t1', version: '4', decision: 'accept' },
    NOW
  );

  it('validates against hfu-audit-event (on UKCore-AuditEvent), naming who, when, which patient and what', () => {
    for (const event of [view, decided]) {
      expect(event.meta?.profile).toEqual([PROFILE.auditEvent]);
      expect(validateAgainstProfile(event)).toEqual([]);
      expect(event).toMatchObject({
        recorded: NOW,
        agent: [{ who: alex.agent, requestor: true, altId: alex.subject }],
      });
      expect(event.entity?.[0]?.what).toEqual({ reference: 'Patient/p1' });
    }
    // With the record kept apart from the source, the patient is the source's, by absolute reference.
    const apart = auditEvent(alex, { kind: 'view', patient: 'https://gp.example.nhs.uk/R4/Patient/p1' }, NOW);
    expect(validateAgainstProfile(apart)).toEqual([]);
    expect(view.action).toBe('R');
    expect(decided.action).toBe('U');
    expect(decided.entity?.[1]?.what).toEqual({ reference: 'Task/t1/_history/4' });
  });

  it("is the same event for the same decision (a retried write changes nothing), and each view's own", () => {
    expect(
      auditEvent(
        alex,
        { kind: 'decision', patient: 'Patient/p1', review: 'Task/t1', version: '4', decision: 'accept' },
        NOW
      ).id
    ).toBe(decided.id);
    expect(auditEvent(alex, { kind: 'view', patient: 'Patient/p1' }, NOW).id).not.toBe(view.id);
  });

  const broken: [string, (e: AuditEvent) => AuditEvent][] = [
    ['without a requesting user', (e) => ({ ...e, agent: e.agent.map((a) => ({ ...a, requestor: false })) })],
    ['without the patient', (e) => ({ ...e, entity: e.entity?.slice(1) })],
    ['without what was done', (e) => ({ ...e, subtype: e.subtype?.slice(0, 1) })],
    ['without the connector as observer', (e) => ({ ...e, source: { observer: { display: 'someone' } } })],
  ];
  it.each(broken)('fails validation %s', (_name, breakIt) => {
    expect(validateAgainstProfile(breakIt(decided)).length).toBeGreaterThan(0);
  });
});

describe('the evidence timeline', () => {
  const encounter = (id: string, start: string, extra: Partial<Encounter> = {}): Encounter => ({
    resourceType: 'Encounter',
    id,
    status: 'finished',
    class: { code: 'IMP', display: 'inpatient encounter' },
    subject: { reference: 'Patient/p1' },
    period: { start },
    ...extra,
  });
  const method = {
    url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod',
    valueCodeableConcept: { coding: [{ code: '21', display: 'Emergency Admission: Emergency Care Department' }] },
  };
  const medicine: MedicationRequest = {
    resourceType: 'MedicationRequest',
    id: 'm1',
    status: 'active',
    intent: 'order',
    subject: { reference: 'Patient/p1' },
    authoredOn: '2025-10-01',
    medicationCodeableConcept: { coding: [{ code: '1', display: 'Amlodipine 5mg tablets' }] },
  };
  const record = {
    patient: { resourceType: 'Patient' as const, id: 'p1' },
    resources: {
      Encounter: [
        encounter('e1', '2026-03-02T10:00:00Z', {
          hospitalization: { extension: [method] },
          type: [{ text: 'Hospital ward' }],
        }),
        encounter('e2', '2026-09-30T23:30:00Z', { hospitalization: { extension: [method] } }),
        encounter('g1', '2026-11-02T09:00:00Z', { class: { code: 'AMB' } }),
        encounter('g2', '2026-11-20T09:00:00Z', { class: { code: 'AMB' } }),
        encounter('g3', '2026-10-20T09:00:00Z', { class: { code: 'AMB' } }),
      ],
      MedicationRequest: [medicine],
    },
  };

  it('lists each item with its date (London) and its resource, and GP contacts by month', () => {
    const timeline = evidenceTimeline(programme, decision, record);
    expect(timeline.events).toEqual([
      {
        reference: 'Encounter/e2',
        feature: 'unplannedAdmissions',
        featureTitle: 'Unplanned admissions',
        date: '2026-10-01', // 23:30 UTC on 30 September is 1 October in London (BST)
        text: 'inpatient encounter; admission method: Emergency Admission: Emergency Care Department',
      },
      expect.objectContaining({
        reference: 'Encounter/e1',
        date: '2026-03-02',
        text: expect.stringMatching(/^Hospital ward; admission method/),
      }),
    ]);
    expect(timeline.medicines).toEqual([
      expect.objectContaining({
        reference: 'MedicationRequest/m1',
        text: 'Amlodipine 5mg tablets',
        date: '2025-10-01',
      }),
    ]);
    expect(timeline.gpContactsByMonth).toEqual([
      { month: '2026-11', label: 'November 2026', count: 2, references: ['Encounter/g1', 'Encounter/g2'] },
      { month: '2026-10', label: 'October 2026', count: 1, references: ['Encounter/g3'] },
    ]);
  });
});

describe('the evidence timeline of GP contacts held as Appointments (gp-record)', () => {
  it('groups them by month with the encounters, dated by their start in London', () => {
    const appointment = (id: string, start: string) => ({
      resourceType: 'Appointment' as const,
      id,
      status: 'fulfilled' as const,
      start,
      participant: [{ actor: { reference: 'Patient/p1' }, status: 'accepted' as const }],
    });
    const record = {
      patient: { resourceType: 'Patient' as const, id: 'p1' },
      resources: {
        Appointment: [appointment('a1', '2026-10-31T23:30:00Z'), appointment('a2', '2026-10-02T09:00:00Z')],
        Encounter: [
          {
            resourceType: 'Encounter' as const,
            id: 'g1',
            status: 'finished' as const,
            class: { code: 'AMB' },
            period: { start: '2026-11-20T09:00:00Z' },
          },
        ],
      },
    };
    const withAppointments = decide(programme, 'p1', {
      facts: { unplannedAdmissions: 0, repeatMedications: 0, gpEncounters: 3, age: 80 },
      evidence: { gpEncounters: ['Appointment/a1', 'Appointment/a2', 'Encounter/g1'] },
    });
    const timeline = evidenceTimeline(programme, withAppointments, record);
    expect(timeline.gpContactsByMonth).toEqual([
      // 23:30 UTC on 31 October is 31 October in London (GMT), so October holds both appointments
      { month: '2026-11', label: 'November 2026', count: 1, references: ['Encounter/g1'] },
      { month: '2026-10', label: 'October 2026', count: 2, references: ['Appointment/a1', 'Appointment/a2'] },
    ]);
    expect(timeline.other).toEqual([]);
  });
});

describe('patients as the workspace shows them', () => {
  it('writes NHS numbers 3 3 4 and names given then family', () => {
    expect(formatNhsNumber('9434765919')).toBe('943 476 5919');
    expect(formatNhsNumber('94347')).toBe('94347');
    expect(
      displayName([
        { use: 'old', family: 'Old' },
        { use: 'official', given: ['Jane', 'Ann'], family: 'Smith' },
      ])
    ).toBe('Jane Ann Smith');
    expect(displayName(undefined)).toBe('Name not recorded');
  });

  it('lets a practice-scoped user see only their practices, and not a patient of no known practice', () => {
    const scoped = { ...alex, practices: ['Y99001'] };
    expect(maySee(scoped, { ods: 'Y99001' })).toBe(true);
    expect(maySee(scoped, { ods: 'Y99002' })).toBe(false);
    expect(maySee(scoped, undefined)).toBe(false);
    expect(maySee(alex, undefined)).toBe(true);
  });
});

describe('the worklist', () => {
  const reviewFor = (id: string, tier: 'first' | 'second', extra: Partial<Task> = {}): Task => ({
    ...reviewTask({ ...ctx, patientId: id }, decision, 1, tier, 'clinical', 'PractitionerRole/gp-1').resource,
    id: `r-${id}`,
    ...extra,
  });
  const place = (id: string, review: Task, more: Partial<Episode> = {}) => ({
    patientId: id,
    episodes: [{ number: 1, review, checkIns: new Map(), ...more }],
  });
  const openStepDown: Task = { resourceType: 'Task', id: 'sd', status: 'requested', intent: 'proposal' };
  const escalation = (id: string, n: number, authoredOn: string, extra: Partial<Task> = {}): Task => ({
    resourceType: 'Task',
    id: `esc-${id}`,
    status: 'requested',
    intent: 'proposal',
    authoredOn,
    ...extra,
  });
  /** Enrolled with gp-1 as owner; check-in n completed on the 20th for each escalation numbered n. */
  const enrolledPlace = (id: string, escalations: Record<number, Task>, more: Partial<Episode> = {}) =>
    place(id, reviewFor(id, 'second', { status: 'accepted' }), {
      carePlan: {
        resourceType: 'CarePlan',
        status: 'active',
        intent: 'plan',
        subject: { reference: `Patient/${id}` },
        author: { reference: 'PractitionerRole/gp-1' },
      },
      escalations: new Map(Object.entries(escalations).map(([n, t]) => [Number(n), t])),
      checkIns: new Map(
        Object.keys(escalations).map((n): [number, Task] => [
          Number(n),
          {
            resourceType: 'Task',
            status: 'completed',
            intent: 'order',
            executionPeriod: { end: '2026-11-20T10:00:00Z' },
          },
        ])
      ),
      ...more,
    });
  const patient = (id: string, ods: string) => ({
    resourceType: 'Patient' as const,
    id,
    name: [{ given: ['Pat'], family: id }],
    birthDate: '1950-06-01',
    identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9434765919' }],
    generalPractitioner: [{ reference: `Organization/${ods}` }],
  });
  const facts = (admissions: number, repeats: number) =>
    decide(programme, 'x', {
      facts: { unplannedAdmissions: admissions, repeatMedications: repeats, age: 76 },
      evidence: {},
    });
  const snapshot = (): Snapshot => {
    const places = [
      place('a', reviewFor('a', 'second')),
      place('b', reviewFor('b', 'first')),
      place('c', reviewFor('c', 'first')),
      place('d', reviewFor('d', 'second', { businessStatus: { coding: [{ code: 'deferred' }] } })),
      place('e', reviewFor('e', 'second', { status: 'accepted' })),
      place('gone', reviewFor('gone', 'second')),
      place('other', reviewFor('other', 'second')),
      // Enrolled: f escalated at check-in 2 and also due a step-down review (shown once, as escalated); g's
      // escalation deferred by an earlier meeting; h's escalation decided, so only the step-down review is left.
      enrolledPlace('f', { 2: escalation('f', 2, '2026-11-21T09:00:00Z') }, { stepDown: openStepDown }),
      enrolledPlace('g', {
        1: escalation('g', 1, '2026-11-10T09:00:00Z', { businessStatus: { coding: [{ code: 'deferred' }] } }),
      }),
      enrolledPlace(
        'h',
        { 1: escalation('h', 1, '2026-11-10T09:00:00Z', { status: 'completed' }) },
        { stepDown: openStepDown }
      ),
    ];
    const known: [string, KnownPatient][] = [
      ['a', { patient: patient('a', 'y1'), decision: facts(1, 15) }],
      ['b', { patient: patient('b', 'y1'), decision: facts(2, 10) }],
      ['c', { patient: patient('c', 'y1'), decision: facts(3, 10) }],
      ['d', { patient: patient('d', 'y1'), decision: facts(1, 12) }],
      ['e', { patient: patient('e', 'y1'), decision: facts(1, 12) }],
      ['other', { patient: patient('other', 'y2'), decision: facts(1, 20) }],
      ['f', { patient: patient('f', 'y1'), decision: facts(1, 12) }],
      ['g', { patient: patient('g', 'y1'), decision: facts(1, 12) }],
      ['h', { patient: patient('h', 'y1'), decision: facts(0, 12) }],
    ];
    return {
      asOf: '2026-11-23',
      record: { patients: new Map(places.map((p) => [p.patientId, p])) },
      known: new Map(known),
      organisations: new Map([
        ['Organization/y1', { reference: 'Organization/y1', ods: 'Y00001', name: 'One' }],
        ['Organization/y2', { reference: 'Organization/y2', ods: 'Y00002', name: 'Two' }],
      ]),
      memo: {},
    };
  };
  const view = (user: WorkspaceUser, filters = {}) => {
    const s = snapshot();
    return worklistView(worklistRows(s, programme, labels, 'CareTeam/pcn-mdt'), s, programme, user, filters);
  };
  const ids = (v: ReturnType<typeof view>) =>
    Object.fromEntries(v.sections.map((s) => [s.section, s.rows.map((r) => r.patient.id)]));

  it('takes escalations first, then new candidates by tier then severity, deferred reviews, step-downs and those waiting for capacity', () => {
    const v = view(alex);
    expect(ids(v)).toEqual({
      escalated: ['g', 'f'],
      new: ['c', 'b', 'other', 'a', 'gone'],
      deferred: ['d'],
      'step-down': ['h'],
      'awaiting-capacity': ['e'],
    });
    expect(v.sections.map((s) => s.title)[0]).toBe('Escalated by the care team');
    const [g, f] = v.sections[0]?.rows ?? [];
    expect(f).toMatchObject({
      stage: 'enrolled',
      reason: 'Escalated by the care team at check-in 2 on 20 November 2026',
      proposedOwner: { reference: 'PractitionerRole/gp-1', label: 'Dr Sam Patel, General practitioner' },
      review: 'Task/esc-f',
    });
    expect(g?.reason).toBe(
      'Escalated by the care team at check-in 1 on 20 November 2026; deferred at an earlier meeting'
    );
    expect(view(alex, { stage: 'escalated' }).page.rows).toBe(2);
    const c = v.sections[1]?.rows[0];
    expect(c).toMatchObject({
      patient: { name: 'Pat c', nhsNumber: '943 476 5919', age: 76, practice: { ods: 'Y00001', name: 'One' } },
      tier: { code: 'first', label: 'First priority' },
      reason: '3 unplanned admissions and 10 repeat medicines in the 12 months to 23 November 2026',
      riskFactors: [{ code: 'older-age', label: 'Age over 75' }],
      dominantRisk: { code: 'clinical' },
      proposedOwner: { reference: 'PractitionerRole/gp-1', label: 'Dr Sam Patel, General practitioner' },
    });
    // A patient whose record could not be read stays on the agenda, under their id.
    expect(v.sections[1]?.rows.find((r) => r.patient.id === 'gone')?.patient.name).toBe('Record could not be read');
    expect(v.counts).toMatchObject({
      escalated: 2,
      new: 5,
      deferred: 1,
      'step-down': 1,
      'awaiting-capacity': 1,
      total: 10,
      byTier: { first: 2, second: 8 },
    });
  });

  it('shows a practice-scoped user their practices only, and filters by practice, tier and stage', () => {
    const scoped = { ...alex, practices: ['Y00002'] };
    expect(ids(view(scoped))).toMatchObject({ new: ['other'], deferred: [] });
    expect(view(scoped).counts.total).toBe(1);
    expect(() => view(scoped, { practice: 'Y00001' })).toThrow('practice: not one of your practices');
    expect(ids(view(alex, { tier: 'first' })).new).toEqual(['c', 'b']);
    expect(ids(view(alex, { stage: 'deferred' }))).toMatchObject({ new: [], deferred: ['d'] });
    expect(ids(view(alex, { practice: 'Y00002' })).new).toEqual(['other']);
    expect(() => view(alex, { stage: 'nonsense' })).toThrow(/^stage: one of/);
    expect(() => view(alex, { page: 0 })).toThrow('page: a whole number from 1');
    expect(view(alex, { page: 2 })).toMatchObject({ page: { number: 2, size: 50, rows: 10, pages: 1 } });
  });
});

describe('caseloads', () => {
  const conversation: Task = {
    resourceType: 'Task',
    id: 'conv-p1',
    status: 'requested',
    intent: 'order',
    code: { coding: [{ code: 'what-matters-conversation' }] },
    owner: { reference: 'PractitionerRole/gp-1' },
    restriction: { period: { start: '2026-11-01', end: '2026-11-15' } },
  };
  const snapshot: Snapshot = {
    asOf: '2026-11-23',
    record: {
      patients: new Map([
        [
          'p1',
          {
            patientId: 'p1',
            episodes: [
              {
                number: 1,
                review: { ...stored, status: 'accepted' },
                carePlan: {
                  resourceType: 'CarePlan',
                  id: 'cp',
                  status: 'active',
                  intent: 'plan',
                  subject: { reference: 'Patient/p1' },
                  author: { reference: 'PractitionerRole/gp-1' },
                },
                conversation,
                checkIns: new Map(),
              },
            ],
          },
        ],
      ]),
    },
    known: new Map([
      [
        'p1',
        { patient: { resourceType: 'Patient', id: 'p1', generalPractitioner: [{ reference: 'Organization/y1' }] } },
      ],
    ]),
    organisations: new Map([['Organization/y1', { reference: 'Organization/y1', ods: 'Y00001' }]]),
    memo: {},
  };
  const mine = new OwnerLabels(workforce, new Map(), new Map([['PractitionerRole/gp-1', 'Practitioner/sam']]));
  const sam: WorkspaceUser = { ...alex, agent: { reference: 'Practitioner/sam', display: 'Sam Patel' } };

  it("lists each member's patients with the next Task they hold, overdue once past its due date, and used / limit", () => {
    const view = caseloadView(snapshot, workforce, mine, alex);
    expect(view.caseloads.map((c) => [c.reference, c.used, c.limit, c.patients.length])).toEqual([
      ['PractitionerRole/gp-1', 1, 1, 1],
      ['PractitionerRole/coach-1', 0, 5, 0],
    ]);
    expect(view.caseloads[0]?.patients[0]).toMatchObject({
      patient: { id: 'p1' },
      stage: 'enrolled',
      next: { reference: 'Task/conv-p1', kind: 'what-matters-conversation', due: '2026-11-15', overdue: true },
    });
  });

  it("finds the signed-in user's own caseloads through their practitioner role, and hides other practices' patients", () => {
    expect(myCaseloads(snapshot, workforce, mine, sam).caseloads.map((c) => c.reference)).toEqual([
      'PractitionerRole/gp-1',
    ]);
    // Their due (and overdue) conversation, linked to its form.
    expect(myCaseloads(snapshot, workforce, mine, sam).caseloads[0]?.patients[0]?.next).toMatchObject({
      overdue: true,
      form: '/mdt/patients/p1/conversation',
    });
    expect(myCaseloads(snapshot, workforce, mine, alex).caseloads).toEqual([]);
    const scoped = caseloadView(snapshot, workforce, mine, { ...alex, practices: ['Y00002'] });
    expect(scoped.caseloads[0]).toMatchObject({ used: 1, patients: [] });
  });
});
