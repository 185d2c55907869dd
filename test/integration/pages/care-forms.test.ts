import type { AuditEvent, CarePlan, Goal, QuestionnaireResponse, ServiceRequest, Task } from '@medplum/fhirtypes';
import { conversationQuestionnaire, validateResponse } from '../../../src/care';
import { QUESTIONNAIRE } from '../../../src/vocabulary';
import { Browser, formFields, signInThroughIssuer } from '../../helpers/oidc';
import type { WorkspaceRig } from '../../helpers/workspace';
import { startWorkspaceRig } from '../../helpers/workspace';
import { expectValid } from '../../helpers/care-forms';

/**
 * The care team's forms in the workspace over HTTP: who may record them, CSRF, an invalid form shown again with its
 * errors (nothing written), and a valid one saved as a QuestionnaireResponse by the user that completes the Task,
 * after which the refreshed CarePlan holds the goals and the referrals.
 */
let rig: WorkspaceRig;
beforeAll(async () => {
  rig = await startWorkspaceRig();
});
afterAll(() => rig?.stop());

const PATIENT = 'hfu-a';
const CONVERSATION = `/mdt/patients/${PATIENT}/conversation`;
const conversationTask = (): Promise<Task> => rig.practice.must<Task>('Task', PATIENT, 'what-matters-conversation');

async function signedIn(login: string): Promise<Browser> {
  const browser = new Browser();
  const landed = await signInThroughIssuer(browser, rig.url, login);
  expect({ login, status: landed.res.status }).toEqual({ login, status: 200 });
  return browser;
}

