import type { Group, Resource, Task } from '@medplum/fhirtypes';
import { configSchema } from '../../src/config';
import { FhirClient } from '../../src/fhir';
import type { RunningFhirServer } from '../../src/server';
import { startFhirServer } from '../../src/server';
import { MANAGED_TAG, TASK_CODE, token } from '../../src/vocabulary';
import { expectedTiers } from '../helpers/tiers';
import { runCli } from './helpers/cli';
import type { FaultyProxy } from './helpers/proxy';
import { startFaultyProxy } from './helpers/proxy';
import type { SeededServer } from './helpers/server';
import { AS_OF, startSeededServer } from './helpers/server';

/**
 * A read-only shared care record as the source (the embedded server behaving `read-only`: every write refused 405)
 * and a separate, writable care-plan store as the target (`writeback.fhir`), each behind a proxy that counts what
 * reaches it.
 */
interface RunJson {
  complete: boolean;
  candidates: { patient: string; tier: string }[];
  writes: { created: number; updated: number; unchanged: number; provenance: number };
  writeFailures: unknown[];
}

const PATIENTS = 400;
const WRITTEN_TYPES = ['Group', 'Task', 'Flag', 'CarePlan', 'Provenance'] as const;

let source: SeededServer;
let target: RunningFhirServer;
let sourceProxy: FaultyProxy;
let targetProxy: FaultyProxy;
let sourceClient: FhirClient;
let targetClient: FhirClient;

const clientFor = (baseUrl: string): FhirClient => FhirClient.fromConfig({ ...configSchema.parse({}).fhir, baseUrl });

beforeAll(async () => {
  source = await startSeededServer(PATIENTS, 3, { behave: 'read-only' });
  target = await startFhirServer();
  sourceProxy = await startFaultyProxy(source.baseUrl, () => undefined);
  targetProxy = await startFaultyProxy(target.baseUrl, () => undefined);
  sourceClient = clientFor(source.baseUrl);
  targetClient = clientFor(target.baseUrl);
});
afterAll(async () => {
  await Promise.all([sourceProxy.stop(), targetProxy.stop()]);
  await Promise.all([source.stop(), target.stop()]);
});

async function hfu(
  args: string[],
  env: Record<string, string> = {}
): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCli(args, {
    HFU_FHIR__BASE_URL: sourceProxy.baseUrl,
    HFU_WRITEBACK__FHIR__BASE_URL: targetProxy.baseUrl,
    ...env,
  });
}

async function hfuRun(env: Record<string, string> = {}): Promise<RunJson> {
  const { code, stdout, stderr } = await hfu(['run', '--json', '--now', AS_OF], env);
  expect({ code, stderr: code ? stderr.slice(-2000) : '' }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(stdout) as RunJson;
}

/** Every resource of the written types a server holds, by type/id with its version. */
async function holdings(client: FhirClient): Promise<Map<string, string | undefined>> {
  const found = await Promise.all(WRITTEN_TYPES.map((type) => client.searchAll<Resource>(type, {})));
  return new Map(found.flat().map((r) => [`${r.resourceType}/${r.id}`, r.meta?.versionId]));
}

/** Every `reference` a resource holds, wherever it is. */
function referencesIn(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) {
    node.forEach((item) => referencesIn(item, out));
  } else if (node && typeof node === 'object') {
    for (const [field, value] of Object.entries(node)) {
      if (field === 'reference' && typeof value === 'string') {
        out.push(value);
      } else {
        referencesIn(value, out);
      }
    }
  }
  return out;
}

const requestsSince = (proxy: FaultyProxy, from: number): string[] => proxy.seen.slice(from);
const methods = (requests: readonly string[]): string[] => [...new Set(requests.map((r) => r.split(' ', 1)[0] ?? ''))];

