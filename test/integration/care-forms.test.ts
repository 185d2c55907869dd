import type {
  CarePlan,
  Flag,
  Goal,
  Observation,
  Provenance,
  QuestionnaireResponse,
  QuestionnaireResponseItem,
  Resource,
  ServiceRequest,
  Task,
} from '@medplum/fhirtypes';
import { addDays } from '../../src/dates';
import { IDENTIFIER, MANAGED_TAG, QUESTIONNAIRE, token } from '../../src/vocabulary';
import type { PracticeOptions, RunJson } from './helpers/programme';
import { AS_OF, ProgrammePractice } from './helpers/programme';
import { completeWithForm } from './helpers/care-forms';
import { coded, expectValid, ons4, question } from '../helpers/care-forms';

/**
 * The care team's records with no browser: the test acts as a platform that renders the Questionnaires. It reads
 * the form from the Task's input, writes the QuestionnaireResponse and completes the Task over FHIR; the
 * connector's next run makes the plan from it and reacts to what was recorded.
 */
type CareRunJson = RunJson & { stages: Record<string, number>; unprocessable: { task: string; reason: string }[] };

/** The codes a Task's form input carries, spelt out: what a platform matches on. */
const SDC = 'http://hl7.org/fhir/uv/sdc/CodeSystem/temp';
const CS = 'https://fhir.hfu-connector.org/CodeSystem';

/** One endpoint for everything; and a read-only source with the programme's record (and the forms) on a target. */
const SETUPS: [string, PracticeOptions, Record<string, string>][] = [
  ['on the embedded server', {}, {}],
  ['with a read-only source and a separate writable target', { behave: 'read-only', separateTarget: true }, {}],
  [
    'on a server without transactions (minimal: one request per write)',
    { behave: 'minimal' },
    { HFU_WRITEBACK__STRATEGY: 'auto', HFU_EXTRACT__SUBJECT_SEARCH: 'per-patient' },
  ],
];

let practice: ProgrammePractice;
let env: Record<string, string> = {};

async function hfuRun(asOf = AS_OF): Promise<CareRunJson> {
  const { code, json, stderr } = await practice.run(asOf, { env });
  expect({ code, stderr: code ? stderr.slice(-2000) : '' }).toEqual({ code: 0, stderr: '' });
  expect(json.writeFailures).toEqual([]);
  expect(json.conflicts).toEqual([]);
  return json as CareRunJson;
}

/** A run, then the same run again: the second finds everything in place and writes nothing. */
async function runTwice(asOf = AS_OF): Promise<CareRunJson> {
  const first = await hfuRun(asOf);
  const second = await hfuRun(asOf);
  expect(second.writes).toMatchObject({ created: 0, updated: 0, provenance: 0 });
  return first;
}

const tagged = <T extends Resource>(type: T['resourceType'], patientId: string) =>
  practice.client.searchAll<T>(type, { _tag: token(MANAGED_TAG), subject: practice.sourceRef(`Patient/${patientId}`) });

