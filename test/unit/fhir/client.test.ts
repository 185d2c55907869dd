import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import type { FhirConfig } from '../../../src/config';
import { configSchema } from '../../../src/config';
import { FhirClient, FhirError } from '../../../src/fhir';

const BASE = 'http://fhir.test/R4';
const ORIGIN = 'http://fhir.test';

function client(overrides: Partial<FhirConfig> = {}, deps: { now?: () => number } = {}): FhirClient {
  const fhir = configSchema.parse({
    fhir: { baseUrl: BASE, retryBaseDelayMs: 1, retryMaxDelayMs: 5, timeoutMs: 2000, ...overrides },
  }).fhir;
  return FhirClient.fromConfig({ ...fhir, baseUrl: BASE }, { random: () => 0, ...deps });
}

const bundle = (ids: string[], next?: string) => ({
  resourceType: 'Bundle',
  type: 'searchset',
  entry: ids.map((id) => ({ resource: { resourceType: 'Patient', id }, search: { mode: 'match' } })),
  link: next ? [{ relation: 'next', url: next }] : [],
});

async function failure(promise: Promise<unknown>): Promise<FhirError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof FhirError) {
      return err;
    }
    throw err;
  }
  throw new Error('expected the call to fail');
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(() => nock.enableNetConnect());

