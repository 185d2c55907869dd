import type { CarePlan, Flag, Goal, ServiceRequest, Task } from '@medplum/fhirtypes';
import type { Page } from 'playwright-core';
import { addDays } from '../../src/dates';
import { AS_OF } from '../integration/helpers/programme';
import type { WorkspaceRig } from '../helpers/workspace';
import { reusedSignIns, signedInPage, startWorkspaceRig } from '../helpers/workspace';
import type { TestBrowser } from '../helpers/chromium';
import { expectAccessible, launchChromium, screenshot } from '../helpers/chromium';
import { expectValid } from '../helpers/care-forms';

/**
 * The care team's forms in chromium: a patient accepted, their conversation recorded with two goals and two
 * referrals, two check-ins (a goal achieved, then a step down) closing the plan; a second patient who declines.
 */
let rig: WorkspaceRig;
let chromium: TestBrowser;
/**
 * The first test signs in through the issuer's own pages in chromium; the others start from the cookies of one
 * sign-in through the issuer over HTTP (another window, already signed in, on about:blank).
 */
let signIn: ReturnType<typeof reusedSignIns>;

beforeAll(async () => {
  [rig, chromium] = await Promise.all([startWorkspaceRig(), launchChromium()]);
  signIn = reusedSignIns(chromium, rig);
});
afterAll(async () => {
  await Promise.all([chromium?.close(), rig?.stop()]);
});

/** Accepts the patient with the owner the connector proposed, from their page. */
async function accept(page: Page, patient: string): Promise<void> {
  await page.goto(`${rig.url}/mdt/patients/${patient}`);
  await page.check('input[name="decision"][value="accept"]');
  await page.click('form[action$="/decision"] button');
  await page.waitForURL(new RegExp(`/mdt/patients/${patient}\\?decided=accept$`));
}

/** Opens a form from the link on the caseloads page, as the owner's team finds it. */
async function openFromCaseloads(page: Page, path: string): Promise<void> {
  await page.goto(`${rig.url}/mdt/caseloads`);
  await page.click(`a[href="${path}"]`);
  await page.waitForURL(`${rig.url}${path}`);
}

async function fillWellbeing(page: Page, scores: [number, number, number, number]): Promise<void> {
  const questions = ['life-satisfaction', 'worthwhile', 'happiness', 'anxiety'];
  for (const [i, q] of questions.entries()) {
    await page.fill(`#wellbeing-${q}`, String(scores[i]));
  }
}

async function save(page: Page, patient: string, kind: string): Promise<void> {
  await page.click('form[action^="/mdt/patients/"] button');
  await page.waitForURL(new RegExp(`/mdt/patients/${patient}\\?recorded=${kind}$`));
}

const read = <T extends Goal | ServiceRequest>(type: T['resourceType'], reference: string | undefined) =>
  rig.practice.client.read<T>(type, (reference ?? '').split('/')[1] ?? '');
const carePlan = (patient: string) => rig.practice.must<CarePlan>('CarePlan', patient, 'care-plan');

