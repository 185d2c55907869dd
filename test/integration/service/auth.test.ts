import type { RunningFhirServer } from '../../../src/server';
import { startFhirServer } from '../../../src/server';
import type { TestIssuer } from '../helpers/issuer';
import { AUDIENCE, startIssuer } from '../helpers/issuer';
import type { TestService } from '../helpers/service';
import { startTestService, testKeys } from '../helpers/service';

let fhir: RunningFhirServer;
let issuer: TestIssuer;
let service: TestService;
const keys = testKeys();

beforeAll(async () => {
  fhir = await startFhirServer({});
  issuer = await startIssuer();
  service = await startTestService(fhir.baseUrl, {
    service: {
      auth: { jwt: { issuer: issuer.issuer, audience: AUDIENCE, jwksUri: issuer.jwksUri }, apiKeys: keys.entries },
      notifications: { secret: 'a-shared-secret-of-some-length' },
      limits: { bodyBytes: 2048, failedAuthPerMinute: 1000 }, // the cases below fail on purpose, many times
    },
  });
});
afterAll(async () => {
  await service.stop();
  await issuer.stop();
  await fhir.stop();
});

// Objects, not tuples: jest's each passes a `done` callback in place of a missing tuple element.
const PROTECTED: { method: string; path: string; body?: string }[] = [
  { method: 'GET', path: '/openapi.json' },
  { method: 'POST', path: '/runs', body: '{"dryRun":true}' },
  { method: 'GET', path: '/runs' },
  { method: 'GET', path: '/runs/00000000-0000-4000-8000-000000000000' },
  { method: 'GET', path: '/cohort' },
  { method: 'GET', path: '/patients/p1/explain' },
];

describe('authentication', () => {
  it.each([['/health'], ['/ready'], ['/metrics']])('%s is open (probes and scraping)', async (path) => {
    expect((await service.call(path)).status).toBe(200);
  });

  const bad: [string, () => Promise<string | undefined>][] = [
    ['no credential', async () => undefined],
    ['an expired token', () => issuer.sign({ roles: ['hfu.operate'] }, { expiresIn: -120 })],
    ['a wrongly signed token', () => issuer.sign({ roles: ['hfu.operate'] }, { forged: true })],
    ['a token for another audience', () => issuer.sign({ roles: ['hfu.operate'] }, { audience: 'https://elsewhere' })],
    ['a token from another issuer', () => issuer.sign({ roles: ['hfu.operate'] }, { issuer: 'https://evil.example' })],
    ['an unknown API key', async () => 'hfu_not-a-key-anyone-was-given'],
    ['a malformed token', async () => 'not.a.jwt'],
  ];
  describe.each(bad)('with %s', (_name, credential) => {
    it.each(PROTECTED)('$method $path answers 401 with a JSON error and no stack', async ({ method, path, body }) => {
      const res = await service.call(path, {
        method,
        token: await credential(),
        body,
        headers: { 'Content-Type': 'application/json' },
      });
      expect(res.status).toBe(401);
      const json = (await res.json()) as { error: { status: number; message: string } };
      expect(json.error.status).toBe(401);
      expect(JSON.stringify(json)).not.toMatch(/at .*\.(js|ts):\d+/);
    });
  });

  it('lets a reader read but not operate', async () => {
    const token = await issuer.sign({ roles: ['hfu.read'] });
    expect((await service.call('/runs', { token })).status).toBe(200);
    const res = await service.call('/runs', {
      method: 'POST',
      token,
      body: '{}',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(res.status).toBe(403);
    const apiRes = await service.call('/runs', {
      method: 'POST',
      token: keys.read,
      body: '{}',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(apiRes.status).toBe(403);
  });

  it('refuses a valid token that carries neither role', async () => {
    expect((await service.call('/runs', { token: await issuer.sign({ roles: ['something.else'] }) })).status).toBe(403);
  });

  it('accepts roles as a space-separated string (an OAuth scope), and API keys by their hash', async () => {
    expect((await service.call('/runs', { token: keys.read })).status).toBe(200);
    expect((await service.call('/runs', { token: await issuer.sign({ roles: 'hfu.read other' }) })).status).toBe(200);
  });

  it('refuses the notification endpoint without the shared secret, or with a wrong one', async () => {
    const post = (headers: Record<string, string>) =>
      service.call('/fhir-notifications', {
        method: 'POST',
        body: '{}',
        headers: { 'Content-Type': 'application/json', ...headers },
      });
    expect((await post({})).status).toBe(401);
    expect((await post({ 'X-HFU-Subscription-Secret': 'a-shared-secret-of-some-lengtX' })).status).toBe(401);
    // A bearer token is no substitute for the subscription's secret.
    expect((await post({ Authorization: `Bearer ${keys.operate}` })).status).toBe(401);
  });
});

describe('hardening', () => {
  it('sends no CORS headers, even to a preflight', async () => {
    const preflight = await service.call('/cohort', {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'GET' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    const get = await service.call('/cohort', { token: keys.read, headers: { Origin: 'https://evil.example' } });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('sets the helmet headers and hides the framework', async () => {
    const res = await service.call('/health');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a body over the limit, and malformed JSON, with JSON errors', async () => {
    const big = await service.call('/runs', {
      method: 'POST',
      token: keys.operate,
      body: JSON.stringify({ dryRun: true, padding: 'x'.repeat(4096) }),
      headers: { 'Content-Type': 'application/json' },
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ error: { status: 413, message: 'request body too large' } });
    const broken = await service.call('/runs', {
      method: 'POST',
      token: keys.operate,
      body: '{"dryRun":',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: { message: string } }).error.message).toMatch(/bad request body/);
  });

  it('validates requests against the published schemas', async () => {
    const res = await service.call('/cohort?pageSize=5000&colour=blue', { token: keys.read });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { problems: string[] } };
    expect(error.problems.join('\n')).toMatch(/query\.pageSize/);
    expect(error.problems.join('\n')).toMatch(/colour/);
    const run = await service.call('/runs', {
      method: 'POST',
      token: keys.operate,
      body: '{"dryRun":"yes"}',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(run.status).toBe(400);
    expect((await service.call('/runs/not-a-uuid', { token: keys.read })).status).toBe(400);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await service.call('/admin', { token: keys.operate });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { status: number } }).error.status).toBe(404);
  });

  it('publishes an OpenAPI description of every route, with the schemas it validates with', async () => {
    const doc = (await (await service.call('/openapi.json', { token: keys.read })).json()) as {
      openapi: string;
      paths: Record<string, Record<string, { parameters: { name: string }[]; security?: unknown[] }>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/cohort',
        '/fhir-notifications',
        '/health',
        '/metrics',
        '/openapi.json',
        '/patients/{id}/explain',
        '/ready',
        '/runs',
        '/runs/{id}',
      ].sort()
    );
    expect(doc.paths['/cohort']?.get?.parameters.map((p) => p.name).sort()).toEqual([
      'page',
      'pageSize',
      'stage',
      'tier',
    ]);
    expect(doc.paths['/health']?.get?.security).toEqual([]);
  });
});

describe('rate limiting', () => {
  it('answers 429 once a client exceeds its requests per minute (probes are not limited)', async () => {
    const limited = await startTestService(fhir.baseUrl, {
      service: { auth: { apiKeys: keys.entries }, limits: { requestsPerMinute: 3 } },
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        statuses.push((await limited.call('/runs', { token: keys.read })).status);
      }
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      expect((await limited.call('/health')).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });
});