describe('retries', () => {
  it('retries a 429 and returns the next success', async () => {
    const scope = nock(ORIGIN)
      .get('/R4/Patient/a')
      .reply(429)
      .get('/R4/Patient/a')
      .reply(200, { resourceType: 'Patient', id: 'a' });
    const patient = await client().read('Patient', 'a');
    expect(patient.id).toBe('a');
    expect(scope.isDone()).toBe(true);
  });

  it('waits at least as long as Retry-After asks', async () => {
    nock(ORIGIN)
      .get('/R4/Patient/a')
      .reply(503, '', { 'Retry-After': '1' })
      .get('/R4/Patient/a')
      .reply(200, { resourceType: 'Patient', id: 'a' });
    const started = Date.now();
    await client().read('Patient', 'a');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('gives up without waiting when Retry-After exceeds the configured maximum', async () => {
    const scope = nock(ORIGIN).get('/R4/Patient/a').reply(429, '', { 'Retry-After': '3600' });
    const err = await failure(client({ maxRetryAfterMs: 10_000 }).read('Patient', 'a'));
    expect(err.kind).toBe('retry-after-too-long');
    expect(err.message).toContain('3600 s');
    expect(scope.isDone()).toBe(true);
  });

  it('gives up after maxAttempts in a 503 storm', async () => {
    let calls = 0;
    nock(ORIGIN)
      .get('/R4/Patient/a')
      .times(10)
      .reply(() => {
        calls++;
        return [
          503,
          {
            resourceType: 'OperationOutcome',
            issue: [{ severity: 'error', code: 'transient', diagnostics: 'overloaded' }],
          },
        ];
      });
    const err = await failure(client({ maxAttempts: 3 }).read('Patient', 'a'));
    expect(calls).toBe(3);
    expect(err.status).toBe(503);
    expect(err.attempts).toBe(3);
    expect(err.message).toBe('GET Patient/a failed: HTTP 503 (OperationOutcome: transient) (gave up after 3 attempts)');
  });

  it('retries a 429 for as long as the waiting budget lasts, not for maxAttempts', async () => {
    let calls = 0;
    nock(ORIGIN)
      .get('/R4/Patient/a')
      .times(8)
      .reply(() => [++calls < 8 ? 429 : 200, { resourceType: 'Patient', id: 'a' }, { 'Retry-After': '0' }]);
    await expect(client({ maxAttempts: 2 }).read('Patient', 'a')).resolves.toMatchObject({ id: 'a' });
    expect(calls).toBe(8);
  });

  it('gives up on a 429 once the next wait would exceed fhir.retry.maxWaitSeconds', async () => {
    let calls = 0;
    nock(ORIGIN)
      .get('/R4/Patient/a')
      .times(5)
      .reply(() => [(calls++, 429), '', { 'Retry-After': '1' }]);
    const started = Date.now();
    const err = await failure(client({ maxAttempts: 20, retry: { maxWaitSeconds: 1 } }).read('Patient', 'a'));
    expect(calls).toBe(2); // waited 1 s once; a second wait would make 2 s
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(err.status).toBe(429);
    expect(err.message).toContain('fhir.retry.maxWaitSeconds is 1');
  });

  it('retries a 408 (the server timed out waiting for the request)', async () => {
    nock(ORIGIN).get('/R4/Patient/a').reply(408).get('/R4/Patient/a').reply(200, { resourceType: 'Patient', id: 'a' });
    await expect(client().read('Patient', 'a')).resolves.toMatchObject({ id: 'a' });
  });

  it('retries network errors on idempotent requests', async () => {
    nock(ORIGIN)
      .get('/R4/Patient/a')
      .replyWithError({ code: 'ECONNRESET', message: 'socket hang up' })
      .get('/R4/Patient/a')
      .reply(200, { resourceType: 'Patient', id: 'a' });
    await expect(client().read('Patient', 'a')).resolves.toMatchObject({ id: 'a' });
  });

  it('does not repeat a non-idempotent POST after a network error or a 502', async () => {
    let calls = 0;
    nock(ORIGIN)
      .post('/R4/Patient')
      .times(3)
      .reply(() => {
        calls++;
        return [502, ''];
      });
    const err = await failure(client().create({ resourceType: 'Patient' }));
    expect(err.status).toBe(502);
    expect(calls).toBe(1);
  });

  it('does not retry other 4xx and reports the issue codes, never the OperationOutcome text', async () => {
    let calls = 0;
    nock(ORIGIN)
      .get('/R4/Encounter')
      .query(true)
      .times(3)
      .reply(() => {
        calls++;
        return [
          400,
          {
            resourceType: 'OperationOutcome',
            issue: [{ severity: 'error', code: 'invalid', details: { text: "Unknown search parameter 'foo'" } }],
          },
        ];
      });
    const err = await failure(client().searchAll('Encounter', { foo: 'x' }));
    expect(calls).toBe(1);
    expect(err.status).toBe(400);
    expect(err.message).toBe('GET Encounter failed: HTTP 400 (OperationOutcome: invalid)');
    expect(JSON.stringify(err.outcome)).not.toContain('Unknown');
  });

  it.each([403, 404, 409, 422])('does not retry a %i', async (status) => {
    let calls = 0;
    nock(ORIGIN)
      .get('/R4/Patient/a')
      .times(3)
      .reply(() => [(calls++, status), { resourceType: 'OperationOutcome', issue: [] }]);
    const err = await failure(client().read('Patient', 'a'));
    expect([calls, err.kind, err.status]).toEqual([1, 'http', status]);
  });

  it('never puts the text of a server error in the message, even when it echoes patient data', async () => {
    const echoed = 'Jane Smith, NHS number 9434765919, born 1970-01-01';
    nock(ORIGIN)
      .get('/R4/Patient/a')
      .reply(500, {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'exception', diagnostics: echoed, details: { text: echoed } }],
      })
      .get('/R4/Patient/b')
      .reply(500, echoed, { 'Content-Type': 'text/plain' });
    for (const id of ['a', 'b']) {
      const err = await failure(client().read('Patient', id));
      expect(err.status).toBe(500);
      expect(`${err.message} ${JSON.stringify(err.outcome)}`).not.toMatch(/Jane|9434765919|1970/);
    }
  });
});

