import type { CarePlan, Flag, Task } from '@medplum/fhirtypes';
import type { Page } from 'playwright-core';
import { AS_OF, SPECS } from '../integration/helpers/programme';
import type { WorkspaceRig } from '../helpers/workspace';
import { reusedSignIns, signedInPage, signInInChromium, startWorkspaceRig } from '../helpers/workspace';
import type { TestBrowser } from '../helpers/chromium';
import { expectAccessible, launchChromium, screenshot } from '../helpers/chromium';

let rig: WorkspaceRig;
let chromium: TestBrowser;
/**
 * A page signed in as `login`, in a context of its own (another window), on about:blank: each login signs in once,
 * through the issuer over HTTP, and its pages start with its cookies. The first test and the no-role test sign in
 * through the issuer's pages in chromium; the idle-session test, from mdt-user's cookies, at the issuer's consent.
 */
let signIn: ReturnType<typeof reusedSignIns>;

beforeAll(async () => {
  [rig, chromium] = await Promise.all([startWorkspaceRig(), launchChromium()]);
  signIn = reusedSignIns(chromium, rig);
});
afterAll(async () => {
  await Promise.all([chromium?.close(), rig?.stop()]);
});

const review = (patient: string): Promise<Task> => rig.practice.must<Task>('Task', patient, 'mdt-review');

/** The patient links of one worklist section's table, in the order shown. */
async function sectionPatients(page: Page, title: string): Promise<string[]> {
  const table = page.locator('table', { has: page.locator('caption', { hasText: title }) });
  if (!(await table.count())) {
    return [];
  }
  const hrefs = await table
    .locator('a[href^="/mdt/patients/"]')
    .evaluateAll((links) => links.map((a) => a.getAttribute('href') ?? ''));
  return hrefs.map((href) => href.replace('/mdt/patients/', ''));
}

