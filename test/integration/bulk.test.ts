import type { Group } from '@medplum/fhirtypes';
import { configSchema } from '../../src/config';
import { FhirClient } from '../../src/fhir';
import { MANAGED_TAG, token } from '../../src/vocabulary';
import { runCli } from './helpers/cli';
import { startFaultyProxy } from './helpers/proxy';
import type { SeededServer } from './helpers/server';
import { AS_OF, startSeededServer } from './helpers/server';

const PATIENTS = 800; // six candidates, as in 1,000

let server: SeededServer;
beforeAll(async () => {
  server = await startSeededServer(PATIENTS, 3);
});
afterAll(() => server.stop());

interface Report {
  complete: boolean;
  population: number;
  tiers: Record<string, number>;
  candidates: { patient: string; tier: string; features: unknown; evidence: unknown }[];
  proposed: string[];
  excluded: Record<string, number>;
  skipped: unknown[];
}

async function dryRun(mode: 'search' | 'bulk', env: Record<string, string> = {}) {
  const { code, stdout, stderr } = await runCli(['run', '--dry-run', '--json', '--now', AS_OF], {
    HFU_FHIR__BASE_URL: server.baseUrl,
    HFU_EXTRACT__MODE: mode,
    HFU_LOG__LEVEL: 'debug',
    ...env,
  });
  return { code, report: (stdout ? JSON.parse(stdout) : undefined) as Report, stderr };
}

describe('extract: bulk', () => {
  it('finds exactly the cohort the searches find, with the same features and evidence', async () => {
    const [search, bulk] = [await dryRun('search'), await dryRun('bulk')];
    expect(search.code).toBe(0);
    expect({ code: bulk.code, stderr: bulk.code ? bulk.stderr.slice(-1500) : '' }).toEqual({ code: 0, stderr: '' });
    expect(bulk.report.population).toBe(PATIENTS);
    expect(bulk.report.candidates.length).toBeGreaterThan(5);
    for (const key of ['complete', 'population', 'tiers', 'candidates', 'proposed', 'excluded', 'skipped'] as const) {
      expect({ key, value: bulk.report[key] }).toEqual({ key, value: search.report[key] });
    }
    // One export, polled, its files streamed: no per-patient searches.
    expect(bulk.stderr).toMatch(/"message":"bulk export ready"/);
    expect(bulk.stderr).not.toMatch(/"path":"Encounter"/);
  });

  it('exports a Group scope through Group/[id]/$export, again finding what the searches find', async () => {
    const client = FhirClient.fromConfig({ ...configSchema.parse({}).fhir, baseUrl: server.baseUrl });
    const members = server.truth
      .filter((_, i) => i % 3 === 0)
      .map((t) => ({ entity: { reference: `Patient/${t.patientId}` } }));
    const group = await client.create<Group>({ resourceType: 'Group', type: 'person', actual: true, member: members });
    const env = { HFU_SCOPE__TYPE: 'group', HFU_SCOPE__ID: group.resource.id as string };
    const [search, bulk] = [await dryRun('search', env), await dryRun('bulk', env)];
    expect(bulk.code).toBe(0);
    expect(bulk.report.population).toBe(members.length);
    expect(bulk.report.candidates).toEqual(search.report.candidates);
    expect(bulk.report.tiers).toEqual(search.report.tiers);
    expect(bulk.stderr).toMatch(/"path":"Group\/[^"]+\/\$export"/);
  });

  it('waits as long as the status answers ask (Retry-After), reporting X-Progress', async () => {
    // The waiting is the point, not what is read: a small practice of its own.
    const small = await startSeededServer(100, 3);
    let polls = 0;
    const proxy = await startFaultyProxy(small.baseUrl, ({ method, url }) =>
      method === 'GET' && url.includes('/$export-status/') && ++polls <= 2
        ? { status: 202, headers: { 'Retry-After': '1', 'X-Progress': `held by the test (${polls})` } }
        : undefined
    );
    try {
      const started = Date.now();
      const { code, stderr } = await dryRun('bulk', { HFU_FHIR__BASE_URL: proxy.baseUrl });
      expect(code).toBe(0);
      expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
      expect(stderr).toMatch(/"progress":"held by the test \(2\)"/);
    } finally {
      await proxy.stop();
      await small.stop();
    }
  });

  it('treats a file it could not download as a population not read: incomplete, no one proposed', async () => {
    const proxy = await startFaultyProxy(server.baseUrl, ({ url }) =>
      url.includes('/$export-file/') && url.endsWith('/Encounter.ndjson') ? { status: 503 } : undefined
    );
    try {
      const { code, stdout, stderr } = await runCli(['run', '--json', '--now', AS_OF], {
        HFU_FHIR__BASE_URL: proxy.baseUrl,
        HFU_EXTRACT__MODE: 'bulk',
      });
      expect(code).toBe(1);
      expect(JSON.parse(stdout)).toMatchObject({ complete: false, proposed: [], candidates: [] });
      expect(stderr).toMatch(/bulk export could not be read/);
      const client = FhirClient.fromConfig({ ...configSchema.parse({}).fhir, baseUrl: server.baseUrl });
      expect(await client.searchAll('Task', { _tag: token(MANAGED_TAG) })).toEqual([]);
      const groups = await client.searchAll<Group>('Group', { _tag: token(MANAGED_TAG) });
      expect(groups.flatMap((g) => g.member ?? [])).toEqual([]); // at most the cohort's Group, with nobody in it
    } finally {
      await proxy.stop();
    }
  });
});