describe('timeouts and bodies', () => {
  it('times out a slow response and retries it', async () => {
    nock(ORIGIN)
      .get('/R4/Patient/a')
      .delay(500)
      .reply(200, { resourceType: 'Patient', id: 'slow' })
      .get('/R4/Patient/a')
      .reply(200, { resourceType: 'Patient', id: 'a' });
    await expect(client({ timeoutMs: 100 }).read('Patient', 'a')).resolves.toMatchObject({ id: 'a' });
  });

  it('reports a timeout once the attempts are used up', async () => {
    nock(ORIGIN).get('/R4/Patient/a').times(2).delay(500).reply(200, { resourceType: 'Patient', id: 'a' });
    const err = await failure(client({ timeoutMs: 100, maxAttempts: 2 }).read('Patient', 'a'));
    expect(err.kind).toBe('timeout');
    expect(err.attempts).toBe(2);
  });

  it('treats a truncated JSON body as a clear, retryable error', async () => {
    nock(ORIGIN)
      .get('/R4/Patient')
      .query(true)
      .reply(200, '{"resourceType":"Bundle","type":"searchset","entry":[{"reso');
    const err = await failure(client({ maxAttempts: 1 }).searchAll('Patient'));
    expect(err.kind).toBe('invalid-response');
    expect(err.truncated).toBe(true);
    expect(err.message).toMatch(/^GET Patient: the response \(HTTP 200\) ends before its JSON does: it was cut short/);

    nock(ORIGIN)
      .get('/R4/Patient')
      .query(true)
      .reply(200, '{"resourceType":"Bundle","ent')
      .get('/R4/Patient')
      .query(true)
      .reply(200, bundle(['a']));
    await expect(client().searchAll('Patient')).resolves.toHaveLength(1);
  });
});

describe('answers that are not FHIR', () => {
  const html = { 'Content-Type': 'text/html; charset=utf-8' };

  it('names the content type of an HTML 404 and does not retry it', async () => {
    let calls = 0;
    nock(ORIGIN)
      .get('/R4/Patient/a')
      .times(3)
      .reply(() => [(calls++, 404), '<html>Not Found</html>', html]);
    const err = await failure(client().read('Patient', 'a'));
    expect([calls, err.kind, err.status]).toEqual([1, 'http', 404]);
    expect(err.message).toBe(
      'GET Patient/a: the endpoint answered text/html with HTTP 404: is fhir.baseUrl the FHIR base URL?'
    );
  });

  it('refuses an HTML 200 (a login page) at once, and says what it is', async () => {
    let calls = 0;
    nock(ORIGIN)
      .get('/R4/Patient')
      .query(true)
      .times(3)
      .reply(() => [(calls++, 200), '<html><form>Sign in</form></html>', html]);
    const err = await failure(client().searchAll('Patient'));
    expect([calls, err.kind, err.status, err.truncated]).toEqual([1, 'invalid-response', 200, false]);
    expect(err.message).toContain('answered text/html with HTTP 200: is fhir.baseUrl the FHIR base URL?');
  });

  it('checks the status before the body: an HTML 503 from a gateway is retried', async () => {
    nock(ORIGIN)
      .get('/R4/Patient/a')
      .reply(503, '<html>Service Unavailable</html>', html)
      .get('/R4/Patient/a')
      .reply(200, { resourceType: 'Patient', id: 'a' });
    await expect(client().read('Patient', 'a')).resolves.toMatchObject({ id: 'a' });
  });

  it('calls a complete but malformed JSON body invalid, not truncated, and does not retry it', async () => {
    let calls = 0;
    nock(ORIGIN)
      .get('/R4/Patient/a')
      .times(3)
      .reply(() => [(calls++, 200), '{"resourceType":"Patient"}}', { 'Content-Type': 'application/fhir+json' }]);
    const err = await failure(client().read('Patient', 'a'));
    expect([calls, err.kind, err.truncated]).toEqual([1, 'invalid-response', false]);
    expect(err.message).toBe('GET Patient/a: the response (HTTP 200) is not valid JSON');
  });
});

