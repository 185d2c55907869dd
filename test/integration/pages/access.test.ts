import type { Task } from '@medplum/fhirtypes';
import { SESSION_COOKIE } from '../../../src/pages/sessions';
import { Browser, formFields, signInThroughIssuer } from '../../helpers/oidc';
import type { WorkspaceRig } from '../../helpers/workspace';
import { startWorkspaceRig } from '../../helpers/workspace';
import { SPECS } from '../helpers/programme';

let rig: WorkspaceRig;
beforeAll(async () => {
  rig = await startWorkspaceRig();
});
afterAll(() => rig?.stop());

const PATIENT = 'hfu-a';
const review = (): Promise<Task> => rig.practice.must<Task>('Task', PATIENT, 'mdt-review');

/** A browser signed in as one of the provider's test users. */
async function signedIn(login: string): Promise<Browser> {
  const browser = new Browser();
  const landed = await signInThroughIssuer(browser, rig.url, login);
  expect({ login, status: landed.res.status }).toEqual({ login, status: 200 });
  return browser;
}

/** The decision form's hidden fields (CSRF token, version) from the patient page. */
async function decisionFields(browser: Browser): Promise<Record<string, string>> {
  const page = await browser.follow(`${rig.url}/mdt/patients/${PATIENT}`);
  return formFields(page.body, /\/decision$/).fields;
}