describe.each(SETUPS)("the care team's forms over FHIR, as a platform records them, %s", (_name, options, settings) => {
  beforeAll(async () => {
    practice = await ProgrammePractice.start({}, options);
    env = settings;
  });
  afterAll(() => practice.stop());

  const conversationOf = (id: string) => practice.must<Task>('Task', id, 'what-matters-conversation');
  let conversationResponse: QuestionnaireResponse;

  it('1. points the conversation Task at its Questionnaire once the MDT accepts a patient', async () => {
    await hfuRun();
    const decided = { lastModified: new Date().toISOString() };
    for (const id of ['hfu-a', 'hfu-b', 'hfu-d', 'hfu-e', 'hfu-f']) {
      const review = await practice.must<Task>('Task', id, 'mdt-review');
      await practice.record(review, {
        ...decided,
        status: 'accepted',
        ...(id === 'hfu-a' ? { owner: { reference: 'PractitionerRole/gp-1' } } : {}),
      });
    }
    const run = await runTwice();
    expect(run.actions).toEqual({ enrol: 5 });
    const conversation = await conversationOf('hfu-a');
    expect(conversation.input).toEqual([
      {
        type: {
          coding: [
            { system: SDC, code: 'questionnaire', display: 'Questionnaire' },
            { system: `${CS}/hfu-task-input`, code: 'questionnaire', display: 'The form to complete' },
          ],
          text: 'The form to complete',
        },
        valueCanonical: `${QUESTIONNAIRE.conversation.url}|${QUESTIONNAIRE.conversation.version}`,
      },
    ]);
    expectValid([conversation]);
  });

  it('2. makes the conversation into goals, referrals, wellbeing scores and the plan; closes a declined episode; leaves an invalid form alone', async () => {
    const nextCheckIn = addDays(AS_OF, 10);
    conversationResponse = await completeWithForm(practice, await conversationOf('hfu-a'), [
      question('participation', coded('hfu-participation', 'yes')),
      question('what-matters', { valueString: 'Getting back to the allotment and seeing my grandchildren' }),
      {
        linkId: 'goals',
        item: [
          question('goal-description', { valueString: 'Walk to the allotment twice a week' }),
          question('goal-who', { valueString: 'Me, with my daughter' }),
          question('goal-target-date', { valueDate: addDays(AS_OF, 60) }),
        ],
      },
      {
        linkId: 'goals',
        item: [
          question('goal-description', { valueString: 'Sort out my pension credit claim' }),
          question('goal-who', { valueString: 'Citizens Advice' }),
        ],
      },
      question('support', coded('hfu-support', 'community-activity'), coded('hfu-support', 'financial-advice')),
      ons4([5, 6, 4, 7]),
      question('next-check-in', { valueDate: nextCheckIn }),
    ]);
    const declined = await completeWithForm(practice, await conversationOf('hfu-d'), [
      question('participation', coded('hfu-participation', 'declined')),
    ]);
    const invalid = await completeWithForm(practice, await conversationOf('hfu-b'), [
      question('participation', coded('hfu-participation', 'yes')),
      ons4([5, 6, 11, 7]), // a score over 10; and no "what matters"
    ]);
    const notNow = await completeWithForm(practice, await conversationOf('hfu-e'), [
      question('participation', coded('hfu-participation', 'not-now')),
      question('try-again-after', { valueDate: addDays(AS_OF, 21) }),
    ]);
    // f: the most a form holds, more changes than one transaction on this server takes (8 entries).
    const kinds = [
      'community-activity',
      'financial-advice',
      'housing',
      'employment',
      'health-coaching',
      'carer-support',
      'mental-health',
      'medication-review',
      'other',
    ];
    await completeWithForm(practice, await conversationOf('hfu-f'), [
      question('participation', coded('hfu-participation', 'yes')),
      question('what-matters', { valueString: 'Staying at home' }),
      ...[1, 2, 3, 4, 5].map((n) => ({
        linkId: 'goals',
        item: [question('goal-description', { valueString: `Goal ${n}` }), question('goal-who', { valueString: 'Me' })],
      })),
      question('support', ...kinds.map((k) => coded('hfu-support', k))),
      ons4([3, 4, 3, 8]),
    ]);
    const invalidBefore = await practice.client.read<Task>('Task', (await conversationOf('hfu-b')).id as string);

    const run = await runTwice();
    expect(run.unprocessable).toEqual([
      { task: `Task/${invalidBefore.id}`, reason: 'missing-required:what-matters,out-of-range:happiness' },
    ]);
    expect(run.actions).toMatchObject({
      'record-care': 2,
      'patient-declined': 1,
      'reschedule-conversation': 1,
      'schedule-check-in': 2,
    });

    // a: the plan as agreed.
    const goals = (await tagged<Goal>('Goal', 'hfu-a')).sort((x, y) =>
      (x.identifier?.[0]?.value ?? '') < (y.identifier?.[0]?.value ?? '') ? -1 : 1
    );
    expect(goals.map((g) => [g.description.text, g.lifecycleStatus, g.target?.[0]?.dueDate])).toEqual([
      ['Walk to the allotment twice a week', 'active', addDays(AS_OF, 60)],
      ['Sort out my pension credit claim', 'active', undefined],
    ]);
    const referrals = await tagged<ServiceRequest>('ServiceRequest', 'hfu-a');
    expect(referrals.map((r) => r.code?.coding?.[0]?.code).sort()).toEqual(['community-activity', 'financial-advice']);
    expect(referrals.every((r) => r.status === 'active' && r.requester?.reference === 'PractitionerRole/gp-1')).toBe(
      true
    );
    const [wellbeing, ...moreScores] = await tagged<Observation>('Observation', 'hfu-a');
    expect(moreScores).toEqual([]);
    expect(wellbeing?.component?.map((c) => [c.code.coding?.[0]?.code, c.valueInteger])).toEqual([
      ['life-satisfaction', 5],
      ['worthwhile', 6],
      ['happiness', 4],
      ['anxiety', 7],
    ]);
    expect(wellbeing?.derivedFrom).toEqual([{ reference: `QuestionnaireResponse/${conversationResponse.id}` }]);
    const plan = await practice.must<CarePlan>('CarePlan', 'hfu-a', 'care-plan');
    expect(plan.goal?.map((g) => g.reference).sort()).toEqual(goals.map((g) => `Goal/${g.id}`).sort());
    const activities = plan.activity?.map((a) => a.reference?.reference) ?? [];
    expect(activities).toEqual(expect.arrayContaining(referrals.map((r) => `ServiceRequest/${r.id}`)));
    expect(plan.supportingInfo?.map((s) => s.reference)).toContain(`Observation/${wellbeing?.id}`);
    for (const heading of [
      'About me',
      'What matters to me',
      'My goals',
      'Support and actions',
      'Contacts',
      'Review date',
    ]) {
      expect(plan.text?.div).toContain(`<h2>${heading}</h2>`);
    }
    expect(plan.text?.div).toContain('Getting back to the allotment');
    const checkIn = await practice.must<Task>('Task', 'hfu-a', 'check-in', 1, 1);
    expect(checkIn.restriction?.period?.start).toBe(nextCheckIn); // the professional's date, not the cadence
    expect(checkIn.input?.[0]?.valueCanonical).toBe(`${QUESTIONNAIRE.checkIn.url}|${QUESTIONNAIRE.checkIn.version}`);
    expectValid([...goals, ...referrals, wellbeing as Observation, plan, checkIn]);

    // f: five goals, nine referrals, the scores, all in the plan.
    const fPlan = await practice.must<CarePlan>('CarePlan', 'hfu-f', 'care-plan');
    const fGoals = await tagged<Goal>('Goal', 'hfu-f');
    const fReferrals = await tagged<ServiceRequest>('ServiceRequest', 'hfu-f');
    expect([fGoals.length, fReferrals.length, fPlan.goal?.length]).toEqual([5, 9, 5]);
    expect(fPlan.activity?.map((a) => a.reference?.reference)).toEqual(
      expect.arrayContaining(fReferrals.map((r) => `ServiceRequest/${r.id}`))
    );
    expect(await practice.managed<Task>('Task', 'hfu-f', 'check-in', 1, 1)).toBeDefined();
    expectValid([fPlan, ...fGoals, ...fReferrals]);

    // d: declined by the patient: the episode is closed.
    const dPlan = await practice.must<CarePlan>('CarePlan', 'hfu-d', 'care-plan');
    expect(dPlan.status).toBe('revoked');
    expect(dPlan.period?.end).toBe(AS_OF);
    expect(dPlan.extension?.[0]?.valueCodeableConcept?.coding?.[0]?.code).toBe('declined-by-patient');
    const dFlag = await practice.must<Flag>('Flag', 'hfu-d', 'flag');
    expect(dFlag).toMatchObject({ status: 'inactive', period: { end: AS_OF } });
    expect((await practice.membersFor('hfu-d'))[0]?.period?.end).toBe(AS_OF);
    const [provenance] = await practice.provenanceFor(dFlag).then((ps) => ps.filter((p) => p.reason?.length));
    expect(provenance?.reason).toEqual([{ text: 'declined-by-patient' }]);
    expect(provenance?.entity?.map((e) => e.what.reference)).toContain(`QuestionnaireResponse/${declined.id}`);
    expect(await tagged<Goal>('Goal', 'hfu-d')).toEqual([]);
    expectValid([dPlan, dFlag]);

    // e: "not now": a second attempt at the conversation from the agreed date.
    const again = await practice.must<Task>('Task', 'hfu-e', 'what-matters-conversation', 1, 2);
    expect(again).toMatchObject({ status: 'requested', restriction: { period: { start: addDays(AS_OF, 21) } } });
    expect((await practice.must<Flag>('Flag', 'hfu-e', 'flag')).status).toBe('active');
    expect(await practice.client.read<QuestionnaireResponse>('QuestionnaireResponse', notNow.id as string)).toEqual(
      notNow
    );

    // b: the invalid form changed nothing, and nothing the care team wrote was modified.
    expect(await practice.managed<Task>('Task', 'hfu-b', 'check-in', 1, 1)).toBeUndefined();
    expect(await tagged<Observation>('Observation', 'hfu-b')).toEqual([]);
    expect(await practice.client.read<Task>('Task', invalidBefore.id as string)).toEqual(invalidBefore);
    expect(await practice.client.read<QuestionnaireResponse>('QuestionnaireResponse', invalid.id as string)).toEqual(
      invalid
    );
    expect(run.stages).toMatchObject({ declined: 1 });
  });

  it('3. follows the check-ins: goal progress, wellbeing over time, escalation to the MDT; step down completes the plan', async () => {
    const goals = await tagged<Goal>('Goal', 'hfu-a');
    const goalStarting = (start: string): Goal => goals.find((g) => g.description.text?.startsWith(start)) as Goal;
    const walk = goalStarting('Walk');
    const pension = goalStarting('Sort');
    const progress = (goal: Goal, code: string): QuestionnaireResponseItem => ({
      linkId: 'goal-progress',
      item: [
        question('goal', { valueReference: { reference: `Goal/${goal.id}` } }),
        question('progress', coded('hfu-goal-progress', code)),
      ],
    });
    const secondDate = addDays(AS_OF, 14); // no date set at an escalation: the programme's cadence
    await completeWithForm(practice, await practice.must<Task>('Task', 'hfu-a', 'check-in', 1, 1), [
      question('how-things-are-going', { valueString: 'Been to the allotment most weeks' }),
      progress(walk, 'progressing'),
      progress(pension, 'achieved'),
      question('access-problem', { valueBoolean: false }),
      ons4([6, 7, 6, 5]),
      question('next-step', coded('hfu-next-step', 'escalate')),
    ]);
    expect((await runTwice()).actions).toMatchObject({ escalate: 1, 'schedule-check-in': 1 });
    const escalation = await practice.must<Task>('Task', 'hfu-a', 'mdt-review', 1, 1);
    expect(escalation).toMatchObject({
      status: 'requested',
      intent: 'proposal',
      owner: { reference: 'CareTeam/pcn-mdt' },
    });
    expectValid([escalation]);
    const after = await tagged<Goal>('Goal', 'hfu-a');
    expect(after.find((g) => g.id === pension.id)).toMatchObject({
      lifecycleStatus: 'completed',
      achievementStatus: { coding: [{ code: 'achieved' }] },
    });
    expect(after.find((g) => g.id === walk.id)).toMatchObject({
      lifecycleStatus: 'active',
      achievementStatus: { coding: [{ code: 'in-progress' }] },
    });
    expect((await tagged<Observation>('Observation', 'hfu-a')).length).toBe(2);
    expect((await practice.must<Task>('Task', 'hfu-a', 'check-in', 1, 2)).restriction?.period?.start).toBe(secondDate);

    // Before the plan ends: the financial advice service completes its referral, and another system refers the
    // patient on the same plan (not the connector's: no tag, no business identifier of its own).
    const referralsBefore = await tagged<ServiceRequest>('ServiceRequest', 'hfu-a');
    const byCode = (code: string) => referralsBefore.find((r) => r.code?.coding?.[0]?.code === code) as ServiceRequest;
    const actioned = await practice.client.update<ServiceRequest>({
      ...byCode('financial-advice'),
      status: 'completed',
    });
    const { resource: foreign } = await practice.client.create<ServiceRequest>({
      resourceType: 'ServiceRequest',
      status: 'active',
      intent: 'order',
      subject: { reference: practice.sourceRef('Patient/hfu-a') },
      basedOn: [{ reference: `CarePlan/${(await practice.must<CarePlan>('CarePlan', 'hfu-a', 'care-plan')).id}` }],
      code: { text: 'Falls clinic' },
    });
    const provenanceOf = async (r: ServiceRequest) =>
      (await practice.client.searchAll<Provenance>('Provenance', {})).filter((p) =>
        p.target.some((t) => t.reference?.startsWith(`ServiceRequest/${r.id}`))
      );
    const provenanceBefore = (await provenanceOf(byCode('community-activity'))).length;
    await completeWithForm(practice, await practice.must<Task>('Task', 'hfu-a', 'check-in', 1, 2), [
      question('how-things-are-going', { valueString: 'Doing well, the group keeps me going' }),
      progress(walk, 'achieved'),
      question('access-problem', { valueBoolean: false }),
      ons4([8, 8, 7, 3]),
      question('next-step', coded('hfu-next-step', 'step-down')),
    ]);
    const run = await runTwice();
    expect(run.actions).toMatchObject({ 'complete-plan': 1 });
    const plan = await practice.must<CarePlan>('CarePlan', 'hfu-a', 'care-plan');
    expect(plan).toMatchObject({ status: 'completed', period: { end: AS_OF } });
    expect(plan.extension?.[0]?.valueCodeableConcept?.coding?.[0]?.code).toBe('stepped-down');
    expect(plan.supportingInfo?.filter((s) => s.reference?.startsWith('Observation/')).length).toBe(3);
    expect(plan.text?.div).toContain(`The plan ended on`);
    expect((await practice.must<Flag>('Flag', 'hfu-a', 'flag')).status).toBe('inactive');
    expect((await practice.membersFor('hfu-a'))[0]?.period?.end).toBe(AS_OF);
    expect(await practice.managed<Task>('Task', 'hfu-a', 'check-in', 1, 3)).toBeUndefined();
    expect((await practice.must<Task>('Task', 'hfu-a', 'mdt-review', 1, 1)).status).toBe('cancelled');
    // The plan ended: the referral still open is revoked, with a Provenance; the one the service completed and the
    // one the connector did not write are as they were (a second run, above, wrote nothing).
    const open = byCode('community-activity');
    const statusOf = async (r: ServiceRequest) =>
      (await practice.client.read<ServiceRequest>('ServiceRequest', r.id as string)).status;
    expect({ open: await statusOf(open), actioned: await statusOf(actioned) }).toEqual({
      open: 'revoked',
      actioned: 'completed',
    });
    expect(await practice.client.read<ServiceRequest>('ServiceRequest', foreign.id as string)).toEqual(foreign);
    expect((await provenanceOf(open)).length).toBe(provenanceBefore + 1);
    expect(await provenanceOf(foreign)).toEqual([]);
    // A run killed after the plan was completed and before its referral was revoked leaves the referral open: the
    // next run finishes the discharge, and the one after changes nothing.
    await practice.client.update<ServiceRequest>({
      ...(await practice.client.read<ServiceRequest>('ServiceRequest', open.id as string)),
      status: 'active',
    });
    expect((await runTwice()).actions).toEqual({ discharge: 1 });
    expect(await statusOf(open)).toBe('revoked');
    expect(await statusOf(actioned)).toBe('completed');
    expect((await provenanceOf(open)).length).toBe(provenanceBefore + 2);
    const written = [
      ...(await tagged<Goal>('Goal', 'hfu-a')),
      ...(await tagged<ServiceRequest>('ServiceRequest', 'hfu-a')),
      ...(await tagged<Observation>('Observation', 'hfu-a')),
      plan,
    ];
    expectValid(written);
    expect(
      await practice.client.read<QuestionnaireResponse>('QuestionnaireResponse', conversationResponse.id as string)
    ).toEqual(conversationResponse);
  });

  it('4. does not propose a patient who declined again within the cool-off', async () => {
    const later = addDays(AS_OF, 30);
    const run = await runTwice(later);
    expect(run.proposed).not.toContain('Patient/hfu-d');
    expect(await practice.managed<Task>('Task', 'hfu-d', 'mdt-review', 2)).toBeUndefined();
    const identifier = `${IDENTIFIER.task}|nhse-hfu-2022/Patient/hfu-d/mdt-review/2`;
    expect(await practice.client.searchAll<Task>('Task', { identifier })).toEqual([]);
  });
});
