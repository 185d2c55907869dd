import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunningFhirServer } from '../../../src/server';
import { startFhirServer } from '../../../src/server';
import { NHS_SYSTEM } from '../../../src/vocabulary';
import type { Fault, FaultyProxy } from '../helpers/proxy';
import { startFaultyProxy } from '../helpers/proxy';
import type { TestService } from '../helpers/service';
import { startTestService, testKeys } from '../helpers/service';

// What an upstream server might echo into its error text: it must reach neither the caller nor the log.
const ECHOED = ['Jane Doe', '9434765919', '1950-01-01'];
const PROGRAMME_READS = ['Group', 'Task', 'Flag', 'CarePlan'];

const keys = testKeys();
const serviceConfig = {
  fhir: { maxAttempts: 1, timeoutMs: 400 },
  service: { auth: { apiKeys: keys.entries } },
};

let fhir: RunningFhirServer;
let proxy: FaultyProxy;
let fault: Fault | 'hold' | undefined;
let releaseHeld: () => void = () => undefined;
const held = new Promise<void>((resolve) => (releaseHeld = resolve));
let html: Server;
let htmlStatus = 200;
let closedPort: number;
const services: TestService[] = [];

beforeAll(async () => {
  fhir = await startFhirServer({});
  proxy = await startFaultyProxy(
    fhir.baseUrl,
    () => (fault === 'hold' ? undefined : fault),
    () => (fault === 'hold' ? held : undefined)
  );
  html = createServer((_req, res) => {
    res.writeHead(htmlStatus, { 'Content-Type': 'text/html' });
    res.end(`<html><body>Sign in. Last user: ${ECHOED.join(', ')}</body></html>`);
  });
  await new Promise<void>((resolve) => html.listen(0, '127.0.0.1', resolve));
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  closedPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
});

afterAll(async () => {
  releaseHeld();
  await Promise.all(services.map((s) => s.stop()));
  await proxy.stop();
  await new Promise<void>((resolve) => {
    html.close(() => resolve());
    html.closeAllConnections();
  });
  await fhir.stop();
});

async function serviceOver(baseUrl: string): Promise<TestService> {
  const service = await startTestService(baseUrl, serviceConfig);
  services.push(service);
  return service;
}

interface ErrorBody {
  error: { status: number; message: string; upstream?: { method?: string; path?: string; status?: number } };
}

/** GET /cohort, whose answer needs four searches of the FHIR endpoint; the body and what was logged meanwhile. */
async function cohort(service: TestService): Promise<{ status: number; body: ErrorBody; logged: string }> {
  const before = service.logs.length;
  const res = await service.call('/cohort', { token: keys.read });
  const body = (await res.json()) as ErrorBody;
  const lines = service.logs.slice(before);
  expectLoggedAs(lines, body);
  return { status: res.status, body, logged: JSON.stringify(lines) };
}

function expectNothingEchoed(body: unknown, logged: string): void {
  for (const text of ECHOED) {
    expect(JSON.stringify(body)).not.toContain(text);
    expect(logged).not.toContain(text);
  }
}

/** The error line the service logged for the failed request: the same status and request as the caller got. */
function expectLoggedAs(lines: Record<string, unknown>[], body: ErrorBody): void {
  const line = lines.find((l) => l.message === 'request failed');
  expect(line).toEqual({
    level: 'error',
    message: 'request failed',
    error: 'FhirError',
    status: body.error.status,
    reason: body.error.message,
    upstream: body.error.upstream,
    requestId: expect.any(String),
    timestamp: expect.any(String),
  });
}