/** Presses Tab until the element matching `selector` has focus (keyboard only, as a user would). */
async function tabTo(page: Page, selector: string): Promise<void> {
  for (let presses = 0; presses < 120; presses++) {
    if (await page.locator(selector).evaluate((el) => el === el.ownerDocument.activeElement)) {
      return;
    }
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${selector}`);
}

describe('the MDT workspace in chromium', () => {
  it('signs in and shows the run’s candidates, the first tier before the second', async () => {
    const page = await signedInPage(chromium, rig, 'mdt-user');
    // Who the run proposed, from the record: every open review Task the connector wrote.
    const reviews = (await rig.practice.tagged<Task>('Task')).filter(
      (t) => t.code?.coding?.some((c) => c.code === 'mdt-review') && t.status === 'requested'
    );
    const proposed = reviews.map((t) => t.for?.reference?.replace('Patient/', '') ?? '').sort();
    const shown = await sectionPatients(page, 'New candidates');
    expect([...shown].sort()).toEqual(proposed);
    // The programme's first tier is two or more emergency admissions; the second, one (both with 10+ repeats).
    const admissions = new Map(SPECS.map((s) => [s.id, s.admissionsDaysAgo.length]));
    const tiers = shown.map((id) => ((admissions.get(id) ?? 0) >= 2 ? 1 : 2));
    expect(tiers).toEqual([...tiers].sort());
    expect(tiers).toContain(1);
    expect(tiers).toContain(2);
    expect(await page.locator('header').innerText()).toContain('Morgan MDT');
    await expectAccessible(page);
    await screenshot(page, 'worklist');
  });

  it('opens a patient: why they are proposed, each admission, and the decision form', async () => {
    const page = await signIn('mdt-user');
    await page.goto(`${rig.url}/mdt/worklist`);
    await page.click('a[href="/mdt/patients/hfu-a"]');
    await page.waitForURL(`${rig.url}/mdt/patients/hfu-a`);
    expect(await page.locator('h2', { hasText: 'Why proposed' }).isVisible()).toBe(true);
    const admissions = SPECS.find((s) => s.id === 'hfu-a')?.admissionsDaysAgo.length;
    const rows = page.locator('table', { hasText: 'Admissions, A&E' }).locator('tbody tr', { hasText: 'Encounter/' });
    expect(await rows.count()).toBe(admissions);
    expect(await page.locator('form[action$="/decision"]').isVisible()).toBe(true);
    await expectAccessible(page);
    await screenshot(page, 'patient-review');
  });

  it('accepts by keyboard alone, allocating an owner: Flag, CarePlan and conversation Task written, on the caseload', async () => {
    const page = await signIn('mdt-user');
    await page.goto(`${rig.url}/mdt/patients/hfu-d`);
    await page.locator('body').focus();
    await tabTo(page, '#decision');
    await page.keyboard.press('Space');
    expect(await page.locator('#decision').isChecked()).toBe(true);
    // The owner radios are revealed, the proposed owner chosen; Tab moves into them.
    await page.keyboard.press('Tab');
    const owner: unknown = await page.evaluate(
      "document.activeElement?.name === 'owner' ? document.activeElement.value : undefined"
    );
    expect(owner).toMatch(/^PractitionerRole\//);
    await tabTo(page, '#note');
    await page.keyboard.type('Agreed at the MDT meeting');
    await tabTo(page, 'form[action$="/decision"] button');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/mdt\/patients\/hfu-d\?decided=accept$/);
    expect(await page.locator('.nhsuk-inset-text').innerText()).toContain('Accepted');

    const task = await review('hfu-d');
    expect(task.status).toBe('accepted');
    expect(task.owner?.reference).toBe(owner);
    expect(task.note?.at(-1)?.authorReference?.display).toBe('Morgan MDT');
    expect(task.note?.at(-1)?.text).toContain('Agreed at the MDT meeting');
    // The targeted refresh ran before the page came back: the enrolment exists already.
    expect((await rig.practice.must<Flag>('Flag', 'hfu-d', 'flag')).status).toBe('active');
    expect((await rig.practice.must<CarePlan>('CarePlan', 'hfu-d', 'care-plan')).status).toBe('active');
    const conversation = await rig.practice.must<Task>('Task', 'hfu-d', 'what-matters-conversation');
    expect(conversation.owner?.reference).toBe(owner);

    await page.goto(`${rig.url}/mdt/caseloads`);
    const caseload = page.locator('table', { has: page.locator(`a[href="/mdt/patients/hfu-d"]`) });
    expect(await caseload.count()).toBe(1);
    await expectAccessible(page);
    await screenshot(page, 'caseloads');
    await page.goto(`${rig.url}/mdt/my-patients`);
    await expectAccessible(page);
  });

  it('declines with a reason: nothing enrols, and the next run does not propose the patient again', async () => {
    const page = await signIn('mdt-user');
    await page.goto(`${rig.url}/mdt/patients/hfu-c`);
    await page.check('#decision-2');
    const reason = await page.locator('#reason option:not([value=""])').first().getAttribute('value');
    await page.selectOption('#reason', reason as string);
    await page.fill('#note', 'Already supported by the community team');
    await page.click('form[action$="/decision"] button');
    await page.waitForURL(/decided=decline$/);
    const task = await review('hfu-c');
    expect(task.status).toBe('rejected');
    expect(task.statusReason?.coding?.[0]?.code).toBe(reason);
    expect(await rig.practice.managed<Flag>('Flag', 'hfu-c', 'flag')).toBeUndefined();
    expect(await rig.practice.managed<CarePlan>('CarePlan', 'hfu-c', 'care-plan')).toBeUndefined();
    const { json } = await rig.practice.run(AS_OF);
    expect(json.proposed).not.toContain('Patient/hfu-c');
    expect(await rig.practice.managed<Task>('Task', 'hfu-c', 'mdt-review', 2)).toBeUndefined();
  });

  it('defers: the review stays open and the patient is on the worklist as deferred', async () => {
    const page = await signIn('mdt-user');
    await page.goto(`${rig.url}/mdt/patients/hfu-f`);
    await page.check('#decision-3');
    await page.fill('#note', 'Waiting for the discharge letter');
    await page.click('form[action$="/decision"] button');
    await page.waitForURL(/decided=defer$/);
    expect((await review('hfu-f')).status).toBe('requested');
    await page.goto(`${rig.url}/mdt/worklist`);
    expect(await sectionPatients(page, 'Deferred from an earlier meeting')).toContain('hfu-f');
    expect(await sectionPatients(page, 'New candidates')).not.toContain('hfu-f');
  });

  it('two people deciding the same review: the second is told who changed it, and nothing is overwritten', async () => {
    const [first, second] = await Promise.all([signIn('mdt-user'), signIn('mdt-user-2')]);
    await Promise.all([first, second].map((p) => p.goto(`${rig.url}/mdt/patients/hfu-g`)));
    await first.check('#decision');
    await first.click('form[action$="/decision"] button');
    await first.waitForURL(/decided=accept$/);
    const accepted = await review('hfu-g');

    await second.check('#decision-3');
    await second.click('form[action$="/decision"] button');
    await second.waitForLoadState();
    expect(await second.locator('#conflict').innerText()).toContain('This review was changed by Morgan MDT at');
    const after = await review('hfu-g');
    expect(after.meta?.versionId).toBe(accepted.meta?.versionId);
    expect(after.status).toBe('accepted');
    await expectAccessible(second);
    await screenshot(second, 'conflict');
  });

  it('works without JavaScript: an accept from a page whose scripts never ran', async () => {
    const page = await signIn('mdt-user', { javaScriptEnabled: false });
    await page.goto(`${rig.url}/mdt/patients/hfu-h`);
    expect(await page.evaluate('document.body.classList.contains("js-enabled")')).toBe(false);
    await page.check('#decision');
    const owner = await page.locator('input[name="owner"]:checked').getAttribute('value');
    await page.click('form[action$="/decision"] button');
    await page.waitForURL(/decided=accept$/);
    const task = await review('hfu-h');
    expect([task.status, task.owner?.reference]).toEqual(['accepted', owner]);
  });

  it('offers someone whose caseload is full, but not for choosing', async () => {
    // The coach has room for one patient, who is now hfu-h (the test above).
    const page = await signIn('mdt-user');
    await page.goto(`${rig.url}/mdt/patients/hfu-e`);
    const coach = page.locator('input[name="owner"][value="PractitionerRole/coach-1"]');
    expect(await coach.isDisabled()).toBe(true);
    expect(
      await page.locator('#owner-1-item-hint, .nhsuk-radios__item', { hasText: '(full)' }).count()
    ).toBeGreaterThan(0);
    expect(await page.locator('main').innerText()).toContain('1 of 1 on their caseload (full)');
    await expectAccessible(page);
  });

  it('shows a viewer the review without the decision form', async () => {
    const page = await signIn('viewer-user');
    await page.goto(`${rig.url}/mdt/patients/hfu-b`);
    expect(await page.locator('form[action$="/decision"]').count()).toBe(0);
    expect(await page.locator('main').innerText()).toContain('Deciding needs the MDT member or clinical lead role');
    await expectAccessible(page);
  });

  it('shows the form’s mistakes in an error summary, accessibly', async () => {
    const page = await signIn('mdt-user');
    await page.goto(`${rig.url}/mdt/patients/hfu-b`);
    await page.check('#decision-2');
    await page.click('form[action$="/decision"] button');
    expect(await page.locator('.nhsuk-error-summary').innerText()).toContain('Choose a reason for declining');
    expect((await review('hfu-b')).status).toBe('requested');
    await expectAccessible(page);
    await screenshot(page, 'decision-error');
  });

  it('refuses a POST without the CSRF token (403) and writes nothing', async () => {
    const page = await signIn('mdt-user');
    const before = await review('hfu-b');
    const res = await page.request.post(`${rig.url}/mdt/patients/hfu-b/decision`, {
      form: { decision: 'defer', version: before.meta?.versionId ?? '' },
      maxRedirects: 0,
    });
    expect(res.status()).toBe(403);
    expect((await review('hfu-b')).meta?.versionId).toBe(before.meta?.versionId);
  });

  it('lets a lead see the programme and start a refresh', async () => {
    const page = await signIn('lead-user');
    await page.goto(`${rig.url}/mdt/programme`);
    await expectAccessible(page);
    await screenshot(page, 'programme');
    await page.click('button:has-text("Run a refresh now")');
    expect(await page.locator('.nhsuk-inset-text').innerText()).toMatch(/A refresh (has started|is already running)/);
    await rig.service.runs.settled();
  });

  it('sends a browser idle past the limit back to sign in', async () => {
    // The sign-in's own state lives in the (signed-out) session, so the sign-in must fit in the limit too. From a
    // browser already signed in at the issuer (mdt-user's cookies), the sign-in here asks only the issuer's consent for
    // this service; should that take longer than the limit on a loaded machine, the grant stands all the same, and a
    // second sign-in is redirects alone (the issuer asks nothing), well within 3 s.
    const idle = await rig.another({ sessionIdleMinutes: 0.05 });
    const page = await signIn('mdt-user');
    await page.goto(`${idle.url}/mdt/worklist`);
    expect(page.url()).toMatch(new RegExp(`^${rig.provider.issuer}/`));
    await page.click('button[type="submit"]'); // the issuer's consent prompt for this service
    await page.waitForURL((u) => u.href.startsWith(idle.url)); // the worklist, or a sign-in that took too long
    if (page.url() !== `${idle.url}/mdt/worklist`) {
      await page.goto(`${idle.url}/mdt/worklist`);
    }
    await page.waitForURL(`${idle.url}/mdt/worklist`);
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    const visited: string[] = [];
    page.on('request', (req) => visited.push(req.url()));
    await page.reload();
    expect(visited.some((u) => u.startsWith(`${idle.url}/mdt/auth/sign-in`))).toBe(true);
    expect(visited.some((u) => u.startsWith(`${rig.provider.issuer}/auth`))).toBe(true);
  });

  it('refuses a user with no role with a page that says so, accessibly', async () => {
    const page = await (await chromium.context()).newPage();
    await signInInChromium(page, rig, 'nobody-user', rig.url, '/mdt/auth/no-access');
    expect(await page.locator('h1').innerText()).toContain('You do not have access');
    await expectAccessible(page);
  });

  it('development sign-in: a newcomer chooses a workforce member and takes a decision that enrols a patient', async () => {
    const dev = await rig.another({ oidc: undefined, publicUrl: undefined });
    const page = await (await chromium.context()).newPage();
    await page.goto(`${dev.url}/`);
    await page.waitForURL(/\/mdt\/auth\/sign-in/);
    expect(await page.locator('.hfu-dev-banner').innerText()).toContain('Development sign-in');
    await expectAccessible(page);
    await screenshot(page, 'development-sign-in');
    await page.check('input[value="PractitionerRole/gp-1"]');
    await page.click('button:has-text("Sign in")');
    await page.waitForURL(`${dev.url}/mdt/worklist`);
    expect(await page.locator('.hfu-dev-banner').isVisible()).toBe(true);
    await page.goto(`${dev.url}/mdt/patients/hfu-b`);
    await page.check('#decision');
    await page.click('form[action$="/decision"] button');
    await page.waitForURL(/decided=accept$/);
    expect((await rig.practice.must<CarePlan>('CarePlan', 'hfu-b', 'care-plan')).status).toBe('active');
    expect((await review('hfu-b')).note?.at(-1)?.authorReference?.reference).toBe('PractitionerRole/gp-1');
  });
});
