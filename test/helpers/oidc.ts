import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import path from 'node:path';

export interface TestOidcProvider {
  issuer: string;
  /** Registers a confidential client whose redirect URIs are under `publicUrl`. */
  register(client: { clientId: string; clientSecret: string; publicUrl: string }): Promise<void>;
  stop(): Promise<void>;
}

/** The real OpenID Connect provider (test/helpers/oidc-provider.mjs) in a child process on 127.0.0.1. */
export async function startOidcProvider(): Promise<TestOidcProvider> {
  const child = fork(path.join(__dirname, 'oidc-provider.mjs'), [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  // Its start-up warnings (development keys and interactions, which is what a test wants) are noise; errors are not.
  child.stderr?.on('data', (chunk: Buffer) => {
    const lines = chunk
      .toString()
      .split('\n')
      .filter((l) => l && !l.startsWith('oidc-provider WARNING'));
    if (lines.length) {
      process.stderr.write(`${lines.join('\n')}\n`);
    }
  });
  const { issuer } = await nextMessage<{ issuer: string }>(child, (m) => 'issuer' in m);
  return {
    issuer,
    async register({ clientId, clientSecret, publicUrl }) {
      const registered = nextMessage(child, (m) => m.registered === clientId);
      child.send({
        register: {
          client_id: clientId,
          client_secret: clientSecret,
          redirect_uris: [`${publicUrl}/mdt/auth/callback`],
          post_logout_redirect_uris: [`${publicUrl}/mdt/auth/signed-out`],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
        },
      });
      await registered;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}

function nextMessage<T>(child: ChildProcess, match: (m: Record<string, unknown>) => boolean): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: unknown): void => {
      if (m && typeof m === 'object' && match(m as Record<string, unknown>)) {
        child.off('message', onMessage);
        resolve(m as T);
      }
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`the test issuer exited (${code})`)));
  });
}

/**
 * A browser's cookies and redirects, by hand (fetch keeps neither): enough to sign in through the issuer and use
 * the pages over plain HTTP.
 */
export class Browser {
  private readonly cookies = new Map<string, Map<string, string>>();

  /** One request; `Set-Cookie` remembered per origin; redirects not followed. */
  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const origin = new URL(url).origin;
    const jar = this.cookies.get(origin) ?? new Map<string, string>();
    this.cookies.set(origin, jar);
    const headers = new Headers(init.headers);
    if (jar.size) {
      headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    }
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const [name = '', ...value] = pair.split('=');
      const expired = /expires=Thu, 01 Jan 1970/i.test(line) || /max-age=0/i.test(line);
      if (expired) {
        jar.delete(name.trim());
      } else {
        jar.set(name.trim(), value.join('='));
      }
    }
    return res;
  }

  /** A GET or POST, following redirects as a browser does (a 303 turns a POST into a GET). */
  async follow(url: string, init: RequestInit = {}): Promise<{ res: Response; url: string; body: string }> {
    let current = url;
    let request = init;
    for (let hops = 0; hops < 20; hops++) {
      const res = await this.request(current, request);
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) {
        return { res, url: current, body: await res.text() };
      }
      await res.arrayBuffer();
      current = new URL(location, current).href;
      request = res.status === 307 || res.status === 308 ? request : {};
    }
    throw new Error(`too many redirects from ${url}`);
  }

  /** Posts a form's fields as application/x-www-form-urlencoded. */
  post(url: string, fields: Record<string, string>): Promise<{ res: Response; url: string; body: string }> {
    return this.follow(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }

  cookie(origin: string, name: string): string | undefined {
    return this.cookies.get(origin)?.get(name);
  }

  /** Every cookie held, with the origin that set it (to hand them to a real browser). */
  allCookies(): { origin: string; name: string; value: string }[] {
    return [...this.cookies].flatMap(([origin, jar]) => [...jar].map(([name, value]) => ({ origin, name, value })));
  }

  clear(): void {
    this.cookies.clear();
  }
}

/** Every `name="x" value="y"` hidden input of the first form whose action matches, for posting it back. */
export function formFields(html: string, action?: RegExp): { action: string; fields: Record<string, string> } {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)];
  const form = forms.find((f) => !action || action.test(/action="([^"]*)"/.exec(f[1] ?? '')?.[1] ?? ''));
  if (!form) {
    throw new Error('no such form on the page');
  }
  const fields: Record<string, string> = {};
  for (const input of (form[2] ?? '').matchAll(/<input\b[^>]*>/g)) {
    const name = /name="([^"]*)"/.exec(input[0])?.[1];
    const value = /value="([^"]*)"/.exec(input[0])?.[1] ?? '';
    if (name && /type="hidden"/.test(input[0])) {
      fields[name] = decodeEntities(value);
    }
  }
  return { action: decodeEntities(/action="([^"]*)"/.exec(form[1] ?? '')?.[1] ?? ''), fields };
}

function decodeEntities(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/**
 * Signs `login` in through the issuer's own pages (its login form, then its consent form), starting at the
 * workspace's sign-in route; returns the page the workspace lands on.
 */
export async function signInThroughIssuer(
  browser: Browser,
  serviceUrl: string,
  login: string,
  returnTo = '/mdt/worklist'
): Promise<{ res: Response; url: string; body: string }> {
  const loginPage = await browser.follow(`${serviceUrl}/mdt/auth/sign-in?returnTo=${encodeURIComponent(returnTo)}`);
  const loginForm = formFields(loginPage.body);
  let page = await browser.post(new URL(loginForm.action, loginPage.url).href, {
    ...loginForm.fields,
    login,
    password: 'any',
  });
  // The consent prompt, once per client and user.
  if (/name="prompt" value="consent"/.test(page.body)) {
    const consent = formFields(page.body);
    page = await browser.post(new URL(consent.action, page.url).href, consent.fields);
  }
  return page;
}
