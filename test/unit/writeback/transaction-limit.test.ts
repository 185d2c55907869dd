import type { Task } from '@medplum/fhirtypes';
import { ConfigError, loadConfig } from '../../../src/config';
import { loadProgramme } from '../../../src/criteria';
import { FhirClient } from '../../../src/fhir';
import type { RunningFhirServer } from '../../../src/server';
import { startFhirServer } from '../../../src/server';
import { MANAGED_TAG } from '../../../src/vocabulary';
import type { Desired } from '../../../src/writeback';
import { applyInTransaction, planWrites } from '../../../src/writeback';

let fhir: RunningFhirServer;
beforeAll(async () => {
  fhir = await startFhirServer({});
});
afterAll(() => fhir.stop());

const task = (value: string): Desired<Task> => {
  const identifier = { system: 'https://id.test/task', value };
  return {
    resource: {
      resourceType: 'Task',
      meta: { tag: [MANAGED_TAG] },
      identifier: [identifier],
      status: 'requested',
      intent: 'proposal',
    },
    identifier,
    owned: ['identifier', 'status', 'intent'],
  };
};

describe('writeback.transactionMaxEntries', () => {
  const info = {
    programme: loadProgramme(),
    subjectKey: 'Patient/p1',
    events: ['proposed'],
    reasons: [],
    evidence: [],
    asOf: '2026-11-23',
    now: '2026-11-23T00:00:00Z',
  };

  it('a plan over the limit is a configuration error naming the key, and nothing is written', async () => {
    const client = FhirClient.fromConfig({ ...loadConfig().fhir, baseUrl: fhir.baseUrl });
    const plan = planWrites([task('t1'), task('t2')], []);
    // Two creates and their Provenance: three entries.
    const breach = applyInTransaction(client, plan, undefined, info, { maxEntries: 2 });
    await expect(breach).rejects.toBeInstanceOf(ConfigError);
    await expect(breach).rejects.toMatchObject({
      source: 'writeback.transactionMaxEntries',
      problems: [expect.stringMatching(/^Patient\/p1: 3 writes exceed the transaction limit of 2/)],
    });
    expect(await client.searchAll('Task', {})).toEqual([]);

    const written = await applyInTransaction(client, plan, undefined, info, { maxEntries: 3 });
    expect(written).toMatchObject({ created: 2, provenance: 1, failures: [] });
    expect(await client.searchAll('Task', {})).toHaveLength(2);
  });
});
