import type { Provenance, Task } from '@medplum/fhirtypes';
import { configSchema } from '../../src/config';
import { loadProgramme } from '../../src/criteria';
import { FhirClient } from '../../src/fhir';
import type { RunningFhirServer } from '../../src/server';
import { startFhirServer } from '../../src/server';
import { IDENTIFIER, MANAGED_TAG } from '../../src/vocabulary';
import type { Desired } from '../../src/writeback';
import { applyPlan, planWrites } from '../../src/writeback';
import { startFaultyProxy } from './helpers/proxy';

/** Without a transaction: conditional creates and If-Match updates that meet a lost answer or someone's change. */
const programme = loadProgramme();
const info = (patient: string) => ({
  programme,
  subjectKey: `${programme.id}/Patient/${patient}`,
  events: ['refresh-proposal'],
  reasons: [],
  evidence: [],
  asOf: '2026-11-23',
  now: '2026-11-23T09:00:00Z',
});

const identifierOf = (patient: string) => ({ system: IDENTIFIER.task, value: `${programme.id}/${patient}/review/1` });

function wanted(patient: string, description: string): Desired<Task> {
  return {
    resource: {
      resourceType: 'Task',
      meta: { tag: [MANAGED_TAG] },
      identifier: [identifierOf(patient)],
      status: 'requested',
      intent: 'proposal',
      for: { reference: `Patient/${patient}` },
      description,
    },
    identifier: identifierOf(patient),
    owned: ['status', 'intent', 'for', 'description'],
  };
}

let server: RunningFhirServer;
let client: FhirClient;

const clientFor = (baseUrl: string): FhirClient =>
  FhirClient.fromConfig({ ...configSchema.parse({ fhir: { retryBaseDelayMs: 1 } }).fhir, baseUrl });

async function theTask(patient: string): Promise<Task> {
  const { system, value } = identifierOf(patient);
  const tasks = await client.searchAll<Task>('Task', { identifier: `${system}|${value}` });
  expect(tasks).toHaveLength(1);
  return tasks[0] as Task;
}

async function provenanceOf(task: Task): Promise<Provenance[]> {
  const all = await client.searchAll<Provenance>('Provenance', {});
  return all.filter((p) => p.target.some((t) => t.reference === `Task/${task.id}`));
}

beforeAll(async () => {
  server = await startFhirServer();
  client = clientFor(server.baseUrl);
});
afterAll(() => server.stop());

describe.each(['individual', 'batch'] as const)('the %s strategy', (strategy) => {
  const options = { strategy, maxEntries: 8 };
  const patient = `p-${strategy}`;

  it('creates once and names the creation in a Provenance written last', async () => {
    const proxy = await startFaultyProxy(server.baseUrl, () => undefined);
    try {
      const outcome = await applyPlan(
        clientFor(proxy.baseUrl),
        planWrites([wanted(patient, 'first figures')], []),
        undefined,
        info(patient),
        options
      );
      expect(outcome).toMatchObject({ created: 1, updated: 0, provenance: 1, failures: [] });
      const writes = proxy.seen.filter((s) => !s.startsWith('GET'));
      expect(writes.at(-1)).toMatch(/^PUT \/fhir\/R4\/Provenance\/hfu-/);
      expect(writes.some((s) => /^POST \/fhir\/R4\/?$/.test(s))).toBe(strategy === 'batch');
    } finally {
      await proxy.stop();
    }
    expect(await provenanceOf(await theTask(patient))).toHaveLength(1);
  });

  it('repeated on a record that already holds it, finds it by its identifier and duplicates nothing', async () => {
    const outcome = await applyPlan(
      client,
      planWrites([wanted(patient, 'first figures')], []), // planned as if the first write had never been made
      undefined,
      info(patient),
      options
    );
    expect(outcome).toMatchObject({ created: 0, updated: 0, unchanged: 1, failures: [] });
    await theTask(patient); // still one
  });

  it('after a lost answer to an update: finds the change made and counts it unchanged', async () => {
    const plan = planWrites([wanted(patient, 'second figures')], [await theTask(patient)]);
    let lost = 0;
    const answered: number[] = [];
    const proxy = await startFaultyProxy(
      server.baseUrl,
      () => undefined,
      undefined,
      ({ method, status }) => {
        if (method === 'GET') {
          return false;
        }
        answered.push(status);
        return status === 200 && lost++ === 0;
      }
    );
    try {
      const outcome = await applyPlan(clientFor(proxy.baseUrl), plan, undefined, info(patient), options);
      // Applied, the answer lost (503), sent again: its If-Match is stale by then, and the record holds the change.
      expect(answered.slice(0, 2)).toEqual(strategy === 'individual' ? [200, 412] : [200, 200]); // a batch: 200, its entry 412
      expect(outcome).toMatchObject({ updated: 0, unchanged: 1, failures: [] });
      expect((await theTask(patient)).description).toBe('second figures');
    } finally {
      await proxy.stop();
    }
  });

  it("after someone else changed it: keeps their change and writes the connector's fields once more", async () => {
    const stale = await theTask(patient);
    const plan = planWrites([wanted(patient, 'third figures')], [stale]);
    await client.update<Task>({ ...stale, note: [{ text: 'Seen by the MDT' }] }); // a clinician, meanwhile
    const outcome = await applyPlan(client, plan, undefined, info(patient), options);
    expect(outcome).toMatchObject({ created: 0, updated: 1, unchanged: 0, failures: [] });
    const task = await theTask(patient);
    expect(task.description).toBe('third figures');
    expect(task.note).toEqual([{ text: 'Seen by the MDT' }]);
  });

  it('reports a refused write by status only, and writes no Provenance for it', async () => {
    const before = (await provenanceOf(await theTask(patient))).length;
    const plan = planWrites([wanted(patient, 'fourth figures')], [await theTask(patient)]);
    const proxy = await startFaultyProxy(server.baseUrl, ({ method }) =>
      method === 'GET'
        ? undefined
        : {
            status: 422,
            body: {
              resourceType: 'OperationOutcome',
              issue: [{ severity: 'error', code: 'processing', diagnostics: 'Jane Smith 9434765919' }],
            },
          }
    );
    try {
      const outcome = await applyPlan(clientFor(proxy.baseUrl), plan, undefined, info(patient), options);
      expect(outcome).toMatchObject({ created: 0, updated: 0, provenance: 0 });
      expect(outcome.failures).toHaveLength(1);
      expect(outcome.failures[0]?.reason).toMatch(/422/);
      expect(JSON.stringify(outcome.failures)).not.toMatch(/Jane|9434765919/);
    } finally {
      await proxy.stop();
    }
    expect((await theTask(patient)).description).toBe('third figures');
    expect(await provenanceOf(await theTask(patient))).toHaveLength(before);
  });
});