describe("the care team's forms in chromium", () => {
  const PATIENT = 'hfu-a';
  const conversationPath = `/mdt/patients/${PATIENT}/conversation`;

  it('records the conversation with two goals and two referrals: the CarePlan holds them', async () => {
    const page = await signedInPage(chromium, rig, 'mdt-user');
    await accept(page, PATIENT);
    await openFromCaseloads(page, conversationPath);
    await expectAccessible(page);
    await screenshot(page, 'conversation-form');

    // Saved with a goal half filled in: the error summary, and nothing written.
    await page.check('input[name="participation"][value="yes"]');
    await page.fill('#goals-1-goal-description', 'Walk to the allotment twice a week');
    await page.click('form[action^="/mdt/patients/"] button');
    await page.waitForURL(`${rig.url}${conversationPath}`);
    expect(await page.locator('.nhsuk-error-summary').isVisible()).toBe(true);
    const problems = await page
      .locator('.nhsuk-error-summary a')
      .evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    expect(problems).toEqual(
      expect.arrayContaining(['#what-matters', '#goals-1-goal-who', '#wellbeing-life-satisfaction'])
    );
    await expectAccessible(page);
    await screenshot(page, 'conversation-form-error');
    expect((await rig.practice.must<Task>('Task', PATIENT, 'what-matters-conversation')).status).not.toBe('completed');

    await page.fill('#what-matters', 'Getting back to the allotment and seeing my grandchildren');
    await page.fill('#goals-1-goal-who', 'Me, with my daughter');
    const target = addDays(AS_OF, 60);
    const [year, month, day] = target.split('-');
    await page.fill('#goals-1-goal-target-date-day', String(Number(day)));
    await page.fill('#goals-1-goal-target-date-month', String(Number(month)));
    await page.fill('#goals-1-goal-target-date-year', year as string);
    await page.fill('#goals-2-goal-description', 'Sort out my pension credit claim');
    await page.fill('#goals-2-goal-who', 'Citizens Advice');
    await page.check('input[name="support"][value="community-activity"]');
    await page.check('input[name="support"][value="financial-advice"]');
    await fillWellbeing(page, [5, 6, 4, 7]);
    await save(page, PATIENT, 'conversation');

    const plan = await carePlan(PATIENT);
    const goals = await Promise.all((plan.goal ?? []).map((g) => read<Goal>('Goal', g.reference)));
    expect(goals.map((g) => g.description.text).sort()).toEqual([
      'Sort out my pension credit claim',
      'Walk to the allotment twice a week',
    ]);
    expect(goals.find((g) => g.description.text?.startsWith('Walk'))?.target?.[0]?.dueDate).toBe(target);
    const referrals = await Promise.all(
      (plan.activity ?? [])
        .filter((a) => a.reference?.reference?.startsWith('ServiceRequest/'))
        .map((a) => read<ServiceRequest>('ServiceRequest', a.reference?.reference))
    );
    expect(referrals.map((r) => r.code?.coding?.[0]?.code).sort()).toEqual(['community-activity', 'financial-advice']);
    expectValid([plan, ...goals, ...referrals]);
    // The patient page shows the plan as it now stands.
    const goalsTable = page.locator('table', { has: page.locator('caption', { hasText: 'Goals' }) });
    expect(await goalsTable.locator('tbody tr').count()).toBe(2);
    const referralsTable = page.locator('table', {
      has: page.locator('caption', { hasText: 'Support and referrals' }),
    });
    expect(await referralsTable.locator('tbody tr').count()).toBe(2);
    await expectAccessible(page);
  });

  it('records two check-ins, one goal achieved, then a step down: CarePlan completed, Flag inactive', async () => {
    const page = await signIn('mdt-user');
    await openFromCaseloads(page, `/mdt/patients/${PATIENT}/check-ins/1`);
    await expectAccessible(page);
    const first = await page.locator('fieldset#goal-progress-1 legend').first().innerText();
    await page.fill('#how-things-are-going', 'Been to the allotment most weeks');
    await page.check('input[name="goal-progress-1-progress"][value="achieved"]');
    await page.check('input[name="goal-progress-2-progress"][value="progressing"]');
    await page.check('input[name="access-problem"][value="no"]');
    await fillWellbeing(page, [6, 7, 6, 5]);
    await page.check('input[name="next-step"][value="continue"]');
    await screenshot(page, 'check-in-form');
    await save(page, PATIENT, 'check-in');
    const goals = await Promise.all(((await carePlan(PATIENT)).goal ?? []).map((g) => read<Goal>('Goal', g.reference)));
    const achieved = goals.filter((g) => g.achievementStatus?.coding?.[0]?.code === 'achieved');
    expect(achieved.map((g) => g.description.text)).toEqual([first.trim()]);

    await openFromCaseloads(page, `/mdt/patients/${PATIENT}/check-ins/2`);
    await page.fill('#how-things-are-going', 'Doing well, the group keeps me going');
    await page.check('input[name="goal-progress-2-progress"][value="achieved"]');
    await page.check('input[name="access-problem"][value="no"]');
    await fillWellbeing(page, [8, 8, 7, 3]);
    await page.check('input[name="next-step"][value="step-down"]');
    await save(page, PATIENT, 'check-in');
    const plan = await carePlan(PATIENT);
    expect(plan.status).toBe('completed');
    expect(plan.extension?.[0]?.valueCodeableConcept?.coding?.[0]?.code).toBe('stepped-down');
    expect((await rig.practice.must<Flag>('Flag', PATIENT, 'flag')).status).toBe('inactive');
    expectValid([plan]);
    // Three ONS4 forms, shown over time.
    const wellbeing = page.locator('table', { has: page.locator('caption', { hasText: 'Personal wellbeing' }) });
    expect(await wellbeing.locator('tbody tr').count()).toBe(3);
    // And as a chart: one image named by its caption, a point per question and form.
    const chart = page.locator('figure svg[role="img"][aria-labelledby="wellbeing-chart-caption"]');
    expect(await chart.count()).toBe(1);
    expect(await chart.locator('g.mark-symbol.role-mark path').count()).toBe(12);
    await expectAccessible(page);
    await screenshot(page, 'care-plan');
  });

  it('closes the episode of a patient who declines, and the next run does not propose them again', async () => {
    const page = await signIn('mdt-user');
    await accept(page, 'hfu-b');
    await openFromCaseloads(page, '/mdt/patients/hfu-b/conversation');
    await page.check('input[name="participation"][value="declined"]');
    await save(page, 'hfu-b', 'conversation');
    const plan = await carePlan('hfu-b');
    expect(plan.status).toBe('revoked');
    expect(plan.extension?.[0]?.valueCodeableConcept?.coding?.[0]?.code).toBe('declined-by-patient');
    const flag = await rig.practice.must<Flag>('Flag', 'hfu-b', 'flag');
    expect(flag.status).toBe('inactive');
    expectValid([plan, flag]);
    const { code, json } = await rig.practice.run(addDays(AS_OF, 30));
    expect(code).toBe(0);
    expect(json.proposed).not.toContain('Patient/hfu-b');
    expect(await rig.practice.managed<Task>('Task', 'hfu-b', 'mdt-review', 2)).toBeUndefined();
  });

  it('brings a patient escalated at a check-in to the top of the worklist, and the MDT discharges them', async () => {
    const page = await signIn('mdt-user');
    await accept(page, 'hfu-d');
    await openFromCaseloads(page, '/mdt/patients/hfu-d/conversation');
    await page.check('input[name="participation"][value="yes"]');
    await page.fill('#what-matters', 'Staying at home');
    await page.fill('#goals-1-goal-description', 'Walk to the shop');
    await page.fill('#goals-1-goal-who', 'Me');
    await fillWellbeing(page, [5, 5, 5, 5]);
    await save(page, 'hfu-d', 'conversation');
    await openFromCaseloads(page, '/mdt/patients/hfu-d/check-ins/1');
    await page.fill('#how-things-are-going', 'Worse: a fall and two more admissions');
    await page.check('input[name="goal-progress-1-progress"][value="not-started"]');
    await page.check('input[name="access-problem"][value="no"]');
    await fillWellbeing(page, [3, 4, 3, 8]);
    await page.check('input[name="next-step"][value="escalate"]');
    await save(page, 'hfu-d', 'check-in');

    await page.goto(`${rig.url}/mdt/worklist`);
    const captions = await page.locator('table caption').allInnerTexts();
    expect(captions[0]?.trim()).toBe('Escalated by the care team');
    const escalated = page.locator('table', {
      has: page.locator('caption', { hasText: 'Escalated by the care team' }),
    });
    expect(await escalated.locator('tbody tr').count()).toBe(1);
    expect(await escalated.locator('tbody tr').innerText()).toContain('Escalated by the care team at check-in 1 on');
    await expectAccessible(page);
    await screenshot(page, 'worklist-escalated');

    await escalated.locator('a[href="/mdt/patients/hfu-d"]').click();
    await page.waitForURL(`${rig.url}/mdt/patients/hfu-d`);
    await page.check('input[name="decision"][value="discharge"]');
    await expectAccessible(page);
    await screenshot(page, 'escalation-decision');
    await page.click('form[action$="/decision"] button');
    await page.waitForURL(/\/mdt\/patients\/hfu-d\?decided=discharge$/);
    const plan = await carePlan('hfu-d');
    expect(plan.status).toBe('completed');
    expect(plan.extension?.[0]?.valueCodeableConcept?.coding?.[0]?.code).toBe('discharged-by-mdt');
    const flag = await rig.practice.must<Flag>('Flag', 'hfu-d', 'flag');
    expect(flag.status).toBe('inactive');
    expectValid([plan, flag, await rig.practice.must<Task>('Task', 'hfu-d', 'mdt-review', 1, 1)]);
    await page.goto(`${rig.url}/mdt/worklist`);
    expect(await page.locator('table caption', { hasText: 'Escalated by the care team' }).count()).toBe(0);
  });
});
