import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunRecord } from '../../src/service';
import { runCli } from './helpers/cli';
import { startFaultyProxy } from './helpers/proxy';
import type { SeededServer } from './helpers/server';
import { AS_OF, startSeededServer } from './helpers/server';
import { startTestService, testKeys } from './helpers/service';

/**
 * What a run does with answers that are not a FHIR server's: a web page, an endless chain of pages, a body with no
 * end, an error whose text echoes patient data. Each ends with a clear reason, quickly, and repeats nothing it read.
 */
interface RunJson {
  complete: boolean;
  skipped: { patient: string; reason: string }[];
  writeFailures: { target: string; reason: string }[];
}

const ECHOED = 'Jane Smith, NHS number 9434765919, born 1970-01-01';
const PATIENT_DATA = /Jane|9434765919|1970-01-01/;

let server: SeededServer;

beforeAll(async () => {
  server = await startSeededServer(60, 3);
});
afterAll(() => server.stop());

describe('an endpoint that is not a FHIR server', () => {
  let page: Server;
  const requests: string[] = [];

  beforeAll(async () => {
    page = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      res.writeHead(404, { 'Content-Type': 'text/html' }).end('<html>Not Found</html>');
    });
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise((resolve) => page.close(resolve)));

  it('says what answered and asks about fhir.baseUrl, without retrying a 404', async () => {
    const port = (page.address() as AddressInfo).port;
    const result = await runCli(['run', '--dry-run', '--fhir-base-url', `http://127.0.0.1:${port}/fhir/R4`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /hfu: FHIR endpoint: GET \w+: the endpoint answered text\/html with HTTP 404: is fhir\.baseUrl the FHIR base URL\?\n$/
    );
    expect(result.stderr).not.toMatch(/truncated|cut short|retry/);
    expect(new Set(requests).size).toBe(requests.length); // no request was repeated
  });
});

describe('a server whose next links never end', () => {
  it('ends each endless search at fhir.maxPagesPerSearch and reports its patients unread with the reason', async () => {
    let encounterPages = 0;
    const proxy = await startFaultyProxy(server.baseUrl, ({ method, url }) => {
      if (method !== 'GET' || !url.includes('/Encounter?')) {
        return undefined;
      }
      const next = `Encounter?page=${++encounterPages}`; // a new page every time: never a repeat
      return {
        status: 200,
        body: { resourceType: 'Bundle', type: 'searchset', entry: [], link: [{ relation: 'next', url: next }] },
      };
    });
    try {
      const result = await runCli(['run', '--dry-run', '--json', '--now', AS_OF], {
        HFU_FHIR__BASE_URL: proxy.baseUrl,
        HFU_FHIR__MAX_PAGES_PER_SEARCH: '5',
      });
      const json = JSON.parse(result.stdout) as RunJson;
      expect(result.code).toBe(1);
      expect(json.complete).toBe(false);
      expect(json.skipped.length).toBe(60);
      expect(new Set(json.skipped.map((s) => s.reason))).toEqual(new Set(['could not be read (paging-limit)']));
      expect(encounterPages).toBeLessThanOrEqual(5 * 4); // 60 patients: one chunk, a few Encounter searches
    } finally {
      await proxy.stop();
    }
  });
});