describe('response size', () => {
  it('refuses a body whose declared length exceeds fhir.maxResponseBytes', async () => {
    nock(ORIGIN)
      .get('/R4/Patient/a')
      .reply(200, JSON.stringify({ resourceType: 'Patient', id: 'a', text: 'x'.repeat(5000) }), {
        'Content-Type': 'application/fhir+json',
        'Content-Length': '5037',
      });
    const err = await failure(client({ maxResponseBytes: 1024 }).read('Patient', 'a'));
    expect(err.kind).toBe('response-too-large');
    expect(err.message).toBe('GET Patient/a: the response is larger than fhir.maxResponseBytes (1024 bytes)');
  });

  it('refuses an ndjson line longer than the limit', async () => {
    const line = (id: string) => JSON.stringify({ resourceType: 'Patient', id });
    nock(ORIGIN)
      .get('/R4/files/Patient.ndjson')
      .reply(200, `${line('a')}\n${line('b')}\n{"resourceType":"Patient","text":"${'x'.repeat(5000)}"}\n`);
    const transport = client({ maxResponseBytes: 1024 }).transport;
    const seen: string[] = [];
    const err = await failure(
      (async () => {
        for await (const l of transport.lines(`${BASE}/files/Patient.ndjson`, { authorize: true })) {
          seen.push(l);
        }
      })()
    );
    expect(err.kind).toBe('response-too-large');
    expect(seen.length).toBeLessThanOrEqual(2);
  });

  it('stops reading an endless body once it passes the limit', async () => {
    let sent = 0;
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/fhir+json' });
      res.write('{"resourceType":"Bundle","entry":[');
      const more = (): void => {
        // Endless to the client, but never more than 8 MB here: the test must not be what fills the memory.
        while (sent < 8 * 1024 * 1024 && !res.destroyed) {
          sent += 16 * 1024;
          if (!res.write(' '.repeat(16 * 1024))) {
            res.once('drain', more);
            return;
          }
        }
        res.end();
      };
      more();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    nock.enableNetConnect('127.0.0.1');
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/R4`;
      const fhir = configSchema.parse({ fhir: { baseUrl: base, maxResponseBytes: 64 * 1024 } }).fhir;
      const err = await failure(FhirClient.fromConfig({ ...fhir, baseUrl: base }).searchAll('Patient'));
      expect(err.kind).toBe('response-too-large');
      expect(sent).toBeLessThan(4 * 1024 * 1024);
    } finally {
      nock.disableNetConnect();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('paging', () => {
  it('ends an endless chain of distinct next links at fhir.maxPagesPerSearch', async () => {
    let calls = 0;
    nock(ORIGIN)
      .get('/R4/Encounter')
      .query(true)
      .times(100)
      .reply(() => {
        calls++;
        return [200, { ...bundle([]), link: [{ relation: 'next', url: `${BASE}/Encounter?page=${calls}` }] }];
      });
    const err = await failure(client({ maxPagesPerSearch: 5 }).searchAll('Encounter', { subject: 'Patient/a' }));
    expect(calls).toBe(5);
    expect(err.kind).toBe('paging-limit');
    expect(err.message).toBe(
      "Encounter search: more than 5 pages or 5000 resources (fhir.maxPagesPerSearch × fhir.pageSize): the server's next links do not end"
    );
  });

  it('ends a search whose pages hold more resources than the pages allow', async () => {
    let calls = 0;
    const ids = [...Array(10).keys()].map(String);
    nock(ORIGIN)
      .get('/R4/Patient')
      .query(true)
      .times(10)
      .reply(() => [200, bundle(ids, `${BASE}/Patient?page=${++calls}`)]);
    const err = await failure(client({ pageSize: 2, maxPagesPerSearch: 3 }).searchAll('Patient'));
    expect([calls, err.kind]).toEqual([1, 'paging-limit']);
  });

  it('follows next links to the last page', async () => {
    nock(ORIGIN)
      .get('/R4/Patient')
      .query({ _count: '2' })
      .reply(200, bundle(['a', 'b'], `${BASE}/Patient?_count=2&_offset=2`))
      .get('/R4/Patient')
      .query({ _count: '2', _offset: '2' })
      .reply(200, bundle(['c', 'd'], `${BASE}/Patient?_count=2&_offset=4`))
      .get('/R4/Patient')
      .query({ _count: '2', _offset: '4' })
      .reply(200, bundle(['e']));
    const patients = await client({ pageSize: 2 }).searchAll('Patient');
    expect(patients.map((p) => p.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('refuses a next link to another origin and never contacts it', async () => {
    const evil = nock('http://evil.test')
      .get(/.*/)
      .reply(200, bundle(['stolen']));
    nock(ORIGIN, { reqheaders: { authorization: 'Bearer secret-token' } })
      .get('/R4/Patient')
      .query(true)
      .reply(200, bundle(['a'], 'http://evil.test/R4/Patient?page=2'));
    const err = await failure(client({ auth: { type: 'bearer', token: 'secret-token' } }).searchAll('Patient'));
    expect(err.kind).toBe('cross-origin');
    expect(err.message).toContain('http://evil.test');
    expect(evil.isDone()).toBe(false);
  });

  it('refuses a redirect to another origin but follows one on the same origin with the token', async () => {
    const evil = nock('http://evil.test').get(/.*/).reply(200, { resourceType: 'Patient', id: 'x' });
    nock(ORIGIN).get('/R4/Patient/a').reply(302, '', { Location: 'http://evil.test/R4/Patient/a' });
    const err = await failure(client({ auth: { type: 'bearer', token: 't' } }).read('Patient', 'a'));
    expect(err.kind).toBe('cross-origin');
    expect(evil.isDone()).toBe(false);

    nock(ORIGIN)
      .get('/R4/Patient/b')
      .reply(301, '', { Location: '/R4/Patient/b2' })
      .get('/R4/Patient/b2')
      .matchHeader('authorization', 'Bearer t')
      .reply(200, { resourceType: 'Patient', id: 'b2' });
    await expect(client({ auth: { type: 'bearer', token: 't' } }).read('Patient', 'b')).resolves.toMatchObject({
      id: 'b2',
    });
  });

  it('stops with an error when a next link repeats an earlier page', async () => {
    nock(ORIGIN)
      .get('/R4/Patient')
      .query({ _count: '1000' })
      .reply(200, bundle(['a'], `${BASE}/Patient?_count=1000&_offset=1`))
      .get('/R4/Patient')
      .query({ _count: '1000', _offset: '1' })
      .reply(200, bundle(['b'], `${BASE}/Patient?_count=1000&_offset=1`));
    const err = await failure(client().searchAll('Patient'));
    expect(err.kind).toBe('paging-loop');
  });

  it('searches by many subjects at once, in chunks', async () => {
    const seen: string[] = [];
    nock(ORIGIN)
      .get('/R4/Encounter')
      .query(true)
      .times(3)
      .reply((uri) => {
        const subject = new URL(uri, ORIGIN).searchParams.get('subject') ?? '';
        seen.push(subject);
        return [200, { resourceType: 'Bundle', type: 'searchset', entry: [] }];
      });
    const chunks = [];
    for await (const chunk of client({ chunkSize: 2 }).searchBySubjects('Encounter', 'subject', [
      'a',
      'b',
      'c',
      'd',
      'e',
    ])) {
      chunks.push(chunk.patientIds);
    }
    expect(chunks).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(seen).toEqual(['Patient/a,Patient/b', 'Patient/c,Patient/d', 'Patient/e']);
  });
});

describe('URL length', () => {
  const ids = Array.from({ length: 40 }, (_, i) => `patient-${String(i).padStart(3, '0')}-abcdefgh`);

  it('splits a list of patients so that no search URL, base included, passes fhir.maxUrlLength', async () => {
    const urls: string[] = [];
    nock(ORIGIN)
      .get('/R4/Encounter')
      .query(true)
      .times(40)
      .reply((uri) => {
        urls.push(`${ORIGIN}${uri}`);
        return [200, { resourceType: 'Bundle', type: 'searchset', entry: [] }];
      });
    const chunks: string[][] = [];
    const params = { date: 'ge2025-11-23' };
    for await (const chunk of client({ maxUrlLength: 400 }).searchBySubjects('Encounter', 'subject', ids, params)) {
      chunks.push(chunk.patientIds);
    }
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.flat()).toEqual(ids); // every patient once, in order
    expect(Math.max(...urls.map((u) => Buffer.byteLength(u)))).toBeLessThanOrEqual(400);
    const asked = urls.map((u) => new URL(u).searchParams.get('subject')?.split(',') ?? []);
    expect(asked.map((subjects) => subjects.map((s) => s.replace('Patient/', '')))).toEqual(chunks);
    // as full as the limit allows: one more patient would have passed it
    for (const [i, url] of urls.slice(0, -1).entries()) {
      const next = encodeURIComponent(`,Patient/${chunks[i + 1]?.[0]}`);
      expect(Buffer.byteLength(url) + next.length).toBeGreaterThan(400);
    }
  });

  it('keeps to fhir.chunkSize when the URL is short enough', async () => {
    nock(ORIGIN).get('/R4/Encounter').query(true).times(4).reply(200, { resourceType: 'Bundle', type: 'searchset' });
    const sizes: number[] = [];
    for await (const chunk of client({ chunkSize: 15 }).searchBySubjects('Encounter', 'subject', ids)) {
      sizes.push(chunk.patientIds.length);
    }
    expect(sizes).toEqual([15, 15, 10]);
  });

  it('fails a search whose one patient alone passes the limit, naming the setting, without sending it', async () => {
    const scope = nock(ORIGIN).get(/.*/).reply(200, { resourceType: 'Bundle', type: 'searchset' });
    const searches = client({ maxUrlLength: 256 }).searchBySubjects('Encounter', 'subject', ['x'.repeat(300)]);
    const err = await failure(searches.next());
    expect(err.kind).toBe('url-too-long');
    expect(err.message).toMatch(/longer than fhir\.maxUrlLength \(256\)/);
    expect(err.message).not.toContain('xxx');
    expect(scope.isDone()).toBe(false);
  });
});

describe('next links and totals', () => {
  it('follows next links as given, whatever their parameters, to the page without one; no total needed', async () => {
    nock(ORIGIN)
      .get('/R4/Patient')
      .query({ _count: '2' })
      .reply(200, bundle(['a', 'b'], `${BASE}?_getpages=9f3c&_getpagesoffset=2&_count=2&_bundletype=searchset`))
      .get('/R4')
      .query({ _getpages: '9f3c', _getpagesoffset: '2', _count: '2', _bundletype: 'searchset' })
      .reply(200, bundle(['c'], `${BASE}/opaque/cursor/XyZ==`))
      .get('/R4/opaque/cursor/XyZ==')
      .reply(200, bundle(['d']));
    const patients = await client({ pageSize: 2 }).searchAll('Patient');
    expect(patients.map((p) => p.id)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('pages Patient/[id]/$everything the same way', async () => {
    nock(ORIGIN)
      .get('/R4/Patient/p1/$everything')
      .query({ _count: '1000', _type: 'Encounter' })
      .reply(200, bundle(['p1'], `${BASE}?_getpages=e1&_getpagesoffset=1`))
      .get('/R4')
      .query({ _getpages: 'e1', _getpagesoffset: '1' })
      .reply(200, bundle(['p2']));
    const pages = [];
    for await (const page of client().everything('p1', { _type: 'Encounter' })) {
      pages.push(page.entry?.map((e) => e.resource?.id));
    }
    expect(pages).toEqual([['p1'], ['p2']]);
  });
});

describe('concurrency', () => {
  it('keeps at most `concurrency` requests in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    nock(ORIGIN)
      .get(/\/R4\/Patient\/\d+/)
      .times(8)
      .reply(async (uri) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await new Promise((r) => setTimeout(r, 30));
        inFlight--;
        return [200, { resourceType: 'Patient', id: uri.split('/').pop() }];
      });
    const c = client({ concurrency: 2 });
    const results = await Promise.all([...Array(8).keys()].map((i) => c.read('Patient', String(i))));
    expect(results).toHaveLength(8);
    expect(peak).toBe(2);
  });
});

describe('writes', () => {
  it('sends If-None-Exist on a conditional create and reports whether it created', async () => {
    nock(ORIGIN)
      .post('/R4/Task')
      .matchHeader('if-none-exist', 'identifier=https%3A%2F%2Fid.test%7Cabc')
      .reply(201, { resourceType: 'Task', id: 't1' })
      .post('/R4/Task')
      .matchHeader('if-none-exist', 'identifier=https%3A%2F%2Fid.test%7Cabc')
      .reply(200, { resourceType: 'Task', id: 't1' });
    const c = client();
    const task = { resourceType: 'Task', status: 'requested', intent: 'proposal' } as const;
    const first = await c.create(task, { ifNoneExist: { identifier: 'https://id.test|abc' } });
    const second = await c.create(task, { ifNoneExist: { identifier: 'https://id.test|abc' } });
    expect([first.created, second.created]).toEqual([true, false]);
  });

  it('sends a conditional update to Type?criteria and If-Match on a versioned update', async () => {
    nock(ORIGIN)
      .put('/R4/Flag')
      .query({ identifier: 'https://id.test|f1' })
      .reply(200, { resourceType: 'Flag', id: 'f' })
      .put('/R4/Flag/f')
      .matchHeader('if-match', 'W/"3"')
      .reply(412, {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'conflict', diagnostics: 'stale' }],
      });
    const c = client();
    const flag = { resourceType: 'Flag', status: 'active', code: {}, subject: { reference: 'Patient/a' } } as const;
    const result = await c.conditionalUpdate(flag, { identifier: 'https://id.test|f1' });
    expect(result).toMatchObject({ created: false, resource: { id: 'f' } });
    const err = await failure(c.update({ ...flag, id: 'f' }, { ifMatch: '3' }));
    expect(err.status).toBe(412);
    expect(err.message).toBe('PUT Flag/f failed: HTTP 412 (OperationOutcome: conflict)');
  });

  it('posts batch and transaction bundles to the base URL', async () => {
    const types: string[] = [];
    nock(ORIGIN)
      .post('/R4/', (body: { type: string }) => {
        types.push(body.type);
        return true;
      })
      .times(2)
      .reply(200, { resourceType: 'Bundle', type: 'transaction-response', entry: [] });
    const c = client();
    await c.batch({ resourceType: 'Bundle', type: 'batch', entry: [] });
    await c.transaction({ resourceType: 'Bundle', type: 'transaction', entry: [] });
    expect(types).toEqual(['batch', 'transaction']);
  });
});

describe('authentication', () => {
  const smartConfig = { token_endpoint: 'http://auth.test/token' };

  it('discovers the token endpoint, caches the token and renews it before expiry', async () => {
    let now = 1_000_000;
    let issued = 0;
    nock(ORIGIN).get('/R4/.well-known/smart-configuration').reply(200, smartConfig);
    nock('http://auth.test')
      .post(
        '/token',
        (body: Record<string, string>) => body.grant_type === 'client_credentials' && body.scope === 'system/*.rs'
      )
      .basicAuth({ user: 'hfu', pass: 's3cret' })
      .times(2)
      .reply(() => [200, { access_token: `token-${++issued}`, expires_in: 300, token_type: 'bearer' }]);
    const used: string[] = [];
    nock(ORIGIN)
      .get(/\/R4\/Patient\/.+/)
      .times(3)
      .reply(function () {
        used.push(String(this.req.headers.authorization));
        return [200, { resourceType: 'Patient', id: 'a' }];
      });
    const c = client(
      { auth: { type: 'client-credentials', clientId: 'hfu', clientSecret: 's3cret', scope: 'system/*.rs' } },
      { now: () => now }
    );
    await c.read('Patient', 'a');
    now += 200_000; // still more than the refresh margin before expiry
    await c.read('Patient', 'b');
    now += 50_000; // within the margin: renew before the request leaves
    await c.read('Patient', 'c');
    expect(used).toEqual(['Bearer token-1', 'Bearer token-1', 'Bearer token-2']);
  });

  it('fetches a new token once after a 401', async () => {
    let issued = 0;
    nock('http://auth.test')
      .post('/token')
      .times(2)
      .reply(() => [200, { access_token: `token-${++issued}`, expires_in: 3600 }]);
    nock(ORIGIN)
      .get('/R4/Patient/a')
      .matchHeader('authorization', 'Bearer token-1')
      .reply(401)
      .get('/R4/Patient/a')
      .matchHeader('authorization', 'Bearer token-2')
      .reply(200, { resourceType: 'Patient', id: 'a' });
    const c = client({
      auth: { type: 'client-credentials', clientId: 'hfu', clientSecret: 'x', tokenUrl: 'http://auth.test/token' },
    });
    await expect(c.read('Patient', 'a')).resolves.toMatchObject({ id: 'a' });
    expect(issued).toBe(2);
  });

  it('reports a refused token request without echoing the secret', async () => {
    nock('http://auth.test').post('/token').reply(401, { error: 'invalid_client' });
    const c = client({
      auth: {
        type: 'client-credentials',
        clientId: 'hfu',
        clientSecret: 'top-secret',
        tokenUrl: 'http://auth.test/token',
      },
    });
    const err = await failure(c.read('Patient', 'a'));
    expect(err.kind).toBe('auth');
    expect(err.message).toContain('invalid_client');
    expect(err.message).not.toContain('top-secret');
  });
});
