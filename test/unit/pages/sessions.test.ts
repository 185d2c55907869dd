import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Session } from '../../../src/pages/sessions';
import { SESSION_COOKIE, SessionStore } from '../../../src/pages/sessions';

/** A one-route app over a store whose clock the test moves: GET / says whose session it is; /sign-in signs in. */
async function appWith(store: SessionStore): Promise<{ url: string; server: Server }> {
  const app = express();
  app.use(store.middleware());
  app.get('/sign-in', (_req, res) => {
    store.renew(res, res.locals.session as Session).user = {
      subject: 's',
      name: 'n',
      role: 'mdt',
      agent: { display: 'n' },
    };
    res.send('ok');
  });
  app.get('/', (_req, res) => res.send((res.locals.session as Session).user?.subject ?? 'nobody'));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function cookieOf(res: Response): string {
  const line = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  if (!line) {
    throw new Error('no session cookie set');
  }
  return line;
}

describe('SessionStore', () => {
  let now = 0;
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('ends a session after the idle time without a request, but not while it is used', async () => {
    now = 1_000_000;
    const store = new SessionStore({ idleMinutes: 30, maxHours: 12, secure: false, now: () => now });
    const app = await appWith(store);
    server = app.server;
    const cookie = cookieOf(await fetch(`${app.url}/sign-in`)).split(';')[0] as string;
    const whoami = async () => (await fetch(app.url, { headers: { cookie } })).text();
    for (let step = 0; step < 4; step++) {
      now += 29 * 60_000; // each request within the idle time keeps the session alive
      expect(await whoami()).toBe('s');
    }
    now += 31 * 60_000;
    expect(await whoami()).toBe('nobody');
  });

  it('ends a session at its absolute lifetime however busy it is', async () => {
    now = 5_000_000;
    const store = new SessionStore({ idleMinutes: 120, maxHours: 1, secure: false, now: () => now });
    const app = await appWith(store);
    server = app.server;
    const cookie = cookieOf(await fetch(`${app.url}/sign-in`)).split(';')[0] as string;
    const whoami = async () => (await fetch(app.url, { headers: { cookie } })).text();
    now += 50 * 60_000;
    expect(await whoami()).toBe('s');
    now += 11 * 60_000;
    expect(await whoami()).toBe('nobody');
  });

  it('sets HttpOnly, SameSite=Lax, path / and, unless told otherwise, Secure', async () => {
    const app = await appWith(new SessionStore({ idleMinutes: 30, maxHours: 12, secure: true }));
    server = app.server;
    const cookie = cookieOf(await fetch(app.url));
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; SameSite=Lax/);
  });

  it('gives a new session id and CSRF token at sign-in, and forgets the old one', async () => {
    const store = new SessionStore({ idleMinutes: 30, maxHours: 12, secure: false });
    const app = await appWith(store);
    server = app.server;
    const before = cookieOf(await fetch(app.url)).split(';')[0] as string;
    const after = cookieOf(await fetch(`${app.url}/sign-in`, { headers: { cookie: before } })).split(';')[0] as string;
    expect(after).not.toBe(before);
    expect(await (await fetch(app.url, { headers: { cookie: after } })).text()).toBe('s');
    expect(await (await fetch(app.url, { headers: { cookie: before } })).text()).toBe('nobody');
  });

  it('holds at most its limit, letting the oldest signed-out visits go before anyone signed in', async () => {
    const store = new SessionStore({ idleMinutes: 30, maxHours: 12, secure: false, limit: 3 });
    const app = await appWith(store);
    server = app.server;
    const signedIn = cookieOf(await fetch(`${app.url}/sign-in`)).split(';')[0] as string;
    const visits: string[] = [];
    for (let n = 0; n < 5; n++) {
      visits.push(cookieOf(await fetch(app.url)).split(';')[0] as string);
    }
    // A session the store still holds is answered without a new cookie.
    const kept = async (cookie: string) =>
      (await fetch(app.url, { headers: { cookie } })).headers.getSetCookie().length === 0;
    expect(await kept(visits[4] as string)).toBe(true);
    expect(await kept(visits[0] as string)).toBe(false);
    expect(await (await fetch(app.url, { headers: { cookie: signedIn } })).text()).toBe('s');
  });
});
