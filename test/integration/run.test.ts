import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Group, Task } from '@medplum/fhirtypes';
import { configSchema } from '../../src/config';
import { FhirClient } from '../../src/fhir';
import { TASK_CODE, token } from '../../src/vocabulary';
import { expectedTiers, GUIDANCE } from '../helpers/tiers';
import { runCli } from './helpers/cli';
import { startFaultyProxy } from './helpers/proxy';
import type { SeededServer } from './helpers/server';
import { AS_OF, startSeededServer } from './helpers/server';

interface RunJson {
  complete: boolean;
  population: number;
  tiers: { first: number; second: number };
  candidates: {
    patient: string;
    tier: string;
    features: Record<string, unknown>;
    riskFactors: string[];
    evidence: Record<string, string[]>;
  }[];
  skipped: { patient: string; reason: string }[];
  writes: { created: number; updated: number; unchanged: number; provenance: number };
}

/**
 * A practice larger than a page of fhir.pageSize, so that its patients are read over several pages; a lower
 * repeat-medicines threshold than the programme's, so that a practice of this size holds a cohort of some size.
 */
const PATIENTS = 300;
const PAGE_SIZE = 200;
const REPEAT_ITEMS = 1;

let server: SeededServer;
let client: FhirClient;
const expected = new Map<string, string>();

async function hfuRun(baseUrl: string, ...extra: string[]): Promise<{ code: number; json: RunJson; stderr: string }> {
  const result = await runCli(['run', '--json', '--now', AS_OF, ...extra], {
    HFU_FHIR__BASE_URL: baseUrl,
    HFU_FHIR__PAGE_SIZE: String(PAGE_SIZE),
    HFU_PROGRAMME__PARAMETERS__REPEAT_ITEMS: String(REPEAT_ITEMS),
  });
  return { code: result.code, json: JSON.parse(result.stdout) as RunJson, stderr: result.stderr };
}

const reviewTasks = () => client.searchAll<Task>('Task', { code: token(TASK_CODE.mdtReview) });
const cohortGroups = () => client.searchAll<Group>('Group', {});

beforeAll(async () => {
  server = await startSeededServer(PATIENTS, 1);
  client = FhirClient.fromConfig({ ...configSchema.parse({}).fhir, baseUrl: server.baseUrl });
  for (const [patientId, tier] of expectedTiers(server.resources, AS_OF, { ...GUIDANCE, repeatItems: REPEAT_ITEMS })) {
    expected.set(`Patient/${patientId}`, tier);
  }
});
afterAll(() => server.stop());