describe('a read-only source and a separate writable target (writeback.fhir)', () => {
  let first: RunJson;
  let sourceBefore: Record<string, number>;

  it('writes nothing to the source and the cohort to the target', async () => {
    sourceBefore = source.repo.countsByType();
    const [sourceFrom, targetFrom] = [sourceProxy.seen.length, targetProxy.seen.length];
    first = await hfuRun();
    expect(first.complete).toBe(true);
    expect(first.writeFailures).toEqual([]);

    const toSource = requestsSince(sourceProxy, sourceFrom);
    expect(toSource.length).toBeGreaterThan(0);
    expect(methods(toSource)).toEqual(['GET']); // reads only: not even a write for the 405 to refuse
    expect(source.repo.countsByType()).toEqual(sourceBefore);
    expect(await holdings(sourceClient)).toEqual(new Map());
    expect(requestsSince(targetProxy, targetFrom).length).toBeGreaterThan(0);

    // The candidates, from the source's resources as the test reads them, are the reviews on the target.
    const expected = expectedTiers(source.resources, AS_OF);
    expect(expected.size).toBeGreaterThan(0);
    expect(new Map(first.candidates.map((c) => [c.patient, c.tier]))).toEqual(
      new Map([...expected].map(([id, tier]) => [`Patient/${id}`, tier]))
    );
    const reviews = await targetClient.searchAll<Task>('Task', { code: token(TASK_CODE.mdtReview) });
    const reviewed = reviews.map((t) => t.for?.reference).sort();
    expect(reviewed).toEqual([...expected.keys()].map((id) => `${sourceProxy.baseUrl}/Patient/${id}`).sort());
    const [group, ...others] = await targetClient.searchAll<Group>('Group', { _tag: token(MANAGED_TAG) });
    expect(others).toEqual([]);
    expect(group?.member?.map((m) => m.entity.reference).sort()).toEqual(reviewed);
    expect(first.writes).toMatchObject({ created: expected.size + 1, provenance: expected.size + 1 });
  });

  it('changes nothing when run again, on either endpoint', async () => {
    const targetBefore = await holdings(targetClient);
    const sourceFrom = sourceProxy.seen.length;
    const again = await hfuRun();
    expect(again.writes).toEqual({ created: 0, updated: 0, unchanged: first.writes.created, provenance: 0 });
    expect(await holdings(targetClient)).toEqual(targetBefore);
    expect(methods(requestsSince(sourceProxy, sourceFrom))).toEqual(['GET']);
    expect(source.repo.countsByType()).toEqual(sourceBefore);
  });

  it("refers to the source's resources absolutely, and every such reference resolves with a GET against the source", async () => {
    const written = (await Promise.all(WRITTEN_TYPES.map((t) => targetClient.searchAll<Resource>(t, {})))).flat();
    const references = written.flatMap((r) => referencesIn(r));
    const base = sourceProxy.baseUrl; // the source as the connector was given it
    const toSource = [...new Set(references.filter((r) => r.startsWith(`${base}/`)))];
    const relative = [...new Set(references.filter((r) => !/^https?:\/\//.test(r)))];
    expect(references.filter((r) => !toSource.includes(r) && !relative.includes(r))).toEqual([]);
    expect([...new Set(toSource.map((r) => r.slice(base.length + 1).split('/')[0]))]).toEqual(
      expect.arrayContaining(['Patient', 'Encounter', 'MedicationRequest', 'Condition'])
    );
    for (const reference of toSource) {
      const response = await fetch(reference, { headers: { accept: 'application/fhir+json' } });
      const found = (await response.json()) as Resource;
      expect({ reference, status: response.status, found: `${base}/${found.resourceType}/${found.id}` }).toEqual({
        reference,
        status: 200,
        found: reference,
      });
    }
    // What stays relative is the target's own: the Provenance targets, found on the target.
    expect(relative.length).toBeGreaterThan(0);
    for (const reference of relative) {
      const [type, id] = reference.split('/') as [Resource['resourceType'], string];
      expect(WRITTEN_TYPES).toContain(type);
      expect((await targetClient.read(type, id)).id).toBe(id);
    }
  });

  it("picks the write strategy (`auto`) from the target's CapabilityStatement, not the read-only source's", async () => {
    const [sourceFrom, targetFrom] = [sourceProxy.seen.length, targetProxy.seen.length];
    const json = await hfuRun({ HFU_WRITEBACK__STRATEGY: 'auto' });
    expect(json.writeFailures).toEqual([]);
    const metadata = (requests: string[]) => requests.filter((r) => r.startsWith('GET /fhir/R4/metadata'));
    expect(metadata(requestsSince(targetProxy, targetFrom))).toHaveLength(1);
    expect(metadata(requestsSince(sourceProxy, sourceFrom))).toEqual([]);
  });

  it('without writeback.fhir, would have had every write refused by the read-only source, and left it unchanged', async () => {
    const { code, stdout } = await runCli(['run', '--json', '--now', AS_OF], { HFU_FHIR__BASE_URL: source.baseUrl });
    const json = JSON.parse(stdout) as RunJson;
    expect(code).not.toBe(0);
    expect(json.writeFailures.length).toBeGreaterThan(0);
    expect(json.writes).toMatchObject({ created: 0, updated: 0 });
    expect(source.repo.countsByType()).toEqual(sourceBefore);
  });

  it('explains a candidate with their place in the programme read from the target', async () => {
    const [candidate] = first.candidates;
    const { code, stdout } = await hfu(['explain', candidate?.patient ?? '', '--json', '--now', AS_OF]);
    expect(code).toBe(0);
    const explanation = JSON.parse(stdout) as { programme?: { stage?: string } };
    expect(explanation.programme?.stage).toBe('under-review');
  });
});
