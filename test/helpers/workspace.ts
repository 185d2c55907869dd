import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Page } from 'playwright-core';
import type { AddressInfo } from 'node:net';
import { AS_OF, ProgrammePractice } from '../integration/helpers/programme';
import type { TestService } from '../integration/helpers/service';
import { startTestService, testKeys } from '../integration/helpers/service';
import type { TestOidcProvider } from './oidc';
import { Browser, signInThroughIssuer, startOidcProvider } from './oidc';
import type { TestBrowser } from './chromium';

export const CLIENT_ID = 'hfu-mdt-workspace';
const CLIENT_SECRET = 'a-test-client-secret-of-some-length';

/** Everything the workspace runs on: the seeded practice after a first run, a real OIDC provider, the service. */
export interface WorkspaceRig {
  practice: ProgrammePractice;
  provider: TestOidcProvider;
  service: TestService;
  /** The public URL the issuer redirects to (the service's own address here). */
  url: string;
  keys: ReturnType<typeof testKeys>;
  /** Another service over the same record and issuer, with other `service.ui` settings (stopped with the rig). */
  another(ui: Record<string, unknown>): Promise<{ service: TestService; url: string }>;
  stop(): Promise<void>;
}

/**
 * The practice's candidates proposed by a real run, then the service with sign-in through the test provider:
 * users carry roles in `roles` and ODS codes in `practices` (test/helpers/oidc-provider.mjs).
 */
export async function startWorkspaceRig(ui: Record<string, unknown> = {}): Promise<WorkspaceRig> {
  // The issuer starts in its own process while the practice is seeded and run; if either fails, the other stops.
  const [seeded, issuer] = await Promise.allSettled([
    ProgrammePractice.start().then(async (started) => {
      const { code } = await started.run(AS_OF).catch(async (err: unknown) => {
        await started.stop();
        throw err;
      });
      if (code !== 0) {
        await started.stop();
        throw new Error(`the first run exited ${code}`);
      }
      return started;
    }),
    startOidcProvider(),
  ]);
  if (seeded.status === 'rejected' || issuer.status === 'rejected') {
    await (seeded.status === 'fulfilled' ? seeded.value.stop() : undefined);
    await (issuer.status === 'fulfilled' ? issuer.value.stop() : undefined);
    throw seeded.status === 'rejected' ? seeded.reason : (issuer as PromiseRejectedResult).reason;
  }
  const [practice, provider] = [seeded.value, issuer.value];
  const keys = testKeys();
  const services: TestService[] = [];
  const start = async (settings: Record<string, unknown>): Promise<{ service: TestService; url: string }> => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    // A client of its own per service: a client's redirect URIs are its service's.
    const clientId = `${CLIENT_ID}-${services.length + 1}`;
    await provider.register({ clientId, clientSecret: CLIENT_SECRET, publicUrl: url });
    const practiceConfig = JSON.parse(readFileSync(practice.configFile, 'utf8')) as Record<string, unknown>;
    const service = await startTestService(practice.server.baseUrl, {
      ...practiceConfig,
      service: {
        port,
        auth: { apiKeys: keys.entries },
        ui: {
          publicUrl: url,
          oidc: {
            issuer: provider.issuer,
            clientId,
            clientSecret: CLIENT_SECRET,
            practiceClaim: 'practices',
          },
          ...settings,
        },
      },
    });
    services.push(service);
    return { service, url };
  };
  const first = await start(ui);
  return {
    practice,
    provider,
    keys,
    ...first,
    another: start,
    async stop() {
      await Promise.all([Promise.all(services.map((s) => s.stop())).then(() => practice.stop()), provider.stop()]);
    },
  };
}

/** A new browser context (another person) signed in as `login` through the test issuer's own pages. */
export async function signedInPage(
  chromium: TestBrowser,
  rig: WorkspaceRig,
  login: string,
  options: { url?: string; javaScriptEnabled?: boolean } = {}
): Promise<Page> {
  const context = await chromium.context({ javaScriptEnabled: options.javaScriptEnabled ?? true });
  const page = await context.newPage();
  await signInInChromium(page, rig, login, options.url);
  return page;
}

/**
 * Pages already signed in, for the tests that are not about signing in: each login signs in once per service (and
 * test file) through the real issuer over plain HTTP (its login and consent forms posted, the service's callback
 * followed, some 0.1-0.2 s where chromium's sign-in takes 1.5-3.5), and every page for it is a new chromium context
 * (another window) starting with those cookies, the issuer's and the service's, on about:blank. The contexts of one
 * login share its session at the service, which holds only who signed in and the CSRF token: a test that signs out,
 * lets a session expire or otherwise ends one must sign in on its own (`signedInPage`, in chromium).
 */
export function reusedSignIns(
  chromium: TestBrowser,
  rig: WorkspaceRig
): (login: string, options?: { url?: string; javaScriptEnabled?: boolean }) => Promise<Page> {
  const signedIn = new Map<string, Promise<{ origin: string; name: string; value: string }[]>>();
  const signInOverHttp = async (login: string, url: string) => {
    const browser = new Browser();
    const landed = await signInThroughIssuer(browser, url, login);
    if (landed.url !== `${url}/mdt/worklist`) {
      throw new Error(`${login}'s sign-in landed on ${new URL(landed.url).pathname}, not the worklist`);
    }
    return browser.allCookies();
  };
  return async (login, options = {}) => {
    const url = options.url ?? rig.url;
    const key = `${url} ${login}`;
    const cookies = signedIn.get(key) ?? signInOverHttp(login, url);
    signedIn.set(key, cookies);
    const context = await chromium.context({ javaScriptEnabled: options.javaScriptEnabled ?? true });
    // As the service and the issuer set them: HttpOnly, SameSite=Lax, host-only on 127.0.0.1 (ports share cookies).
    await context.addCookies(
      (await cookies).map(({ origin, name, value }) => ({ name, value, url: origin, httpOnly: true, sameSite: 'Lax' }))
    );
    return context.newPage();
  };
}

/**
 * Signs `login` in on a chromium page through the test issuer's own pages, landing on the worklist (or `landsOn`:
 * the no-access page, for a user with no role).
 */
export async function signInInChromium(
  page: Page,
  rig: WorkspaceRig,
  login: string,
  url = rig.url,
  landsOn = '/mdt/worklist'
): Promise<void> {
  await page.goto(`${url}/mdt/worklist`);
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', 'any password');
  await page.click('button[type="submit"]');
  await page.waitForLoadState();
  if (page.url().startsWith(rig.provider.issuer)) {
    await page.click('button[type="submit"]'); // the issuer's consent prompt
  }
  await page.waitForURL(`${url}${landsOn}`);
}

/** A port the OS has just handed out (and taken back), for a service that must know its URL before it listens. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
