import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import type { TestIssuer } from '../helpers/issuer';
import { AUDIENCE, startIssuer } from '../helpers/issuer';
import { ProgrammePractice } from '../helpers/programme';
import type { TestService } from '../helpers/service';
import { startTestService, testKeys } from '../helpers/service';

/** Requests an attacker, a misconfigured client or a hurried operator sends: none may start a run or crash a route. */

const SECRET = 'the-subscription-shared-secret';
const keys = testKeys();

let practice: ProgrammePractice;
let issuer: TestIssuer;
let service: TestService;

beforeAll(async () => {
  practice = await ProgrammePractice.start();
  issuer = await startIssuer();
  service = await startTestService(
    practice.server.baseUrl,
    serviceConfig({
      auth: { jwt: { issuer: issuer.issuer, audience: AUDIENCE, jwksUri: issuer.jwksUri }, apiKeys: keys.entries },
      notifications: { secret: SECRET, debounceMs: 0 },
    })
  );
});
afterAll(async () => {
  await service?.stop();
  await issuer?.stop();
  await practice?.stop();
});

function serviceConfig(service: Record<string, unknown>): Record<string, unknown> {
  const practiceConfig = JSON.parse(readFileSync(practice.configFile, 'utf8')) as Record<string, unknown>;
  return { ...practiceConfig, service: { auth: { apiKeys: keys.entries }, ...service } };
}

async function errorOf(res: Response): Promise<{ status: number; message: string }> {
  const json = (await res.json()) as { error: { status: number; message: string } };
  expect(json.error.status).toBe(res.status);
  return json.error;
}

/** A dry-run request sent every way but as JSON. `bytes` bodies go out with no Content-Type at all. */
const NOT_JSON: { name: string; body: string | Uint8Array; headers: Record<string, string> }[] = [
  {
    name: "curl's default form type",
    body: '{"dryRun":true}',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  },
  { name: 'text/plain', body: '{"dryRun":true}', headers: { 'Content-Type': 'text/plain' } },
  { name: 'no content type', body: new TextEncoder().encode('{"dryRun":true}'), headers: {} },
  { name: 'multipart/form-data', body: '{"dryRun":true}', headers: { 'Content-Type': 'multipart/form-data; b=x' } },
  { name: 'application/xml', body: '<dryRun>true</dryRun>', headers: { 'Content-Type': 'application/xml' } },
  { name: 'a JSON look-alike', body: '{"dryRun":true}', headers: { 'Content-Type': 'application/jsonx' } },
  {
    name: 'JSON compressed with br',
    body: '{"dryRun":true}',
    headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'br' },
  },
  {
    name: 'JSON compressed with gzip',
    body: '{"dryRun":true}',
    headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
  },
];

describe('bodies the service cannot read', () => {
  it.each(NOT_JSON)('POST /runs with $name is 415 and starts no run', async ({ body, headers }) => {
    const res = await service.call('/runs', { method: 'POST', token: keys.operate, body, headers });
    expect(res.status).toBe(415);
    expect((await errorOf(res)).message).toMatch(/JSON|Content-Encoding/);
    expect(service.runs.list()).toEqual([]);
  });

  it.each(NOT_JSON)('POST /fhir-notifications with $name is 415 and refreshes no one', async ({ body, headers }) => {
    const res = await service.call('/fhir-notifications', {
      method: 'POST',
      body,
      headers: { ...headers, 'X-HFU-Subscription-Secret': SECRET },
    });
    expect(res.status).toBe(415);
    await service.notifications.idle();
    expect(service.runs.list()).toEqual([]);
  });

  it('refuses unreadable JSON with 400, and JSON that is not an object with the schema problem', async () => {
    for (const body of ['{"dryRun":', '"dryRun"', 'null']) {
      const res = await service.call('/runs', {
        method: 'POST',
        token: keys.operate,
        body,
        headers: { 'Content-Type': 'application/json' },
      });
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
    }
    const array = await service.call('/runs', {
      method: 'POST',
      token: keys.operate,
      body: '[{"dryRun":true}]',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(array.status).toBe(400);
    expect(service.runs.list()).toEqual([]);
    expect(await practice.written()).toEqual([]);
  });

  it('publishes what each route taking a body accepts and answers about it', async () => {
    const doc = (await (await service.call('/openapi.json', { token: keys.read })).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content: object }; responses: object }>>;
    };
    for (const operation of [doc.paths['/runs']?.post, doc.paths['/fhir-notifications']?.post]) {
      expect(Object.keys(operation?.requestBody?.content ?? {})).toEqual(['application/json', 'application/fhir+json']);
      expect(Object.keys(operation?.responses ?? {})).toEqual(expect.arrayContaining(['400', '413', '415']));
    }
  });

  it('reads application/fhir+json and a charset parameter as JSON', async () => {
    const res = await service.call('/runs', {
      method: 'POST',
      token: keys.operate,
      body: '{"dryRun":true}',
      headers: { 'Content-Type': 'application/fhir+json; charset=utf-8' },
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ dryRun: true });
    await service.runs.settled();
    expect(service.runs.list()).toHaveLength(1);
    expect(await practice.written()).toEqual([]);
  });
});