describe('signing in', () => {
  it('sends / to the worklist and a signed-out browser to the issuer with PKCE, state and nonce', async () => {
    const browser = new Browser();
    const root = await browser.request(`${rig.url}/`);
    expect([root.status, root.headers.get('location')]).toEqual([302, '/mdt/worklist']);
    const worklist = await browser.request(`${rig.url}/mdt/worklist`);
    expect(worklist.status).toBe(303);
    expect(worklist.headers.get('location')).toBe('/mdt/auth/sign-in?returnTo=%2Fmdt%2Fworklist');
    const toIssuer = await browser.request(`${rig.url}/mdt/auth/sign-in`);
    const location = new URL(toIssuer.headers.get('location') as string);
    expect(location.origin).toBe(rig.provider.issuer);
    const q = location.searchParams;
    expect(q.get('redirect_uri')).toBe(`${rig.url}/mdt/auth/callback`);
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('state')).toBeTruthy();
    expect(q.get('nonce')).toBeTruthy();
    expect(q.get('response_type')).toBe('code');
  });

  it('signs an MDT member in with a fresh session id in an HttpOnly, SameSite=Lax cookie, back where they were going', async () => {
    const browser = new Browser();
    await browser.request(`${rig.url}/mdt/auth/sign-in`);
    const before = browser.cookie(rig.url, SESSION_COOKIE);
    const landed = await signInThroughIssuer(browser, rig.url, 'mdt-user', '/mdt/caseloads');
    expect(landed.url).toBe(`${rig.url}/mdt/caseloads`);
    expect(landed.body).toContain('Morgan MDT');
    const after = browser.cookie(rig.url, SESSION_COOKIE);
    expect(after).toBeTruthy();
    expect(after).not.toBe(before);
    const res = await fetch(`${rig.url}/mdt/auth/sign-in`, { redirect: 'manual' });
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`)) as string;
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    // The public URL is http on loopback (a developer's machine): Secure would keep the browser from sending it.
    expect(cookie).not.toMatch(/; Secure/);
  });

  it('refuses a user with no workspace role with a page that says so, and keeps them signed out', async () => {
    const browser = new Browser();
    const landed = await signInThroughIssuer(browser, rig.url, 'nobody-user');
    expect(landed.res.status).toBe(403);
    expect(landed.body).toContain('You do not have access');
    expect(landed.body).not.toContain('Nia Nobody');
    const worklist = await browser.request(`${rig.url}/mdt/worklist`);
    expect(worklist.status).toBe(303);
  });

  it('refuses a callback it did not ask for, or whose state is not the one it sent, signing nobody in', async () => {
    const stranger = new Browser();
    const unasked = await stranger.follow(`${rig.url}/mdt/auth/callback?code=abc&state=xyz`);
    expect(unasked.res.status).toBe(400);
    expect(unasked.body).toContain('Sign-in did not finish');
    const browser = new Browser();
    const toIssuer = await browser.request(`${rig.url}/mdt/auth/sign-in`);
    const state = new URL(toIssuer.headers.get('location') as string).searchParams.get('state');
    const forged = await browser.follow(`${rig.url}/mdt/auth/callback?code=abc&state=not-${state}`);
    expect(forged.res.status).toBe(400);
    expect((await browser.request(`${rig.url}/mdt/worklist`)).status).toBe(303);
  });

  it('refuses a tampered or unknown session cookie as signed out', async () => {
    const browser = await signedIn('mdt-user');
    const value = browser.cookie(rig.url, SESSION_COOKIE) as string;
    const [id] = value.split('.');
    for (const forged of [`${id}.AAAA`, `${id}`, 'x.y']) {
      const res = await fetch(`${rig.url}/mdt/worklist`, {
        headers: { cookie: `${SESSION_COOKIE}=${forged}` },
        redirect: 'manual',
      });
      expect({ forged, status: res.status }).toEqual({ forged, status: 303 });
    }
  });

  it('signs out: the session ends here and the browser goes to the issuer to end it there too', async () => {
    const browser = await signedIn('mdt-user');
    const old = browser.cookie(rig.url, SESSION_COOKIE) as string;
    const res = await browser.request(`${rig.url}/mdt/auth/sign-out`);
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location') as string);
    expect(location.origin).toBe(rig.provider.issuer);
    expect(location.searchParams.get('post_logout_redirect_uri')).toBe(`${rig.url}/mdt/auth/signed-out`);
    expect(location.searchParams.get('id_token_hint')).toBeTruthy();
    const replay = await fetch(`${rig.url}/mdt/worklist`, {
      headers: { cookie: `${SESSION_COOKIE}=${old}` },
      redirect: 'manual',
    });
    expect(replay.status).toBe(303);
  });

  it('ends a session left idle past service.ui.sessionIdleMinutes', async () => {
    const { url } = await rig.another({ sessionIdleMinutes: 0.03 });
    const browser = new Browser();
    await signInThroughIssuer(browser, url, 'mdt-user');
    expect((await browser.request(`${url}/mdt/worklist`)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const expired = await browser.request(`${url}/mdt/worklist`);
    expect(expired.status).toBe(303);
    expect(expired.headers.get('location')).toMatch(/^\/mdt\/auth\/sign-in/);
  });
});

describe('the development sign-in', () => {
  it('signs in only with the form’s CSRF token, as someone on its list, with a banner on every page', async () => {
    const { url } = await rig.another({ oidc: undefined, publicUrl: undefined });
    const browser = new Browser();
    const page = await browser.follow(`${url}/mdt/worklist`);
    expect(page.body).toContain('Development sign-in');
    const { fields } = formFields(page.body, /sign-in$/);
    const forged = await browser.post(`${url}/mdt/auth/sign-in`, { returnTo: '/mdt/worklist', subject: 'demo-lead' });
    expect(forged.res.status).toBe(403);
    const stranger = await browser.post(`${url}/mdt/auth/sign-in`, { ...fields, subject: 'someone-else' });
    expect(stranger.res.status).toBe(400);
    const signedInPage = await browser.post(`${url}/mdt/auth/sign-in`, { ...fields, subject: 'demo-lead' });
    expect(signedInPage.url).toBe(`${url}/mdt/worklist`);
    expect(signedInPage.body).toContain('Demo clinical lead');
    expect(signedInPage.body).toContain('Development sign-in');
  });
});

describe('a person who works a caseload', () => {
  it('is recognised by their sign-in subject: my patients is their caseload, and nobody else’s', async () => {
    const coach = await (await signedIn('coach-user')).follow(`${rig.url}/mdt/my-patients`);
    expect(coach.body).toMatch(/<caption[^>]*>Health and wellbeing coach[^<]*: \d+ of 1<\/caption>/);
    expect(coach.body).not.toContain('You have no patients on your caseload.');
    const other = await (await signedIn('mdt-user')).follow(`${rig.url}/mdt/my-patients`);
    expect(other.body).toContain('You have no patients on your caseload.');
    expect(other.body).not.toContain('<caption');
  });
});

describe('headers on every page', () => {
  it('sends no-store and a CSP with no inline script or style, forms only to self and the issuer', async () => {
    const browser = await signedIn('mdt-user');
    for (const path of [
      '/mdt/worklist',
      `/mdt/patients/${PATIENT}`,
      '/mdt/caseloads',
      '/mdt/my-patients',
      '/mdt/programme',
      '/mdt/auth/sign-in',
    ]) {
      const res = await browser.request(`${rig.url}${path}`);
      expect({ path, cache: res.headers.get('cache-control') }).toEqual({ path, cache: 'no-store' });
      const csp = res.headers.get('content-security-policy') as string;
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain(`form-action 'self' ${rig.provider.issuer}`);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      await res.arrayBuffer();
    }
  });

  it('serves NHS.UK frontend and the workspace script as files, cacheable', async () => {
    for (const path of [
      '/mdt/assets/nhsuk/nhsuk-frontend.min.css',
      '/mdt/assets/nhsuk/nhsuk-frontend.min.js',
      '/mdt/assets/workspace.mjs',
    ]) {
      const res = await fetch(`${rig.url}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/);
      await res.arrayBuffer();
    }
  });
});

