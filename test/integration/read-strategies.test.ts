import { configSchema } from '../../src/config';
import type { RunningFhirServer } from '../../src/server';
import { startFhirServer } from '../../src/server';
import { expectedTiers, GUIDANCE } from '../helpers/tiers';
import { runCli } from './helpers/cli';
import type { FaultyProxy } from './helpers/proxy';
import { startFaultyProxy } from './helpers/proxy';
import type { SeededServer } from './helpers/server';
import { AS_OF, startSeededServer } from './helpers/server';

// A full run (writing) against the embedded server as itself and behaving like other servers, with the read
// strategy and limits that suit each. The cohort expected is computed from the seeded resources (expectedTiers).

// More patients than fhir.chunkSize (100), so that an or-list is split by fhir.maxUrlLength and not by the chunk size;
// a lower repeat-medicines threshold than the programme's, so that so few patients still hold a mix of candidates.
const PATIENTS = 150;
const REPEAT_ITEMS = 1;

interface RunJson {
  complete: boolean;
  population: number;
  candidates: { patient: string; tier: string }[];
  skipped: { patient: string; reason: string }[];
  writes: { created: number; updated: number; unchanged: number; provenance: number };
  writeFailures: unknown[];
}

async function hfuRun(
  baseUrl: string,
  env: Record<string, string>
): Promise<{ code: number; json: RunJson; stderr: string }> {
  const result = await runCli(['run', '--json', '--now', AS_OF], { HFU_FHIR__BASE_URL: baseUrl, ...env });
  return { code: result.code, json: JSON.parse(result.stdout || '{}') as RunJson, stderr: result.stderr };
}

/** The absolute URL of each request the proxy saw, as the client sent it. */
const urlsOf = (proxy: FaultyProxy) =>
  proxy.seen.map((s) => new URL(s.slice(s.indexOf(' ') + 1), proxy.baseUrl).toString());

describe.each([
  { behave: 'default', subjectSearch: 'or-list', maxUrlLength: 1500, target: false },
  { behave: 'hapi', subjectSearch: 'or-list', maxUrlLength: 1500, target: false },
  { behave: 'hapi', subjectSearch: 'everything', maxUrlLength: 8000, target: false },
  { behave: 'minimal', subjectSearch: 'per-patient', maxUrlLength: 8000, target: false },
  // a shared care record: read-only, the record kept on a separate writable store (writeback.fhir)
  { behave: 'read-only', subjectSearch: 'everything', maxUrlLength: 8000, target: true },
] as const)('a full run on a $behave server, by $subjectSearch', ({ behave, subjectSearch, maxUrlLength, target }) => {
  let server: SeededServer;
  let store: RunningFhirServer | undefined;
  let proxy: FaultyProxy;
  const expected = new Map<string, string>();
  const env: Record<string, string> = {
    HFU_EXTRACT__SUBJECT_SEARCH: subjectSearch,
    HFU_FHIR__MAX_URL_LENGTH: String(maxUrlLength),
    HFU_WRITEBACK__STRATEGY: 'auto',
    HFU_PROGRAMME__PARAMETERS__REPEAT_ITEMS: String(REPEAT_ITEMS),
  };
  beforeAll(async () => {
    server = await startSeededServer(PATIENTS, 2, { behave });
    proxy = await startFaultyProxy(server.baseUrl, () => undefined);
    if (target) {
      store = await startFhirServer();
      env.HFU_WRITEBACK__FHIR__BASE_URL = store.baseUrl;
    }
    for (const [patientId, tier] of expectedTiers(server.resources, AS_OF, {
      ...GUIDANCE,
      repeatItems: REPEAT_ITEMS,
    })) {
      expected.set(`Patient/${patientId}`, tier);
    }
  });
  afterAll(async () => {
    await proxy.stop();
    await Promise.all([server.stop(), store?.stop()]);
  });

  it('finds the cohort the records hold, writes it, and a second run writes nothing', async () => {
    const { code, json, stderr } = await hfuRun(proxy.baseUrl, env);
    expect({ code, stderr: code ? stderr.slice(-2000) : '' }).toEqual({ code: 0, stderr: '' });
    expect(json).toMatchObject({ complete: true, population: PATIENTS, skipped: [], writeFailures: [] });
    expect(expected.size).toBeGreaterThan(2);
    expect(expected.size).toBeLessThan(PATIENTS);
    expect(new Map(json.candidates.map((c) => [c.patient, c.tier]))).toEqual(expected);
    expect(json.writes).toMatchObject({ created: expected.size + 1, provenance: expected.size + 1 });
    const again = await hfuRun(proxy.baseUrl, env);
    expect(again.json.writes).toMatchObject({ created: 0, updated: 0, provenance: 0 });
    expect(proxy.seen.filter((s) => !s.startsWith('GET ')).length > 0).toBe(!target); // a read-only source: only read
  });

  it(`sent no URL longer than fhir.maxUrlLength (${maxUrlLength} bytes)`, () => {
    const lengths = urlsOf(proxy).map((url) => Buffer.byteLength(url));
    expect(Math.max(...lengths)).toBeLessThanOrEqual(maxUrlLength);
    if (subjectSearch === 'or-list') {
      // the limit, not fhir.chunkSize (100), decided how many patients went in one search
      expect(PATIENTS).toBeGreaterThan(configSchema.parse({}).fhir.chunkSize);
      const lists = urlsOf(proxy)
        .filter((url) => url.includes('/Encounter?'))
        .map((url) => new URL(url).searchParams.get('subject')?.split(',').length ?? 0);
      expect(Math.max(...lists)).toBeLessThan(100);
      expect(lists.reduce((a, b) => a + b, 0)).toBe(PATIENTS * 2); // each patient once a run, two runs
    }
  });
});

describe('a read strategy the server cannot answer', () => {
  let server: SeededServer;
  beforeAll(async () => {
    server = await startSeededServer(20, 3, { behave: 'minimal' });
  });
  afterAll(() => server.stop());

  it('everything, where $everything is not declared: a configuration error naming the key, before any write', async () => {
    const before = server.repo.countsByType();
    const { code, stderr } = await hfuRun(server.baseUrl, { HFU_EXTRACT__SUBJECT_SEARCH: 'everything' });
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/extract\.subjectSearch: everything needs Patient\/\[id\]\/\$everything/);
    expect(server.repo.countsByType()).toEqual(before);
  });

  it('or-list, where lists of references are refused: every patient unread with the reason, none proposed', async () => {
    const { code, json } = await hfuRun(server.baseUrl, { HFU_WRITEBACK__STRATEGY: 'auto' });
    const { Task, Flag, CarePlan } = server.repo.countsByType();
    expect({ Task, Flag, CarePlan }).toEqual({ Task: undefined, Flag: undefined, CarePlan: undefined });
    expect(code).toBe(1);
    expect(json.complete).toBe(false);
    expect(json.skipped).toHaveLength(20);
    expect(new Set(json.skipped.map((s) => s.reason))).toEqual(new Set(['could not be read (http 400)']));
  });
});