describe('paths and caching', () => {
  it.each(['/patients/%ff/explain', '/runs/%ff', '/patients/%E0%A4%A/explain'])(
    '%s (not valid percent-encoding) is 400',
    async (path) => {
      const res = await service.call(path, { token: keys.read });
      expect(res.status).toBe(400);
      expect((await errorOf(res)).message).toMatch(/percent-encod/);
    }
  );

  it('marks the cohort, explanations and runs no-store; probes need no such header', async () => {
    for (const path of ['/cohort', '/patients/hfu-a/explain', '/runs', '/patients/nobody/explain']) {
      const res = await service.call(path, { token: keys.read });
      expect({ path, cacheControl: res.headers.get('cache-control') }).toEqual({ path, cacheControl: 'no-store' });
    }
    const explained = await service.call('/patients/hfu-a/explain', { token: keys.read });
    expect(explained.status).toBe(200);
    const refused = await service.call('/cohort');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('cache-control')).toBe('no-store');
  });
});

describe('rate limits', () => {
  it('305 wrong-key requests from one address leave the valid keys working', async () => {
    const limited = await startTestService(practice.server.baseUrl, serviceConfig({}));
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 305; i++) {
        statuses.push((await limited.call('/runs', { token: 'hfu_wrong-key-number-' + i })).status);
      }
      // The default limit on failed authentications is 30 a minute per address; the rest are 429.
      expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
      expect(statuses.slice(30).every((s) => s === 429)).toBe(true);
      expect((await limited.call('/runs', { token: keys.operate })).status).toBe(200);
      expect((await limited.call('/cohort', { token: keys.read })).status).toBe(200);
      // A bad token (not an API key) is a failure too, still limited.
      expect((await limited.call('/runs', { token: 'not.a.jwt' })).status).toBe(429);
    } finally {
      await limited.stop();
    }
  });

  it('limits each caller by its own key, not by the address it shares with others', async () => {
    const limited = await startTestService(
      practice.server.baseUrl,
      serviceConfig({ limits: { requestsPerMinute: 3, failedAuthPerMinute: 2 } })
    );
    try {
      const reader: number[] = [];
      for (let i = 0; i < 5; i++) {
        reader.push((await limited.call('/runs', { token: keys.read })).status);
      }
      expect(reader).toEqual([200, 200, 200, 429, 429]);
      expect((await limited.call('/runs', { token: keys.operate })).status).toBe(200);
      const wrong: number[] = [];
      for (let i = 0; i < 4; i++) {
        wrong.push((await limited.call('/runs', { token: 'hfu_nobody' })).status);
      }
      expect(wrong).toEqual([401, 401, 429, 429]);
      expect((await limited.call('/runs', { token: keys.operate })).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });

  it('takes the client address from X-Forwarded-For only with service.trustProxy', async () => {
    const failures = async (svc: TestService, from: string, n: number): Promise<number[]> => {
      const statuses: number[] = [];
      for (let i = 0; i < n; i++) {
        statuses.push((await svc.call('/runs', { token: 'hfu_nobody', headers: { 'X-Forwarded-For': from } })).status);
      }
      return statuses;
    };
    const direct = await startTestService(
      practice.server.baseUrl,
      serviceConfig({ limits: { failedAuthPerMinute: 2 } })
    );
    const proxied = await startTestService(
      practice.server.baseUrl,
      serviceConfig({ trustProxy: 1, limits: { failedAuthPerMinute: 2 } })
    );
    try {
      // Without it the header is the caller's to forge: ignored, one address for all.
      expect(await failures(direct, '203.0.113.1', 3)).toEqual([401, 401, 429]);
      expect(await failures(direct, '203.0.113.2', 1)).toEqual([429]);
      // Behind one trusted proxy, each client address is limited by itself.
      expect(await failures(proxied, '203.0.113.1', 3)).toEqual([401, 401, 429]);
      expect(await failures(proxied, '203.0.113.2', 1)).toEqual([401]);
    } finally {
      await direct.stop();
      await proxied.stop();
    }
  });
});

describe("the token issuer's keys out of reach", () => {
  let broken: Server;
  let brokenUrl: string;
  let closedUrl: string;

  beforeAll(async () => {
    broken = createServer((_req, res) => res.writeHead(500, { 'Content-Type': 'text/html' }).end('<html>down</html>'));
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    brokenUrl = `http://127.0.0.1:${(broken.address() as AddressInfo).port}/jwks.json`;
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/jwks.json`;
    await new Promise((resolve) => closed.close(resolve));
  });
  afterAll(() => new Promise((resolve) => broken.close(resolve)));

  it.each([
    ['unreachable', () => closedUrl],
    ['answering 500 with HTML', () => brokenUrl],
  ])('JWKS %s: 503 that says so, the token not accepted, API keys still work', async (_name, jwksUri) => {
    const svc = await startTestService(
      practice.server.baseUrl,
      serviceConfig({
        auth: { jwt: { issuer: issuer.issuer, audience: AUDIENCE, jwksUri: jwksUri() }, apiKeys: keys.entries },
      })
    );
    try {
      const token = await issuer.sign({ roles: ['hfu.operate'] });
      const res = await svc.call('/runs', { token });
      expect(res.status).toBe(503);
      expect((await errorOf(res)).message).toBe(
        "the token issuer's signing keys could not be fetched (service.auth.jwt.jwksUri): try again later"
      );
      expect(svc.logs.some((l) => l.message === 'token issuer keys could not be fetched')).toBe(true);
      // A token that is not even a JWT is still the caller's fault.
      expect((await svc.call('/runs', { token: 'not.a.jwt' })).status).toBe(401);
      expect((await svc.call('/runs', { token: keys.read })).status).toBe(200);
    } finally {
      await svc.stop();
    }
  });

  it('a token signed with a key the issuer does not publish is still 401, not 503', async () => {
    const res = await service.call('/runs', { token: await issuer.sign({ roles: ['hfu.read'] }, { forged: true }) });
    expect(res.status).toBe(401);
    expect((await service.call('/runs', { token: await issuer.sign({ roles: ['hfu.read'] }) })).status).toBe(200);
  });
});