describe('hfu run on the embedded server', () => {
  let first: RunJson;

  it('finds exactly the cohort the generator made, with evidence for each candidate', async () => {
    const proxy = await startFaultyProxy(server.baseUrl, () => undefined);
    const { code, json } = await hfuRun(proxy.baseUrl).finally(() => proxy.stop());
    first = json;
    expect(code).toBe(0);
    expect(json.complete).toBe(true);
    expect(json.population).toBe(PATIENTS);
    const patientPages = proxy.seen.filter((s) => s.startsWith('GET /fhir/R4/Patient?'));
    expect(patientPages.filter((s) => /[?&]_offset=[1-9]/.test(s)).length).toBeGreaterThan(0); // a page after the first
    expect(new Map(json.candidates.map((c) => [c.patient, c.tier]))).toEqual(expected);
    expect(json.tiers.first + json.tiers.second).toBe(expected.size);
    expect(expected.size).toBeGreaterThan(10);
    for (const candidate of json.candidates) {
      expect(candidate.evidence.unplannedAdmissions).toHaveLength(candidate.features.unplannedAdmissions as number);
      expect(candidate.evidence.repeatMedications?.length).toBeGreaterThanOrEqual(
        candidate.features.repeatMedications as number
      );
    }
  });

  it('wrote one MDT review Task per candidate and the cohort Group', async () => {
    // One transaction per candidate and one for the Group, each with the Provenance of what it wrote.
    expect(first.writes).toEqual({
      created: expected.size + 1,
      updated: 0,
      unchanged: 0,
      provenance: expected.size + 1,
    });
    const tasks = await reviewTasks();
    expect(tasks.map((t) => t.for?.reference).sort()).toEqual([...expected.keys()].sort());
    const task = tasks[0] as Task;
    expect(task).toMatchObject({ status: 'requested', intent: 'proposal' });
    expect(
      task.input?.find((i) => i.type.coding?.[0]?.code === 'dominant-risk')?.valueCodeableConcept?.coding?.[0]?.code
    ).toMatch(/^(clinical|psychosocial)$/);
    const evidence =
      task.input
        ?.filter((i) => i.type.coding?.[0]?.code === 'evidence' && i.type.text === 'Unplanned admissions')
        .map((i) => i.valueReference?.reference) ?? [];
    expect(evidence.length).toBeGreaterThan(0);
    const [type, id] = (evidence[0] as string).split('/');
    await expect(client.read(type as 'Encounter', id as string)).resolves.toMatchObject({ id });
    const [group] = await cohortGroups();
    expect(group?.member?.map((m) => m.entity.reference).sort()).toEqual([...expected.keys()].sort());
    expect(group?.member?.every((m) => m.inactive === true && m.period?.start === AS_OF)).toBe(true);
  });

  it('changes nothing when run again', async () => {
    const before = (await reviewTasks()).map((t) => `${t.id}@${t.meta?.versionId}`).sort();
    const groupBefore = (await cohortGroups())[0]?.meta?.versionId;
    const { code, json } = await hfuRun(server.baseUrl);
    expect(code).toBe(0);
    expect(json.writes).toEqual({ created: 0, updated: 0, unchanged: expected.size + 1, provenance: 0 });
    expect((await reviewTasks()).map((t) => `${t.id}@${t.meta?.versionId}`).sort()).toEqual(before);
    expect((await cohortGroups())[0]?.meta?.versionId).toBe(groupBefore);
  });

  it('writes nothing on a dry run', async () => {
    const fresh = await startSeededServer(60, 2);
    try {
      const { json } = await hfuRun(fresh.baseUrl, '--dry-run');
      const freshClient = FhirClient.fromConfig({ ...configSchema.parse({}).fhir, baseUrl: fresh.baseUrl });
      expect(expectedTiers(fresh.resources, AS_OF, { ...GUIDANCE, repeatItems: REPEAT_ITEMS }).size).toBeGreaterThan(0); // a review Task it would have written
      expect(json.writes.created).toBeGreaterThan(1);
      expect(await freshClient.searchAll('Task', {})).toEqual([]);
      expect(await freshClient.searchAll('Group', {})).toEqual([]);
    } finally {
      await fresh.stop();
    }
  });
});

describe('a population that cannot be read whole', () => {
  it('lists the unread patients, fails the run, and leaves their place in the cohort untouched', async () => {
    const candidate = [...expected.keys()][0] as string;
    const proxy = await startFaultyProxy(server.baseUrl, ({ method, url }) =>
      method === 'GET' && url.includes('/Encounter?') && decodeURIComponent(url).includes(candidate)
        ? { status: 503 }
        : undefined
    );
    try {
      const { code, json } = await hfuRun(
        proxy.baseUrl,
        '--config',
        writeConfig({ fhir: { maxAttempts: 2, retryBaseDelayMs: 1 } })
      );
      expect(code).toBe(1);
      expect(json.complete).toBe(false);
      expect(json.skipped.map((s) => s.patient)).toContain(candidate);
      expect(json.skipped.find((s) => s.patient === candidate)?.reason).toMatch(/could not be read/);
      expect(json.candidates.map((c) => c.patient)).not.toContain(candidate);
      const [group] = await cohortGroups();
      const member = group?.member?.find((m) => m.entity.reference === candidate);
      expect(member?.period?.end).toBeUndefined();
      expect(json.writes.updated).toBe(0);
    } finally {
      await proxy.stop();
    }
  });
});

function writeConfig(config: unknown): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'hfu-run-')), 'config.json');
  writeFileSync(file, JSON.stringify(config));
  return file;
}