describe('writeback.strategy auto when the CapabilityStatement cannot be read', () => {
  it('writes nothing for the subject, reports it, and asks again for the next', async () => {
    const patient = 'p-auto';
    const plan = planWrites([wanted(patient, 'first figures')], []);
    let refuse = true;
    const proxy = await startFaultyProxy(server.baseUrl, ({ url }) =>
      refuse && url.includes('/metadata') ? { status: 503 } : undefined
    );
    try {
      const proxied = FhirClient.fromConfig({
        ...configSchema.parse({ fhir: { retryBaseDelayMs: 1, maxAttempts: 2 } }).fhir,
        baseUrl: proxy.baseUrl,
      });
      const options = { strategy: 'auto' as const, maxEntries: 8 };
      const refused = await applyPlan(proxied, plan, undefined, info(patient), options);
      expect(refused).toMatchObject({ created: 0, provenance: 0 });
      expect(refused.failures).toEqual([{ target: info(patient).subjectKey, reason: expect.stringMatching(/503/) }]);
      const { system, value } = identifierOf(patient);
      expect(await client.searchAll<Task>('Task', { identifier: `${system}|${value}` })).toEqual([]);

      refuse = false;
      const written = await applyPlan(proxied, plan, undefined, info(patient), options);
      expect(written).toMatchObject({ created: 1, provenance: 1, failures: [] });
      expect(proxy.seen.filter((s) => s === 'POST /fhir/R4/')).toHaveLength(1); // a transaction, as declared
    } finally {
      await proxy.stop();
    }
  });
});

describe.each(['individual', 'batch'] as const)('a write refused part-way under %s', (strategy) => {
  it('counts what was written, names only that in the Provenance, and reports the rest', async () => {
    const good = wanted(`p-good-${strategy}`, 'figures');
    const bad = wanted(`p-bad-${strategy}`, 'figures');
    delete (bad.resource as { intent?: string }).intent; // required: the server's validation refuses it
    const outcome = await applyPlan(client, planWrites([good, bad], []), undefined, info('p-mixed'), {
      strategy,
      maxEntries: 8,
    });
    expect(outcome).toMatchObject({ created: 1, provenance: 1 });
    expect(outcome.failures).toHaveLength(1);
    expect(outcome.failures[0]?.reason).toMatch(/400/);
    const written = await theTask(`p-good-${strategy}`);
    const { system, value } = identifierOf(`p-bad-${strategy}`);
    expect(await client.searchAll<Task>('Task', { identifier: `${system}|${value}` })).toEqual([]);
    const [provenance] = await provenanceOf(written);
    expect(provenance?.target).toEqual([{ reference: `Task/${written.id}` }]);
  });
});