/** Posts fields (a repeated name for each checked box) as a browser sends a form. */
function post(browser: Browser, path: string, fields: [string, string][]) {
  return browser.follow(`${rig.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

const hidden = async (browser: Browser, path: string): Promise<[string, string][]> =>
  Object.entries(formFields((await browser.follow(`${rig.url}${path}`)).body, /\/conversation$/).fields);

const CONVERSATION_ANSWERS: [string, string][] = [
  ['participation', 'yes'],
  ['what-matters', 'Getting back to the allotment'],
  ['goals-1-goal-description', 'Walk to the allotment twice a week'],
  ['goals-1-goal-who', 'Me, with my daughter'],
  ['goals-1-goal-target-date[day]', '1'],
  ['goals-1-goal-target-date[month]', '3'],
  ['goals-1-goal-target-date[year]', '2027'],
  ['goals-2-goal-description', 'Sort out my pension credit claim'],
  ['goals-2-goal-who', 'Citizens Advice'],
  ['support', 'community-activity'],
  ['support', 'financial-advice'],
  ['wellbeing-life-satisfaction', '5'],
  ['wellbeing-worthwhile', '6'],
  ['wellbeing-happiness', '4'],
  ['wellbeing-anxiety', '7'],
];

const responses = () => rig.practice.client.searchAll<QuestionnaireResponse>('QuestionnaireResponse', {});

describe("the care team's forms in the workspace", () => {
  it('0. has no conversation form before the MDT accepts the patient (404)', async () => {
    const browser = await signedIn('mdt-user');
    expect((await browser.request(`${rig.url}${CONVERSATION}`)).status).toBe(404);
  });

  it('1. after an accept, offers the conversation on the patient page and shows it as an NHS.UK form', async () => {
    const browser = await signedIn('mdt-user');
    const page = await browser.follow(`${rig.url}/mdt/patients/${PATIENT}`);
    const fields = formFields(page.body, /\/decision$/).fields;
    // The owner the connector proposed (the radio checked), as the MDT mostly accepts it.
    const owner = /<input[^>]*name="owner"[^>]*value="([^"]+)"[^>]*checked/.exec(page.body)?.[1];
    expect(owner).toMatch(/^PractitionerRole\//);
    const accepted = await browser.post(`${rig.url}/mdt/patients/${PATIENT}/decision`, {
      ...fields,
      decision: 'accept',
      owner: owner as string,
    });
    expect(accepted.res.status).toBe(200);
    expect(accepted.body).toContain(`href="${CONVERSATION}"`);
    const caseloads = await browser.follow(`${rig.url}/mdt/caseloads`);
    expect(caseloads.body).toContain(`<a href="${CONVERSATION}">`);
    const form = await browser.follow(`${rig.url}${CONVERSATION}`);
    expect(form.res.status).toBe(200);
    expect(form.res.headers.get('cache-control')).toBe('no-store');
    // Every question of the Questionnaire is on the form.
    const texts = (conversationQuestionnaire().item ?? []).flatMap(function all(i): string[] {
      return [i.text ?? '', ...(i.item ?? []).flatMap(all)];
    });
    for (const text of texts) {
      expect(form.body).toContain(text.replace(/'/g, '&#39;'));
    }
    expect(form.body).toContain('nhsuk-character-count');
    expect(form.body).toContain('name="next-check-in[day]"');
    expect(form.body).toMatch(/type="checkbox"/);
  });

  it('2. refuses a viewer (403), another practice’s user (403) and a POST without the CSRF token, writing nothing', async () => {
    const before = await conversationTask();
    const viewer = await signedIn('viewer-user');
    expect((await viewer.request(`${rig.url}${CONVERSATION}`)).status).toBe(403);
    const token = /<meta name="csrf-token" content="([^"]+)">/.exec(
      (await viewer.follow(`${rig.url}/mdt/worklist`)).body
    )?.[1] as string;
    const refused = await post(viewer, CONVERSATION, [
      ['_csrf', token],
      ['version', before.meta?.versionId ?? ''],
      ...CONVERSATION_ANSWERS,
    ]);
    expect(refused.res.status).toBe(403);
    const outsider = await signedIn('scoped-user');
    const outside = await outsider.request(`${rig.url}${CONVERSATION}`);
    expect(outside.status).toBe(403);
    const member = await signedIn('mdt-user');
    const fields = await hidden(member, CONVERSATION);
    const withoutToken = await post(member, CONVERSATION, [
      ...fields.filter(([k]) => k !== '_csrf'),
      ...CONVERSATION_ANSWERS,
    ]);
    expect(withoutToken.res.status).toBe(403);
    expect((await conversationTask()).meta?.versionId).toBe(before.meta?.versionId);
    expect(await responses()).toEqual([]);
  });

  it('3. shows an invalid form again with an error summary naming each problem, and writes nothing', async () => {
    const before = await conversationTask();
    const member = await signedIn('mdt-user');
    const fields = await hidden(member, CONVERSATION);
    const invalid = await post(member, CONVERSATION, [
      ...fields,
      ...CONVERSATION_ANSWERS.filter(([k]) => k !== 'goals-2-goal-who' && k !== 'wellbeing-happiness'),
      ['wellbeing-happiness', '11'],
      ['next-check-in[day]', '31'],
      ['next-check-in[month]', '2'],
      ['next-check-in[year]', '2027'],
    ]);
    expect(invalid.res.status).toBe(400);
    expect(invalid.body).toContain('nhsuk-error-summary');
    for (const anchor of ['#goals-2-goal-who', '#wellbeing-happiness', '#next-check-in-day']) {
      expect(invalid.body).toContain(`href="${anchor}"`);
    }
    // What was entered is kept.
    expect(invalid.body).toContain('Sort out my pension credit claim');
    expect((await conversationTask()).meta?.versionId).toBe(before.meta?.versionId);
    expect(await responses()).toEqual([]);
  });

  it('4. refuses a stale version with the conflict message, writing nothing', async () => {
    const member = await signedIn('mdt-user');
    const fields = (await hidden(member, CONVERSATION)).map(([k, v]): [string, string] =>
      k === 'version' ? [k, `${v}-old`] : [k, v]
    );
    const stale = await post(member, CONVERSATION, [...fields, ...CONVERSATION_ANSWERS]);
    expect(stale.res.status).toBe(409);
    expect(stale.body).toContain('Nothing you entered has been saved');
    expect(await responses()).toEqual([]);
  });

  it('5. saves a valid form as the user’s QuestionnaireResponse, completes the Task, and the CarePlan holds the plan', async () => {
    const member = await signedIn('mdt-user');
    const before = await conversationTask();
    const fields = await hidden(member, CONVERSATION);
    const saved = await post(member, CONVERSATION, [...fields, ...CONVERSATION_ANSWERS]);
    expect(saved.res.status).toBe(200);
    expect(saved.url).toBe(`${rig.url}/mdt/patients/${PATIENT}?recorded=conversation`);

    const task = await conversationTask();
    expect(task.status).toBe('completed');
    expect(task.meta?.versionId).not.toBe(before.meta?.versionId);
    const output = task.output?.map((o) => o.valueReference?.reference) ?? [];
    expect(output).toHaveLength(1);
    expect(output[0]).toMatch(/^QuestionnaireResponse\/[A-Za-z0-9\-.]+$/);
    const [response] = await responses();
    expect(`QuestionnaireResponse/${response?.id}`).toBe(output[0]);
    expect(response?.status).toBe('completed');
    expect(response?.questionnaire?.split('|')[0]).toBe(QUESTIONNAIRE.conversation.url);
    expect(response?.subject).toEqual(task.for);
    expect(response?.author?.display).toBe('Morgan MDT');
    expect(validateResponse(conversationQuestionnaire(), response as QuestionnaireResponse)).toEqual([]);

    // The targeted refresh made the plan: two goals and two referrals, from the response's own answers.
    const plan = await rig.practice.must<CarePlan>('CarePlan', PATIENT, 'care-plan');
    const goals = await Promise.all(
      (plan.goal ?? []).map((g) => rig.practice.client.read<Goal>('Goal', (g.reference ?? '').split('/')[1] ?? ''))
    );
    const said = (response?.item ?? [])
      .filter((i) => i.linkId === 'goals')
      .map((g) => g.item?.find((i) => i.linkId === 'goal-description')?.answer?.[0]?.valueString);
    expect(goals.map((g) => g.description.text).sort()).toEqual([...said].sort());
    const referrals = await Promise.all(
      (plan.activity ?? []).flatMap((a) =>
        a.reference?.reference?.startsWith('ServiceRequest/')
          ? [rig.practice.client.read<ServiceRequest>('ServiceRequest', a.reference.reference.split('/')[1] ?? '')]
          : []
      )
    );
    const agreed = (response?.item ?? [])
      .filter((i) => i.linkId === 'support')
      .flatMap((i) => i.answer ?? [])
      .map((a) => a.valueCoding?.code);
    expect(referrals.map((r) => r.code?.coding?.[0]?.code).sort()).toEqual([...agreed].sort());
    expectValid([plan, ...goals, ...referrals, task, response as QuestionnaireResponse]);

    // The recording is audited: the user, the patient, the Task version the form completed.
    const audits = await rig.practice.client.searchAll<AuditEvent>('AuditEvent', {});
    const recorded = audits.filter((a) =>
      a.entity?.some((e) => e.what?.reference === `Task/${task.id}/_history/${task.meta?.versionId}`)
    );
    expect(recorded.map((a) => [a.agent[0]?.name, a.entity?.[0]?.what?.reference])).toEqual([
      ['Morgan MDT', task.for?.reference],
    ]);

    // The patient page shows the plan as it now stands.
    for (const goal of goals) {
      expect(saved.body).toContain(goal.description.text);
    }
    expect(saved.body).toContain('Personal wellbeing (ONS4) over time');
    expect(saved.body).toContain('<svg role="img" aria-labelledby="wellbeing-chart-caption"');
    expect(saved.body).toContain('conversation is recorded');
  });

  it('6. says the form is recorded when it is opened again, and a repeated POST writes nothing more', async () => {
    const member = await signedIn('mdt-user');
    const page = await member.follow(`${rig.url}${CONVERSATION}`);
    expect(page.res.status).toBe(200);
    expect(page.body).toContain('already been recorded');
    expect(page.body).not.toContain('Save and complete');
    const task = await conversationTask();
    const token = /<meta name="csrf-token" content="([^"]+)">/.exec(page.body)?.[1] as string;
    const again = await post(member, CONVERSATION, [
      ['_csrf', token],
      ['version', task.meta?.versionId ?? ''],
      ...CONVERSATION_ANSWERS,
    ]);
    expect(again.res.status).toBe(409);
    expect(await responses()).toHaveLength(1);
    expect((await conversationTask()).meta?.versionId).toBe(task.meta?.versionId);
  });

  it('7. records a check-in from the caseloads link: one goal achieved, the other progressing', async () => {
    const member = await signedIn('mdt-user');
    const checkIn = `/mdt/patients/${PATIENT}/check-ins/1`;
    const caseloads = await member.follow(`${rig.url}/mdt/caseloads`);
    expect(caseloads.body).toContain(`<a href="${checkIn}">`);
    const form = await member.follow(`${rig.url}${checkIn}`);
    expect(form.res.status).toBe(200);
    const plan = await rig.practice.must<CarePlan>('CarePlan', PATIENT, 'care-plan');
    const goals = await Promise.all(
      (plan.goal ?? []).map((g) => rig.practice.client.read<Goal>('Goal', (g.reference ?? '').split('/')[1] ?? ''))
    );
    // The form asks about each goal of the plan, in the plan's order.
    const asked = goals.map((g) => form.body.indexOf(g.description.text ?? ''));
    expect(asked.every((i) => i > 0)).toBe(true);
    const fields = Object.entries(formFields(form.body, /\/check-ins\/1$/).fields);
    const achieved = goals.findIndex((g) => form.body.indexOf(g.description.text ?? '') === Math.min(...asked));
    // Someone else opens the same check-in at the same version and saves at the same moment: one of the two is
    // recorded, the other is told of the conflict; one response, never changed by the other.
    const other = await signedIn('mdt-user-2');
    const otherFields = Object.entries(
      formFields((await other.follow(`${rig.url}${checkIn}`)).body, /\/check-ins\/1$/).fields
    );
    const before = await rig.practice.must<Task>('Task', PATIENT, 'check-in', 1, 1);
    const answers = (words: string): [string, string][] => [
      ['how-things-are-going', words],
      ['goal-progress-1-progress', 'achieved'],
      ['goal-progress-2-progress', 'progressing'],
      ['access-problem', 'no'],
      ['wellbeing-life-satisfaction', '7'],
      ['wellbeing-worthwhile', '7'],
      ['wellbeing-happiness', '6'],
      ['wellbeing-anxiety', '4'],
      ['next-step', 'continue'],
    ];
    const results = await Promise.all([
      post(member, checkIn, [...fields, ...answers('Going to the allotment every week now')]),
      post(other, checkIn, [...otherFields, ...answers('Doing well, most weeks')]),
    ]);
    expect(results.map((r) => r.res.status).sort()).toEqual([200, 409]);
    const saved = results.find((r) => r.res.status === 200) as (typeof results)[number];
    expect(saved.url).toBe(`${rig.url}/mdt/patients/${PATIENT}?recorded=check-in`);
    const task = await rig.practice.must<Task>('Task', PATIENT, 'check-in', 1, 1);
    expect(task.status).toBe('completed');
    const checkIns = (await responses()).filter((r) =>
      r.identifier?.value?.startsWith(`Task/${task.id}/_history/${before.meta?.versionId}`)
    );
    expect(checkIns).toHaveLength(1);
    expect(`QuestionnaireResponse/${checkIns[0]?.id}`).toBe(task.output?.[0]?.valueReference?.reference);
    // The response holds the answers of the one recorded, not the other's.
    const winner = results[0]?.res.status === 200 ? 'Going to the allotment every week now' : 'Doing well, most weeks';
    expect(checkIns[0]?.item?.find((i) => i.linkId === 'how-things-are-going')?.answer?.[0]?.valueString).toBe(winner);
    const after = await Promise.all(goals.map((g) => rig.practice.client.read<Goal>('Goal', g.id as string)));
    const status = after.map((g) => g.achievementStatus?.coding?.[0]?.code);
    expect(status[achieved]).toBe('achieved');
    expect(status.filter((c) => c === 'achieved')).toHaveLength(1);
    expectValid([...after, task, ...checkIns]);
    expect(await responses()).toHaveLength(2);
  });
});