describe('the service when the FHIR endpoint fails', () => {
  // A service of its own for each case: GET /cohort keeps a record it has read until a run finishes.
  let service: TestService;
  beforeEach(async () => {
    service = await serviceOver(proxy.baseUrl);
  });
  afterEach(() => {
    fault = undefined;
  });

  it('answers 200 while the endpoint works (the setup is sound)', async () => {
    const res = await service.call('/cohort', { token: keys.read });
    expect(res.status).toBe(200);
  });

  it.each([
    [500, 'processing'],
    [404, 'not-found'],
    [403, 'forbidden'],
  ])(
    'answers 502 naming the request and the upstream status %i, never its error text',
    async (upstreamStatus, code) => {
      fault = {
        status: upstreamStatus,
        body: {
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'error', code, diagnostics: `no record for ${ECHOED.join(', ')}` }],
        },
      };
      const { status, body, logged } = await cohort(service);
      expect(status).toBe(502);
      expect(body.error.status).toBe(502);
      expect(body.error.upstream).toEqual({ method: 'GET', path: expect.any(String), status: upstreamStatus });
      expect(PROGRAMME_READS).toContain(body.error.upstream?.path);
      expect(body.error.message).toBe(
        `the FHIR endpoint gave an answer the connector cannot use (GET ${body.error.upstream?.path}: HTTP ${upstreamStatus})`
      );
      expectNothingEchoed(body, logged);
    }
  );

  it('answers 504 when the endpoint does not answer within fhir.timeoutMs', async () => {
    fault = 'hold';
    const { status, body, logged } = await cohort(service);
    expect(status).toBe(504);
    expect(body.error.upstream).toEqual({ method: 'GET', path: expect.any(String) });
    expect(PROGRAMME_READS).toContain(body.error.upstream?.path);
    expect(body.error.message).toBe(`the FHIR endpoint did not answer in time (GET ${body.error.upstream?.path})`);
    expectNothingEchoed(body, logged);
  });
});

describe('once the endpoint is back', () => {
  it('the next request succeeds: a failure to resolve the population is not remembered', async () => {
    const service = await startTestService(proxy.baseUrl, {
      ...serviceConfig,
      scope: { type: 'practice', ods: 'Y99001' },
    });
    services.push(service);
    fault = {
      status: 503,
      body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient' }] },
    };
    const failed = await cohort(service);
    expect(failed.status).toBe(502);
    expect(failed.body.error.upstream).toEqual({ method: 'GET', path: 'Organization', status: 503 });
    fault = undefined;
    const created = await fetch(`${fhir.baseUrl}/Organization`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Organization', identifier: [{ system: NHS_SYSTEM.ods, value: 'Y99001' }] }),
    });
    expect(created.status).toBe(201);
    expect((await service.call('/cohort', { token: keys.read })).status).toBe(200);
  });
});

describe('a run over a failing endpoint', () => {
  it('fails, and its record says which request failed, never what the endpoint said', async () => {
    const service = await serviceOver(proxy.baseUrl);
    fault = {
      status: 500,
      body: {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'exception', diagnostics: ECHOED.join(', ') }],
      },
    };
    try {
      service.runs.start({ trigger: 'api' });
      await service.runs.settled();
    } finally {
      fault = undefined;
    }
    const res = await service.call('/runs', { token: keys.read });
    const { runs } = (await res.json()) as { runs: { status: string; errors: string[] }[] };
    expect(runs[0]?.status).toBe('failed');
    expect(runs[0]?.errors).toEqual([
      expect.stringMatching(/^the FHIR endpoint gave an answer the connector cannot use \(\w+ [^ ]+: HTTP 500\)$/),
    ]);
    expectNothingEchoed(runs, JSON.stringify(service.logs));
  });
});

describe('the service over an endpoint that answers HTML', () => {
  it.each([200, 404])('answers 502 for an HTML page with HTTP %i, never its text', async (upstreamStatus) => {
    htmlStatus = upstreamStatus;
    const service = await serviceOver(`http://127.0.0.1:${(html.address() as AddressInfo).port}/fhir/R4`);
    const { status, body, logged } = await cohort(service);
    expect(status).toBe(502);
    expect(body.error.upstream).toEqual({ method: 'GET', path: expect.any(String), status: upstreamStatus });
    expect(PROGRAMME_READS).toContain(body.error.upstream?.path);
    expect(body.error.message).toMatch(/^the FHIR endpoint gave an answer the connector cannot use \(GET \w+: HTTP/);
    expectNothingEchoed(body, logged);
  });
});

describe('the service over an unreachable endpoint', () => {
  it('answers 503 naming the request', async () => {
    const service = await serviceOver(`http://127.0.0.1:${closedPort}/fhir/R4`);
    const { status, body, logged } = await cohort(service);
    expect(status).toBe(503);
    expect(body.error.upstream).toEqual({ method: 'GET', path: expect.any(String) });
    expect(PROGRAMME_READS).toContain(body.error.upstream?.path);
    expect(body.error.message).toBe(`the FHIR endpoint could not be reached (GET ${body.error.upstream?.path})`);
    expectNothingEchoed(body, logged);
  });
});