describe('who may do what', () => {
  const PAGES = ['/mdt/worklist', `/mdt/patients/${PATIENT}`, '/mdt/caseloads', '/mdt/my-patients', '/mdt/programme'];

  it('sends a signed-out browser to sign in from every page, and refuses its POSTs', async () => {
    for (const path of PAGES) {
      const res = await fetch(`${rig.url}${path}`, { redirect: 'manual' });
      expect({ path, status: res.status }).toEqual({ path, status: 303 });
    }
    for (const path of [`/mdt/patients/${PATIENT}/decision`, '/mdt/programme/refresh']) {
      const res = await fetch(`${rig.url}${path}`, { method: 'POST', redirect: 'manual' });
      expect({ path, status: res.status }).toEqual({ path, status: 401 });
    }
  });

  it('shows every page to a viewer, without the decision form, and refuses their decision (403, nothing written)', async () => {
    const browser = await signedIn('viewer-user');
    for (const path of PAGES) {
      const res = await browser.request(`${rig.url}${path}`);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      const body = await res.text();
      if (path.startsWith('/mdt/patients/')) {
        expect(body).not.toContain('/decision');
        expect(body).toContain('Deciding needs the MDT member or clinical lead role');
      }
    }
    const before = await review();
    const token = await csrfTokenOf(browser);
    const res = await browser.post(`${rig.url}/mdt/patients/${PATIENT}/decision`, {
      _csrf: token,
      decision: 'defer',
      version: before.meta?.versionId ?? '',
    });
    expect(res.res.status).toBe(403);
    expect((await review()).meta?.versionId).toBe(before.meta?.versionId);
  });

  it('refuses a POST without the CSRF token, or with another session’s, writing nothing', async () => {
    const browser = await signedIn('mdt-user');
    const other = await signedIn('mdt-user');
    const fields = await decisionFields(browser);
    const before = await review();
    const without = await browser.post(`${rig.url}/mdt/patients/${PATIENT}/decision`, {
      decision: 'defer',
      version: fields.version as string,
    });
    expect(without.res.status).toBe(403);
    const foreign = await browser.post(`${rig.url}/mdt/patients/${PATIENT}/decision`, {
      _csrf: await csrfTokenOf(other),
      decision: 'defer',
      version: fields.version as string,
    });
    expect(foreign.res.status).toBe(403);
    expect((await review()).meta?.versionId).toBe(before.meta?.versionId);
  });

  it('keeps a practice-scoped user to their practices: another practice’s patient is 403 with nothing about them', async () => {
    const outsider = await signedIn('scoped-user');
    const patient = await rig.practice.client.read<{
      resourceType: 'Patient';
      name?: { given?: string[] }[];
      identifier?: { value?: string }[];
    }>('Patient', PATIENT);
    const res = await outsider.request(`${rig.url}/mdt/patients/${PATIENT}`);
    expect(res.status).toBe(403);
    const body = await res.text();
    expect(body).not.toContain(patient.name?.[0]?.given?.[0] as string);
    expect(body).not.toContain(patient.identifier?.[0]?.value as string);
    const worklist = await (await outsider.request(`${rig.url}/mdt/worklist`)).text();
    expect(worklist).not.toContain(`/mdt/patients/${PATIENT}`);
    const insider = await signedIn('mdt-user');
    expect((await insider.request(`${rig.url}/mdt/patients/${PATIENT}`)).status).toBe(200);
  });

  it('offers "Run a refresh now" to a lead only, and refuses it to an MDT member (403)', async () => {
    const member = await signedIn('mdt-user');
    const memberPage = await member.follow(`${rig.url}/mdt/programme`);
    expect(memberPage.body).not.toContain('Run a refresh now');
    const refused = await member.post(`${rig.url}/mdt/programme/refresh`, { _csrf: await csrfTokenOf(member) });
    expect(refused.res.status).toBe(403);
    const lead = await signedIn('lead-user');
    const leadPage = await lead.follow(`${rig.url}/mdt/programme`);
    expect(leadPage.body).toContain('Run a refresh now');
    const runsBefore = rig.service.runs.list().length;
    const started = await lead.post(`${rig.url}/mdt/programme/refresh`, formFields(leadPage.body, /refresh$/).fields);
    expect(started.res.status).toBe(200);
    expect(started.body).toContain('A refresh has started');
    expect(rig.service.runs.list().length).toBe(runsBefore + 1);
    expect(rig.service.runs.list()[0]?.trigger).toBe('workspace');
    await rig.service.runs.settled();
  });

  it('keeps the JSON API and its bearer authentication as they were', async () => {
    expect((await rig.service.call('/cohort')).status).toBe(401);
    expect((await rig.service.call('/cohort', { token: rig.keys.read })).status).toBe(200);
    const browser = await signedIn('lead-user');
    // A workspace session is no credential for the API.
    expect((await browser.request(`${rig.url}/cohort`)).status).toBe(401);
  });
});