describe('a next link to another origin', () => {
  let elsewhere: Server;
  const stolen: string[] = [];

  beforeAll(async () => {
    elsewhere = createServer((req, res) => {
      stolen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
      res
        .writeHead(200, { 'Content-Type': 'application/fhir+json' })
        .end('{"resourceType":"Bundle","type":"searchset"}');
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise((resolve) => elsewhere.close(resolve)));

  it('is never followed: the chunk is unread with the reason, and the other origin sees no request', async () => {
    const other = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}/fhir/R4`; // another port: another origin
    const proxy = await startFaultyProxy(server.baseUrl, ({ method, url }) =>
      method === 'GET' && url.includes('/Condition?')
        ? {
            status: 200,
            body: {
              resourceType: 'Bundle',
              type: 'searchset',
              link: [{ relation: 'next', url: `${other}/Condition?p=2` }],
            },
          }
        : undefined
    );
    try {
      const result = await runCli(['run', '--dry-run', '--json', '--now', AS_OF], {
        HFU_FHIR__BASE_URL: proxy.baseUrl,
        HFU_FHIR__AUTH__TYPE: 'bearer',
        HFU_FHIR__AUTH__TOKEN: 'secret-token',
      });
      const json = JSON.parse(result.stdout) as RunJson;
      expect(result.code).toBe(1);
      expect(json.complete).toBe(false);
      expect(json.skipped).toHaveLength(60);
      expect(new Set(json.skipped.map((s) => s.reason))).toEqual(new Set(['could not be read (cross-origin)']));
      expect(stolen).toEqual([]);
    } finally {
      await proxy.stop();
    }
  });
});

describe('a response with no end', () => {
  it('fails the read at fhir.maxResponseBytes instead of filling the memory', async () => {
    const proxy = await startFaultyProxy(server.baseUrl, ({ url }) =>
      url.includes('/Patient?')
        ? {
            status: 200,
            body: { resourceType: 'Bundle', type: 'searchset', padding: 'x'.repeat(300_000) },
          }
        : undefined
    );
    try {
      const result = await runCli(['run', '--dry-run', '--json', '--now', AS_OF], {
        HFU_FHIR__BASE_URL: proxy.baseUrl,
        HFU_FHIR__MAX_RESPONSE_BYTES: String(64 * 1024),
        HFU_LOG__LEVEL: 'error',
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('"kind":"response-too-large"');
      expect((JSON.parse(result.stdout) as RunJson).complete).toBe(false);
    } finally {
      await proxy.stop();
    }
  });
});

describe("a server's error text", () => {
  const outcome = {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: 'processing', diagnostics: ECHOED, details: { text: ECHOED } }],
  };
  const echoingWrites = () =>
    startFaultyProxy(server.baseUrl, ({ method }) => (method === 'POST' ? { status: 422, body: outcome } : undefined));

  it('reaches neither GET /runs errors[] nor the service log', async () => {
    const proxy = await echoingWrites();
    const keys = testKeys();
    const service = await startTestService(proxy.baseUrl, { service: { auth: { apiKeys: keys.entries } } });
    try {
      const started = await service.call('/runs', {
        method: 'POST',
        token: keys.operate,
        body: JSON.stringify({}),
        headers: { 'Content-Type': 'application/json' },
      });
      expect(started.status).toBe(202);
      await service.runs.settled();
      const { runs } = (await (await service.call('/runs', { token: keys.read })).json()) as { runs: RunRecord[] };
      expect(runs[0]?.status).toBe('incomplete');
      expect(runs[0]?.errors.length).toBeGreaterThan(0);
      for (const error of runs[0]?.errors ?? []) {
        expect(error).toMatch(/: POST \/ failed: HTTP 422 \(OperationOutcome: processing\)$/);
      }
      expect(JSON.stringify(service.logs)).not.toMatch(PATIENT_DATA);
    } finally {
      await service.stop();
      await proxy.stop();
    }
  });

  it('reaches neither the run report, stderr nor the debug log: only the method, path, status and issue codes', async () => {
    const proxy = await echoingWrites();
    try {
      const result = await runCli(['run', '--json', '--now', AS_OF], {
        HFU_FHIR__BASE_URL: proxy.baseUrl,
        HFU_LOG__LEVEL: 'debug',
      });
      const json = JSON.parse(result.stdout) as RunJson;
      expect(result.code).toBe(1);
      expect(json.writeFailures.length).toBeGreaterThan(0);
      for (const failure of json.writeFailures) {
        expect(failure.reason).toBe('POST / failed: HTTP 422 (OperationOutcome: processing)');
      }
      expect(result.stdout).not.toMatch(PATIENT_DATA);
      expect(result.stderr).not.toMatch(PATIENT_DATA);
    } finally {
      await proxy.stop();
    }
  });
});
