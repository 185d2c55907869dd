import type { Patient } from '@medplum/fhirtypes';
import { addDays } from '../../../src/dates';
import { Browser, signInThroughIssuer } from '../../helpers/oidc';
import type { WorkspaceRig } from '../../helpers/workspace';
import { startWorkspaceRig } from '../../helpers/workspace';
import { emergencyAdmission } from '../helpers/practice';
import { AS_OF, SPECS } from '../helpers/programme';

let rig: WorkspaceRig;
beforeAll(async () => {
  rig = await startWorkspaceRig();
});
afterAll(() => rig?.stop());

async function signedIn(login: string): Promise<Browser> {
  const browser = new Browser();
  const landed = await signInThroughIssuer(browser, rig.url, login);
  expect({ login, status: landed.res.status }).toEqual({ login, status: 200 });
  return browser;
}

/** The emergency admissions the page's concentration table counts (its "Contacts" cell), read from the HTML. */
function admissionsShown(html: string): number {
  const row = /Emergency admissions<\/th><td class="nhsuk-table__cell"><span[^>]*>Contacts <\/span>(\d+)<\/td>/.exec(
    html
  );
  if (!row) {
    throw new Error('no emergency admissions row on the page');
  }
  return Number(row[1]);
}

/** Admissions within the report's 12 months, counted from the practice's patients as the test seeded them. */
const seededAdmissions = (): number =>
  SPECS.reduce((n, s) => n + s.admissionsDaysAgo.filter((days) => days > 0 && days < 365).length, 0);

describe('the insights page', () => {
  it('shows a lead the report: its charts as SVG, each followed by its table, not stored, with a link in the menu', async () => {
    const lead = await signedIn('lead-user');
    const page = await lead.follow(`${rig.url}/mdt/insights`);
    expect(page.res.status).toBe(200);
    expect(page.res.headers.get('cache-control')).toBe('no-store');
    expect(page.body).toContain('<h1 class="nhsuk-heading-l">Insights</h1>');
    expect(page.body).toContain(`${SPECS.length} patients (`);
    expect(admissionsShown(page.body)).toBe(seededAdmissions());
    const figures = [...page.body.matchAll(/<figure class="hfu-chart">.*?<\/figure>(<table)?/gs)];
    expect(figures).toHaveLength(4);
    for (const [figure, table] of figures) {
      expect(figure).toMatch(/<svg role="img" aria-labelledby="chart-[a-z]+-caption"/);
      expect(table).toBe('<table');
    }
    // The CSP allows no inline style: the charts carry none.
    expect(page.body).not.toMatch(/ style="/);
    expect(page.body).toContain('href="/mdt/insights"');
  });

  it('shows no patient: no name, no NHS number, no patient id', async () => {
    const lead = await signedIn('lead-user');
    const { body } = await lead.follow(`${rig.url}/mdt/insights`);
    const patients = (await rig.practice.server.repo.searchResources<Patient>({ resourceType: 'Patient' })) ?? [];
    expect(patients).toHaveLength(SPECS.length);
    for (const patient of patients) {
      const names = (patient.name ?? []).flatMap((n) => [n.family, ...(n.given ?? [])]).filter(Boolean);
      const numbers = (patient.identifier ?? []).map((i) => i.value).filter(Boolean);
      for (const text of [...names, ...numbers, `/mdt/patients/${patient.id}`]) {
        expect({ patient: patient.id, shown: body.includes(text as string) }).toEqual({
          patient: patient.id,
          shown: false,
        });
      }
    }
  });

  it('refuses an MDT member and a viewer with the role refusal page (403), and offers them no link', async () => {
    for (const login of ['mdt-user', 'viewer-user']) {
      const browser = await signedIn(login);
      const page = await browser.follow(`${rig.url}/mdt/insights`);
      expect({ login, status: page.res.status }).toEqual({ login, status: 403 });
      expect(page.body).toContain('You cannot do this');
      expect(page.body).not.toContain('hfu-chart');
      const worklist = await browser.follow(`${rig.url}/mdt/worklist`);
      expect(worklist.body).not.toContain('href="/mdt/insights"');
    }
  });

  it('sends a signed-out browser to sign in, with this page to come back to', async () => {
    const browser = new Browser();
    const res = await browser.request(`${rig.url}/mdt/insights`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/mdt/auth/sign-in?returnTo=%2Fmdt%2Finsights');
  });

  it('keeps the report until the next run finishes, then works it out again', async () => {
    const lead = await signedIn('lead-user');
    const before = admissionsShown((await lead.follow(`${rig.url}/mdt/insights`)).body);
    await rig.practice.addClinical(emergencyAdmission('other-3-adm-new', 'other-3', addDays(AS_OF, -7)));
    expect(admissionsShown((await lead.follow(`${rig.url}/mdt/insights`)).body)).toBe(before);
    await rig.service.runs.settled();
    rig.service.runs.start({ trigger: 'workspace' });
    await rig.service.runs.settled();
    expect(admissionsShown((await lead.follow(`${rig.url}/mdt/insights`)).body)).toBe(before + 1);
  });
});