describe('forms and filters', () => {
  it('filters the worklist by tier, and refuses a filter that is no option with a page saying so', async () => {
    const browser = await signedIn('mdt-user');
    const first = await browser.follow(`${rig.url}/mdt/worklist?tier=first`);
    const shown = [...first.body.matchAll(/href="\/mdt\/patients\/([^"]+)"/g)].map((m) => m[1]);
    // The first tier: two or more emergency admissions (with ten or more repeat medicines).
    const expected = SPECS.filter((s) => s.admissionsDaysAgo.length >= 2 && s.repeats >= 10).map((s) => s.id);
    expect(shown.sort()).toEqual(expected.sort());
    const bad = await browser.follow(`${rig.url}/mdt/worklist?tier=nonsense`);
    expect(bad.res.status).toBe(400);
    expect(bad.body).toContain('Check what you asked for');
  });

  it('refuses a form body over the limit (413) and writes nothing', async () => {
    const browser = await signedIn('mdt-user');
    const fields = await decisionFields(browser);
    const before = await review();
    const res = await browser.post(`${rig.url}/mdt/patients/${PATIENT}/decision`, {
      ...fields,
      decision: 'defer',
      note: 'x'.repeat(40_000),
    });
    expect(res.res.status).toBe(413);
    expect(res.body).toContain('The form could not be read');
    expect((await review()).meta?.versionId).toBe(before.meta?.versionId);
  });
});

/** The session's CSRF token, as every page carries it for its forms. */
async function csrfTokenOf(browser: Browser): Promise<string> {
  const page = await browser.follow(`${rig.url}/mdt/worklist`);
  const token = /<meta name="csrf-token" content="([^"]+)">/.exec(page.body)?.[1];
  if (!token) {
    throw new Error('no CSRF token on the page');
  }
  return token;
}
