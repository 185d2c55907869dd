import type { CarePlan, Encounter, Task } from '@medplum/fhirtypes';
import { validateAgainstProfile } from '../../../src/profiles';
import { Browser, formFields, signInThroughIssuer } from '../../helpers/oidc';
import type { WorkspaceRig } from '../../helpers/workspace';
import { startWorkspaceRig } from '../../helpers/workspace';
import { AS_OF } from '../helpers/programme';

/**
 * A patient due a step-down review in the workspace over HTTP: under "Step-down reviews due" on the worklist, the
 * patient page's decision form in plain English (step down, keep, defer), a form sent without a choice shown again
 * with its error (nothing written), then a step-down recorded and followed by the targeted refresh.
 */
let rig: WorkspaceRig;
const run = async () => {
  const { code } = await rig.practice.run(AS_OF);
  expect(code).toBe(0);
};
beforeAll(async () => {
  rig = await startWorkspaceRig();
  if (!(await rig.practice.managed<Task>('Task', 'hfu-b', 'mdt-review'))) {
    await run();
  }
  const review = await rig.practice.must<Task>('Task', 'hfu-b', 'mdt-review');
  await rig.practice.record(review, { status: 'accepted', owner: { reference: 'PractitionerRole/gp-1' } });
  await run();
  // The one admission that qualified them is corrected away: they no longer meet the criteria.
  await rig.practice.changeClinical<Encounter>('Encounter', 'hfu-b-adm1', { status: 'entered-in-error' });
  await run();
});
afterAll(() => rig?.stop());

const PAGE = '/mdt/patients/hfu-b';
const stepDown = () => rig.practice.must<Task>('Task', 'hfu-b', 'step-down-review');

async function signedIn(login: string): Promise<Browser> {
  const browser = new Browser();
  const landed = await signInThroughIssuer(browser, rig.url, login);
  expect({ login, status: landed.res.status }).toEqual({ login, status: 200 });
  return browser;
}

describe('a patient due a step-down review in the workspace', () => {
  it('1. is on the worklist under "Step-down reviews due"', async () => {
    const member = await signedIn('mdt-user');
    const { body } = await member.follow(`${rig.url}/mdt/worklist`);
    const start = body.indexOf('Step-down reviews due</caption>');
    expect(start).toBeGreaterThan(-1);
    const section = body.slice(start, body.indexOf('</table>', start));
    expect(section).toContain(`href="${PAGE}"`);
    expect(section).toContain('No longer meets the criteria');
  });

  it('2. asks what the MDT decides in plain English: step down, keep in the programme, or defer', async () => {
    const member = await signedIn('mdt-user');
    const { body } = await member.follow(`${rig.url}${PAGE}`);
    expect(body).toContain('The patient no longer meets the programme criteria');
    expect(body).toContain('Step the patient down to community support now');
    expect(body).toContain('Keep the patient in the programme');
    const values = [...body.matchAll(/name="decision"[^>]*value="([^"]+)"/g)].map((m) => m[1]);
    expect(values).toEqual(['step-down', 'continue', 'defer']);
    expect(body).not.toMatch(/name="owner"/);
    const viewer = await signedIn('viewer-user');
    expect((await viewer.follow(`${rig.url}${PAGE}`)).body).not.toContain('name="decision"');
  });

  it('3. shows a form sent without a choice again, with its error, writing nothing', async () => {
    const member = await signedIn('mdt-user');
    const before = await stepDown();
    const fields = formFields((await member.follow(`${rig.url}${PAGE}`)).body, /\/decision$/).fields;
    const refused = await member.post(`${rig.url}${PAGE}/decision`, fields);
    expect(refused.res.status).toBe(400);
    expect(refused.body).toContain('nhsuk-error-summary');
    expect(refused.body).toContain(
      'Choose what the MDT decides: step the patient down, keep them in the programme or defer'
    );
    expect((await stepDown()).meta?.versionId).toBe(before.meta?.versionId);
  });

  it('4. records a step-down: the care plan is completed as stepped down, and the patient leaves the agenda', async () => {
    const member = await signedIn('mdt-user');
    const fields = formFields((await member.follow(`${rig.url}${PAGE}`)).body, /\/decision$/).fields;
    const done = await member.post(`${rig.url}${PAGE}/decision`, {
      ...fields,
      decision: 'step-down',
      note: 'Managing well with the community team',
    });
    expect(done.res.status).toBe(200);
    expect(done.url).toBe(`${rig.url}${PAGE}?decided=step-down`);
    expect(done.body).toContain('Stepped down to community support. The care plan is completed');
    expect(done.body).toContain('There is nothing for the MDT to decide about this patient now.');
    expect(done.body).toContain('Stepped down to community support by Morgan MDT');
    const task = await stepDown();
    expect(task).toMatchObject({ status: 'completed', businessStatus: { coding: [{ code: 'step-down' }] } });
    const plan = await rig.practice.must<CarePlan>('CarePlan', 'hfu-b', 'care-plan');
    expect(plan).toMatchObject({ status: 'completed', period: { end: AS_OF } });
    expect(plan.extension?.[0]?.valueCodeableConcept?.coding?.[0]?.code).toBe('stepped-down');
    for (const resource of [task, plan]) {
      expect(validateAgainstProfile(resource)).toEqual([]);
    }
    const worklist = await member.follow(`${rig.url}/mdt/worklist`);
    expect(worklist.body).not.toContain(`href="${PAGE}"`);
  });
});
