import type { Task } from '@medplum/fhirtypes';
import { configSchema } from '../../src/config';
import { loadProgramme } from '../../src/criteria';
import { FhirClient } from '../../src/fhir';
import type { RunningFhirServer } from '../../src/server';
import { startFhirServer } from '../../src/server';
import { IDENTIFIER, MANAGED_TAG } from '../../src/vocabulary';
import type { Desired } from '../../src/writeback';
import { applyInTransaction, planWrites } from '../../src/writeback';
import { startFaultyProxy } from './helpers/proxy';

/** Conditional updates that meet a 412: after a lost answer, and after a change someone else made meanwhile. */
const programme = loadProgramme();
const info = {
  programme,
  subjectKey: `${programme.id}/Patient/p1`,
  events: ['refresh-proposal'],
  reasons: [],
  evidence: [],
  asOf: '2026-11-23',
  now: '2026-11-23T09:00:00Z',
};
const options = { maxEntries: 100 };
const identifier = { system: IDENTIFIER.task, value: `${programme.id}/p1/review/1` };

function wanted(description: string): Desired<Task> {
  return {
    resource: {
      resourceType: 'Task',
      meta: { tag: [MANAGED_TAG] },
      identifier: [identifier],
      status: 'requested',
      intent: 'proposal',
      for: { reference: 'Patient/p1' },
      description,
    },
    identifier,
    owned: ['status', 'intent', 'for', 'description'],
  };
}

let server: RunningFhirServer;
let client: FhirClient;

const clientFor = (baseUrl: string): FhirClient =>
  FhirClient.fromConfig({ ...configSchema.parse({ fhir: { retryBaseDelayMs: 1 } }).fhir, baseUrl });

async function theTask(): Promise<Task> {
  const tasks = await client.searchAll<Task>('Task', { identifier: `${identifier.system}|${identifier.value}` });
  expect(tasks).toHaveLength(1);
  return tasks[0] as Task;
}

beforeAll(async () => {
  server = await startFhirServer();
  client = clientFor(server.baseUrl);
  const created = await applyInTransaction(client, planWrites([wanted('first figures')], []), undefined, info, options);
  expect(created).toMatchObject({ created: 1, failures: [] });
});
afterAll(() => server.stop());

describe('a conditional update that meets a 412', () => {
  it('after a lost answer: finds the record already holds what it wanted and counts it unchanged', async () => {
    const plan = planWrites([wanted('second figures')], [await theTask()]);
    let lost = 0;
    const transactions: number[] = [];
    const proxy = await startFaultyProxy(
      server.baseUrl,
      () => undefined,
      undefined,
      ({ method, status }) => {
        if (method === 'POST') {
          transactions.push(status);
        }
        return method === 'POST' && status === 200 && lost++ === 0;
      }
    );
    try {
      const outcome = await applyInTransaction(clientFor(proxy.baseUrl), plan, undefined, info, options);
      expect(transactions).toEqual([200, 412]); // committed, answer lost; the retry's If-Match is stale
      expect(outcome).toMatchObject({ created: 0, updated: 0, unchanged: 1, failures: [] });
      expect((await theTask()).description).toBe('second figures');
    } finally {
      await proxy.stop();
    }
  });

  it('after someone else changed it: plans again on what it holds now, keeps their change, and writes once more', async () => {
    const stale = await theTask();
    const plan = planWrites([wanted('third figures')], [stale]);
    await client.update<Task>({ ...stale, note: [{ text: 'Seen by the MDT' }] }); // a clinician, meanwhile
    const outcome = await applyInTransaction(client, plan, undefined, info, options);
    expect(outcome).toMatchObject({ created: 0, updated: 1, unchanged: 0, failures: [] });
    const task = await theTask();
    expect(task.description).toBe('third figures');
    expect(task.note).toEqual([{ text: 'Seen by the MDT' }]);
  });

  it('reports a second 412 as a write failure with the status and issue codes only', async () => {
    const plan = planWrites([wanted('fourth figures')], [await theTask()]);
    let transactions = 0;
    const proxy = await startFaultyProxy(server.baseUrl, ({ method }) => {
      if (method !== 'POST') {
        return undefined;
      }
      transactions++;
      const diagnostics = 'Version mismatch for Jane Smith 9434765919';
      return {
        status: 412,
        body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'conflict', diagnostics }] },
      };
    });
    try {
      const outcome = await applyInTransaction(clientFor(proxy.baseUrl), plan, undefined, info, options);
      expect(transactions).toBe(2);
      expect(outcome.failures).toEqual([
        { target: info.subjectKey, reason: 'POST / failed: HTTP 412 (OperationOutcome: conflict)' },
      ]);
      expect((await theTask()).description).toBe('third figures');
    } finally {
      await proxy.stop();
    }
  });
});

describe("a transaction that meets HAPI's 409 for a stale If-Match", () => {
  let hapi: RunningFhirServer;
  let hapiClient: FhirClient;
  const hapiTask = async (): Promise<Task> => {
    const tasks = await hapiClient.searchAll<Task>('Task', { identifier: `${identifier.system}|${identifier.value}` });
    expect(tasks).toHaveLength(1);
    return tasks[0] as Task;
  };
  /** The transactions' statuses as the server answered them, through a proxy that may lose the first answer. */
  async function throughProxy<T>(loseFirst: boolean, act: (client: FhirClient) => Promise<T>): Promise<[T, number[]]> {
    const statuses: number[] = [];
    const proxy = await startFaultyProxy(
      hapi.baseUrl,
      () => undefined,
      undefined,
      ({ method, status }) => {
        if (method === 'POST') {
          statuses.push(status);
        }
        return loseFirst && method === 'POST' && status === 200 && statuses.length === 1;
      }
    );
    try {
      return [await act(clientFor(proxy.baseUrl)), statuses];
    } finally {
      await proxy.stop();
    }
  }

  beforeAll(async () => {
    hapi = await startFhirServer({ behave: 'hapi' });
    hapiClient = clientFor(hapi.baseUrl);
    const created = await applyInTransaction(
      hapiClient,
      planWrites([wanted('first figures')], []),
      undefined,
      info,
      options
    );
    expect(created).toMatchObject({ created: 1, failures: [] });
  });
  afterAll(() => hapi.stop());

  it('after a lost answer: recovers as from a 412, finding the record already holds what it wanted', async () => {
    const plan = planWrites([wanted('second figures')], [await hapiTask()]);
    const [outcome, statuses] = await throughProxy(true, (c) => applyInTransaction(c, plan, undefined, info, options));
    expect(statuses).toEqual([200, 409]); // committed, answer lost; the retry's If-Match is stale, HAPI says 409
    expect(outcome).toMatchObject({ created: 0, updated: 0, unchanged: 1, failures: [] });
    expect((await hapiTask()).description).toBe('second figures');
  });

  it('after someone else changed it: recovers as from a 412, keeping their change and writing once more', async () => {
    const stale = await hapiTask();
    const plan = planWrites([wanted('third figures')], [stale]);
    await hapiClient.update<Task>({ ...stale, note: [{ text: 'Seen by the MDT' }] }); // a clinician, meanwhile
    const [outcome, statuses] = await throughProxy(false, (c) => applyInTransaction(c, plan, undefined, info, options));
    expect(statuses).toEqual([409, 200]);
    expect(outcome).toMatchObject({ created: 0, updated: 1, unchanged: 0, failures: [] });
    const task = await hapiTask();
    expect(task.description).toBe('third figures');
    expect(task.note).toEqual([{ text: 'Seen by the MDT' }]);
  });
});
