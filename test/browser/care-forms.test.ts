import type { AuditEvent, CarePlan, Encounter, Flag, Goal, Provenance, ServiceRequest, Task } from '@medplum/fhirtypes';
import type { Page } from 'playwright-core';
import { addDays } from '../../src/dates';
import { BUSINESS_STATUS } from '../../src/vocabulary';
import { AS_OF } from '../integration/helpers/programme';
import type { WorkspaceRig } from '../helpers/workspace';
import { reusedSignIns, signedInPage, startWorkspaceRig } from '../helpers/workspace';
import type { TestBrowser } from '../helpers/chromium';
import { axeViolations, expectAccessible, launchChromium, screenshot } from '../helpers/chromium';
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

/**
 * A step-down review in chromium: two patients enrolled (their reviews accepted in the record), then their one
 * admission entered in error, so that a refresh finds they no longer meet the criteria and writes a step-down review
 * each (as test/integration/workspace-step-down.test.ts does over HTTP). Patients no other test here touches.
 */
describe('a step-down review in chromium', () => {
  const KEEP = 'hfu-g'; // kept in the programme, with JavaScript
  const STEP = 'hfu-f'; // stepped down, from a page whose scripts never ran
  const OWNERS: Record<string, string> = { [KEEP]: 'PractitionerRole/gp-1', [STEP]: 'PractitionerRole/pharm-1' };
  const stepDownOf = (patient: string) => rig.practice.must<Task>('Task', patient, 'step-down-review');

  /** A targeted refresh of `patients` through the service's own runs (which tells the workspace to read afresh). */
  async function refresh(patients: string[]): Promise<void> {
    const { id } = rig.service.runs.start({ trigger: 'api', patients });
    await rig.service.runs.settled();
    expect(rig.service.runs.get(id)).toMatchObject({ status: 'succeeded', errors: [] });
  }

  beforeAll(async () => {
    const patients = Object.keys(OWNERS);
    for (const [patient, owner] of Object.entries(OWNERS)) {
      const review = await rig.practice.must<Task>('Task', patient, 'mdt-review');
      await rig.practice.record(review, { status: 'accepted', owner: { reference: owner } });
    }
    await refresh(patients);
    for (const patient of patients) {
      expect((await rig.practice.must<Flag>('Flag', patient, 'flag')).status).toBe('active');
      await rig.practice.changeClinical<Encounter>('Encounter', `${patient}-adm1`, { status: 'entered-in-error' });
    }
    await refresh(patients);
  });

  /** Loads of `patient`'s page in `page` (each an AuditEvent of a view), counted from what chromium fetched. */
  function countViews(page: Page, patient: string): () => number {
    let views = 0;
    const url = new RegExp(`/mdt/patients/${patient}(\\?.*)?$`);
    page.on('response', (res) => {
      if (res.request().resourceType() === 'document' && res.request().method() === 'GET' && url.test(res.url())) {
        views += res.status() === 200 ? 1 : 0;
      }
    });
    return () => views;
  }

  const viewsOf = async (patient: string) =>
    (await rig.practice.client.searchAll<AuditEvent>('AuditEvent', {})).filter(
      (a) => a.action === 'R' && a.entity?.some((e) => e.what?.reference === `Patient/${patient}`)
    ).length;

  /** The review's decision in the record: one Provenance by the signed-in user, one AuditEvent of the decision. */
  async function expectDecisionRecorded(review: Task, decision: string): Promise<Provenance> {
    const versionOf = new RegExp(`^Task/${review.id}/_history/`);
    const provenance = (await rig.practice.tagged<Provenance>('Provenance')).filter((p) =>
      p.target.some((t) => versionOf.test(t.reference ?? ''))
    );
    expect(provenance.map((p) => p.agent[0]?.who?.display)).toEqual(['Morgan MDT']);
    const target = provenance[0]?.target.find((t) => versionOf.test(t.reference ?? ''))?.reference;
    const audits = (await rig.practice.client.searchAll<AuditEvent>('AuditEvent', {})).filter((a) =>
      a.entity?.some((e) => e.what?.reference === target)
    );
    expect(audits.map((a) => [a.action, a.entity?.find((e) => e.what?.reference === target)?.description])).toEqual([
      ['U', decision],
    ]);
    expectValid([...provenance, ...audits]);
    return provenance[0] as Provenance;
  }

  it('lists the reviews due, says why in plain English, passes axe-core, and keeps a patient on the plan', async () => {
    const page = await signIn('mdt-user');
    const views = countViews(page, KEEP);
    const viewedBefore = await viewsOf(KEEP);
    // Who is due a step-down review, from the record: every open step-down review Task.
    const due = (await rig.practice.tagged<Task>('Task'))
      .filter((t) => t.code?.coding?.some((c) => c.code === 'step-down-review') && t.status === 'requested')
      .map((t) => t.for?.reference?.replace('Patient/', '') ?? '')
      .sort();
    expect(due).toEqual(expect.arrayContaining([KEEP, STEP]));
    await page.goto(`${rig.url}/mdt/worklist`);
    const section = page.locator('table', { has: page.locator('caption', { hasText: 'Step-down reviews due' }) });
    const shown = await section
      .locator('a[href^="/mdt/patients/"]')
      .evaluateAll((links) => links.map((a) => (a.getAttribute('href') ?? '').replace('/mdt/patients/', '')));
    expect([...shown].sort()).toEqual(due);
    expect(
      await section.locator('tbody tr', { has: page.locator(`a[href="/mdt/patients/${KEEP}"]`) }).innerText()
    ).toContain('No longer meets the criteria');
    await expectAccessible(page);
    await screenshot(page, 'worklist-step-down');

    await section.locator(`a[href="/mdt/patients/${KEEP}"]`).click();
    await page.waitForURL(`${rig.url}/mdt/patients/${KEEP}`);
    const review = await stepDownOf(KEEP);
    const found = new Intl.DateTimeFormat('en-GB', {
      day: 'numeric',
      month: 'long',
      year: 'numeric',
      timeZone: 'Europe/London',
    }).format(new Date(review.authoredOn ?? ''));
    const form = page.locator('form[action$="/decision"]');
    const words = await form.innerText();
    expect(words).toContain(`The patient no longer meets the programme criteria (found on ${found}).`);
    expect(words).toMatch(/The patient is with .+\./);
    expect(await form.locator('legend').innerText()).toContain('What does the MDT decide?');
    const choices = await form
      .locator('input[name="decision"]')
      .evaluateAll((inputs) =>
        inputs.map((i) => [
          i.getAttribute('value'),
          (i as unknown as { labels: { textContent: string | null }[] }).labels[0]?.textContent?.trim(),
        ])
      );
    expect(choices).toEqual([
      ['step-down', 'Step the patient down to community support now'],
      ['continue', 'Keep the patient in the programme'],
      ['defer', 'Defer to the next meeting'],
    ]);
    expect(words).toContain('They will not be brought back for a step-down review in this episode.');
    // axe-core at a desktop and at a phone width (as the insights page is checked), with no sideways scrolling.
    await expectAccessible(page);
    await screenshot(page, 'step-down-review');
    await page.setViewportSize({ width: 375, height: 800 });
    await page.reload();
    expect(await axeViolations(page)).toEqual([]);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await page.setViewportSize({ width: 1280, height: 900 });

    await page.check('input[name="decision"][value="continue"]');
    await page.fill('#note', 'The fall looks temporary');
    await page.click('form[action$="/decision"] button');
    await page.waitForURL(new RegExp(`/mdt/patients/${KEEP}\\?decided=continue$`));
    expect(await page.locator('.nhsuk-inset-text').innerText()).toContain('Recorded. The plan carries on');

    const kept = await stepDownOf(KEEP);
    expect(kept.status).toBe('completed');
    expect(kept.businessStatus?.coding?.[0]).toMatchObject(BUSINESS_STATUS['continue-plan']);
    expect(kept.note?.at(-1)?.text).toContain('The fall looks temporary');
    const plan = await carePlan(KEEP);
    const flag = await rig.practice.must<Flag>('Flag', KEEP, 'flag');
    expect([plan.status, flag.status]).toEqual(['active', 'active']);
    await expectDecisionRecorded(kept, 'continue');
    expect(views()).toBe(3); // the page, its reload at a phone width, the page after the decision
    expect((await viewsOf(KEEP)) - viewedBefore).toBe(views());
    expectValid([kept, plan, flag]);
    await page.goto(`${rig.url}/mdt/worklist`);
    expect(await section.locator(`a[href="/mdt/patients/${KEEP}"]`).count()).toBe(0);
  });

  it('steps a patient down without JavaScript: the plan completed, the flag inactive, the review closed', async () => {
    const page = await signIn('mdt-user', { javaScriptEnabled: false });
    const views = countViews(page, STEP);
    const viewedBefore = await viewsOf(STEP);
    await page.goto(`${rig.url}/mdt/patients/${STEP}`);
    expect(await page.evaluate('document.body.classList.contains("js-enabled")')).toBe(false);
    expect(await page.locator('form[action$="/decision"] input[name="target"]').getAttribute('value')).toBe(
      'step-down'
    );
    await page.check('input[name="decision"][value="step-down"]');
    await page.click('form[action$="/decision"] button');
    await page.waitForURL(new RegExp(`/mdt/patients/${STEP}\\?decided=step-down$`));
    expect(await page.locator('.nhsuk-inset-text').innerText()).toContain('Stepped down to community support.');

    const review = await stepDownOf(STEP);
    expect(review.status).toBe('completed');
    expect(review.businessStatus?.coding?.[0]).toMatchObject(BUSINESS_STATUS['step-down']);
    const plan = await carePlan(STEP);
    expect(plan.status).toBe('completed');
    expect(plan.extension?.[0]?.valueCodeableConcept?.coding?.[0]?.code).toBe('stepped-down');
    const flag = await rig.practice.must<Flag>('Flag', STEP, 'flag');
    expect(flag.status).toBe('inactive');
    // Both end on the day the review was decided (the decision's Provenance records when).
    const decided = await expectDecisionRecorded(review, 'step-down');
    const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(new Date(decided.recorded));
    expect([plan.period?.end, flag.period?.end]).toEqual([day, day]);
    const [ended] = (await rig.practice.provenanceFor(plan)).filter((p) => p.reason?.length);
    expect(ended?.reason).toEqual([{ text: 'stepped-down' }]);
    expect(ended?.entity?.map((e) => e.what.reference)).toContain(`Task/${review.id}`);
    expect(views()).toBe(2); // the page, and the page after the decision
    expect((await viewsOf(STEP)) - viewedBefore).toBe(views());
    expectValid([review, plan, flag, ended as Provenance]);
    expect(await page.locator('form[action$="/decision"]').count()).toBe(0);
  });
});
