import { Writable } from 'node:stream';
import type { Bundle, Patient } from '@medplum/fhirtypes';
import { rulesFrom } from '../../../src/cohort';
import { configSchema } from '../../../src/config';
import { FhirClient } from '../../../src/fhir';
import { createLogger } from '../../../src/logging';
import type { PatientChunk, ReadMode, ReadReport, ReadRequest } from '../../../src/read';
import { mapConcurrently, readPatients, resolvePopulation } from '../../../src/read';
import type { FaultyProxy, Fault } from '../../integration/helpers/proxy';
import { startFaultyProxy } from '../../integration/helpers/proxy';
import type { SeededServer } from '../../integration/helpers/server';
import { AS_OF, startSeededServer } from '../../integration/helpers/server';

let server: SeededServer;
const config = configSchema.parse({});
const { mapping } = rulesFrom(config);
let ids: string[];

beforeAll(async () => {
  server = await startSeededServer(60, 4);
  ids = server.truth.map((t) => t.patientId).sort();
});
afterAll(() => server.stop());

function client(baseUrl: string): FhirClient {
  return FhirClient.fromConfig({ ...config.fhir, baseUrl, chunkSize: 10, maxAttempts: 1, retryBaseDelayMs: 1 });
}

/** Reads everything the request asks for: the chunks' patient ids, the report, and the log lines. */
async function read(
  baseUrl: string,
  mode: ReadMode = { kind: 'full', via: 'search' },
  extra: Partial<ReadRequest> = {}
): Promise<{ patients: string[]; report: ReadReport; log: string[] }> {
  const log: string[] = [];
  const stream = new Writable({
    write: (chunk: Buffer, _enc, done) => {
      log.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const fhir = client(baseUrl);
  const deps = { client: fhir, mapping, logger: createLogger({ stream, format: 'json', level: 'debug' }) };
  const population = await resolvePopulation(fhir, { type: 'all' });
  const request: ReadRequest = {
    ...{ population, mode, programmePatients: [], asOf: AS_OF, dateBounds: true, concurrency: 2 },
    ...{ maxPollMs: 1000, trackNewest: false },
    ...extra,
  };
  const reading = readPatients(deps, request);
  const chunks: PatientChunk[] = [];
  for await (const chunk of reading) {
    chunks.push(chunk);
  }
  const patients = chunks.flatMap((c) => c.records.map((r) => r.patient.id as string)).sort();
  return { patients, report: reading.report(), log };
}

async function withProxy<T>(
  fault: (req: { method: string; url: string }) => Fault | undefined,
  run: (proxy: FaultyProxy) => Promise<T>
): Promise<T> {
  const proxy = await startFaultyProxy(server.baseUrl, fault);
  try {
    return await run(proxy);
  } finally {
    await proxy.stop();
  }
}

describe('reading the population', () => {
  it('by search: every patient once, with their data, and a report of a complete read', async () => {
    const { patients, report } = await read(server.baseUrl, undefined, { trackNewest: true });
    expect(patients).toEqual(ids);
    expect(report).toMatchObject({ complete: true, stopped: false, unread: [], ignoredEntries: {} });
    expect([...report.seen].sort()).toEqual(ids);
    const newest = Math.max(...server.resources.map((r) => Date.parse(r.meta?.lastUpdated ?? '') || 0));
    expect(Date.parse(report.newestData ?? '')).toBeGreaterThanOrEqual(newest);
  });

  it('by Bulk Data export: the same patients', async () => {
    const { patients, report } = await read(server.baseUrl, { kind: 'full', via: 'bulk' });
    expect(patients).toEqual(ids);
    expect(report.complete).toBe(true);
  });

  it('targeted: only the named patients, then the programme patients not seen, and says who is gone', async () => {
    const named = new Set(ids.slice(0, 3));
    const { patients, report } = await read(
      server.baseUrl,
      { kind: 'targeted', patients: named },
      { programmePatients: [ids[0] as string, ids[10] as string, 'gone'] }
    );
    expect(patients).toEqual([...named].sort());
    expect(report.complete).toBe(true);
    expect(report.unread).toEqual([]); // 'gone' and ids[10] were not targeted: not looked for
    const full = await read(server.baseUrl, undefined, { programmePatients: [ids[0] as string, 'gone'] });
    expect(full.report.unread).toEqual([
      { patient: 'Patient/gone', reason: 'in the programme but not found on the endpoint' },
    ]);
    expect(full.report.complete).toBe(true);
  });

  it('stops before the next page when asked', async () => {
    const stop = new AbortController();
    stop.abort();
    const { patients, report } = await read(server.baseUrl, undefined, { stop: stop.signal });
    expect(patients).toEqual([]);
    expect(report).toMatchObject({ stopped: true, complete: true });
  });
});

describe('a chunk that cannot be read', () => {
  const victim = () => ids[25] as string;
  const isVictimsChunk = (method: string, url: string) =>
    method === 'GET' && url.includes('/Encounter?') && decodeURIComponent(url).includes(`Patient/${victim()}`);

  it('is tried again once at the end of the read, and a success there makes the read complete', async () => {
    let failures = 0;
    await withProxy(
      ({ method, url }) => (isVictimsChunk(method, url) && ++failures === 1 ? { status: 503 } : undefined),
      async (proxy) => {
        const { patients, report, log } = await read(proxy.baseUrl);
        expect(patients).toEqual(ids);
        expect(report).toMatchObject({ complete: true, unread: [] });
        expect(log.some((l) => l.includes('chunk could not be read: tried again at the end'))).toBe(true);
        expect(log.some((l) => l.includes('chunk read on a second try'))).toBe(true);
        // The second try came after the population's last page had been read.
        const tries = proxy.seen.map((s, i) => (isVictimsChunk(...(s.split(' ') as [string, string])) ? i : -1));
        const lastPage = Math.max(...proxy.seen.map((s, i) => (/^GET \S*\/Patient\?/.test(s) ? i : -1)));
        expect(tries.filter((i) => i >= 0).pop()).toBeGreaterThan(lastPage);
      }
    );
  });

  it('leaves its patients unread, with the reason, and the read incomplete when the second try fails too', async () => {
    await withProxy(
      ({ method, url }) => (isVictimsChunk(method, url) ? { status: 503 } : undefined),
      async (proxy) => {
        const { patients, report } = await read(proxy.baseUrl);
        expect(patients).not.toContain(victim());
        expect(patients.length).toBe(50); // the other five chunks of ten
        expect(report.complete).toBe(false);
        expect(report.unread).toContainEqual({
          patient: `Patient/${victim()}`,
          reason: 'could not be read (http 503)',
        });
        expect(report.unread).toHaveLength(10);
      }
    );
  });
});

describe('Patient-search entries', () => {
  it('of another type or with no id are skipped and counted, never read as Patient/undefined', async () => {
    const real = server.resources.find((r) => r.resourceType === 'Patient' && r.id === ids[0]) as Patient;
    const { id: _id, ...nameless } = real;
    const page: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [
        { resource: real, search: { mode: 'match' } },
        { resource: nameless as Patient, search: { mode: 'match' } },
        { resource: { resourceType: 'Observation', id: 'o1', status: 'final', code: {} }, search: { mode: 'match' } },
      ],
    };
    await withProxy(
      ({ method, url }) => (method === 'GET' && /\/Patient\?/.test(url) ? { status: 200, body: page } : undefined),
      async (proxy) => {
        const { patients, report } = await read(proxy.baseUrl);
        expect(patients).toEqual([ids[0]]);
        expect(report.ignoredEntries).toEqual({ 'no id': 1, 'not a Patient': 1 });
        expect(proxy.seen.some((s) => decodeURIComponent(s).includes('undefined'))).toBe(false);
        expect(proxy.seen.some((s) => decodeURIComponent(s).includes('Patient/o1'))).toBe(false);
      }
    );
  });
});

describe('mapConcurrently', () => {
  it('asks for the next item only when a slot is free, a result held by the consumer counting as busy', async () => {
    const asked: number[] = [];
    async function* source() {
      for (let i = 0; i < 4; i++) {
        asked.push(i);
        yield i;
      }
    }
    const seenWhenConsumed: number[][] = [];
    for await (const n of mapConcurrently(source(), 1, (i) => Promise.resolve(i * 10))) {
      seenWhenConsumed.push([n, asked.length]);
    }
    expect(seenWhenConsumed).toEqual([
      [0, 1],
      [10, 2],
      [20, 3],
      [30, 4],
    ]);
    const results: number[] = [];
    for await (const n of mapConcurrently(source(), 3, (i) => Promise.resolve(i))) {
      results.push(n);
    }
    expect(results.sort()).toEqual([0, 1, 2, 3]);
  });

  it('waits for work in flight before passing on a failure', async () => {
    let finished = 0;
    async function* source() {
      yield 1;
      yield 2;
    }
    const work = async (i: number) => {
      await new Promise((r) => setTimeout(r, i === 1 ? 20 : 1));
      finished++;
      if (i === 2) {
        throw new Error('boom');
      }
      return i;
    };
    await expect(
      (async () => {
        for await (const _ of mapConcurrently(source(), 2, work)) {
          // consumed
        }
      })()
    ).rejects.toThrow('boom');
    expect(finished).toBe(2);
  });
});
