import type { CarePlan, Task } from '@medplum/fhirtypes';
import { validateAgainstProfile } from '../../../src/profiles';
import { Browser, formFields, signInThroughIssuer } from '../../helpers/oidc';
import type { WorkspaceRig } from '../../helpers/workspace';
import { startWorkspaceRig } from '../../helpers/workspace';
import { escalatedAtFirstCheckIn } from '../helpers/care-forms';
import { AS_OF } from '../helpers/programme';

/**
 * An escalated patient in the workspace over HTTP: first on the worklist, the patient page's decision form in the
 * escalation's own words, a move without anyone chosen shown again with its error (nothing written), then a move
 * recorded and followed by the targeted refresh.
 */
let rig: WorkspaceRig;
beforeAll(async () => {
  rig = await startWorkspaceRig();
  await escalatedAtFirstCheckIn(rig.practice, { 'hfu-a': 'PractitionerRole/coach-1' }, async () => {
    const { code } = await rig.practice.run(AS_OF);
    expect(code).toBe(0);
  });
});
afterAll(() => rig?.stop());

const PAGE = '/mdt/patients/hfu-a';
const escalation = () => rig.practice.must<Task>('Task', 'hfu-a', 'mdt-review', 1, 1);

async function signedIn(login: string): Promise<Browser> {
  const browser = new Browser();
  const landed = await signInThroughIssuer(browser, rig.url, login);
  expect({ login, status: landed.res.status }).toEqual({ login, status: 200 });
  return browser;
}

describe('an escalated patient in the workspace', () => {
  it('1. is first on the worklist, under "Escalated by the care team", with the check-in that asked', async () => {
    const member = await signedIn('mdt-user');
    const { body } = await member.follow(`${rig.url}/mdt/worklist`);
    const captions = [...body.matchAll(/<caption[^>]*>([^<]+)<\/caption>/g)].map((m) => m[1]);
    expect(captions[0]).toBe('Escalated by the care team');
    const first = body.slice(body.indexOf('Escalated by the care team</caption>'), body.indexOf('</table>'));
    expect(first).toContain(`href="${PAGE}"`);
    expect(first).toContain('Escalated by the care team at check-in 1 on');
    expect(first).toContain('>Owner</th>');
  });

  it('2. asks what the MDT decides in the escalation’s words, and offers anyone but the current owner', async () => {
    const member = await signedIn('mdt-user');
    const { body } = await member.follow(`${rig.url}${PAGE}`);
    expect(body).toMatch(/asked the MDT to review this patient(&#39;|')s plan at check-in 1 on/);
    expect(body).toContain('>The criteria today</h2>'); // enrolled: no longer "why proposed"
    for (const value of ['continue', 'move', 'discharge', 'defer']) {
      expect(body).toMatch(new RegExp(`name="decision"[^>]*value="${value}"`));
    }
    expect(body).not.toMatch(/name="decision"[^>]*value="accept"/);
    const owners = [...body.matchAll(/name="owner"[^>]*value="([^"]+)"/g)].map((m) => m[1]);
    expect(owners).toEqual(['PractitionerRole/gp-1', 'PractitionerRole/pharm-1']);
    const viewer = await signedIn('viewer-user');
    expect((await viewer.follow(`${rig.url}${PAGE}`)).body).not.toContain('name="decision"');
  });

  it('3. shows a move with nobody chosen again, with its error, writing nothing', async () => {
    const member = await signedIn('mdt-user');
    const before = await escalation();
    const fields = formFields((await member.follow(`${rig.url}${PAGE}`)).body, /\/decision$/).fields;
    const refused = await member.post(`${rig.url}${PAGE}/decision`, { ...fields, decision: 'move' });
    expect(refused.res.status).toBe(400);
    expect(refused.body).toContain('nhsuk-error-summary');
    expect(refused.body).toContain('Choose who to move the patient to');
    const nothing = await member.post(`${rig.url}${PAGE}/decision`, fields);
    expect(nothing.body).toContain('Choose what the MDT decides');
    expect((await escalation()).meta?.versionId).toBe(before.meta?.versionId);
  });

  it('4. records a move, and the patient’s care plan and open check-in are the new professional’s', async () => {
    const member = await signedIn('mdt-user');
    const fields = formFields((await member.follow(`${rig.url}${PAGE}`)).body, /\/decision$/).fields;
    const moved = await member.post(`${rig.url}${PAGE}/decision`, {
      ...fields,
      decision: 'move',
      owner: 'PractitionerRole/pharm-1',
      note: 'Medicines are the problem now',
    });
    expect(moved.res.status).toBe(200);
    expect(moved.url).toBe(`${rig.url}${PAGE}?decided=move`);
    expect(moved.body).toContain('Moved. The care plan and the open conversation and check-ins are with the new');
    expect(moved.body).toContain('There is nothing for the MDT to decide about this patient now.');
    expect(moved.body).toContain('Moved to another professional by Morgan MDT');
    const task = await escalation();
    expect(task).toMatchObject({ status: 'completed', owner: { reference: 'PractitionerRole/pharm-1' } });
    const plan = await rig.practice.must<CarePlan>('CarePlan', 'hfu-a', 'care-plan');
    const checkIn = await rig.practice.must<Task>('Task', 'hfu-a', 'check-in', 1, 2);
    expect([plan.author?.reference, checkIn.owner?.reference]).toEqual([
      'PractitionerRole/pharm-1',
      'PractitionerRole/pharm-1',
    ]);
    for (const resource of [task, plan, checkIn]) {
      expect(validateAgainstProfile(resource)).toEqual([]);
    }
    const worklist = await member.follow(`${rig.url}/mdt/worklist`);
    expect(worklist.body).not.toContain('Escalated by the care team</caption>');
  });
});
