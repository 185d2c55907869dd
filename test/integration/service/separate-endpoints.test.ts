import { readFileSync } from 'node:fs';
import type { Flag, Task } from '@medplum/fhirtypes';
import type { RunRecord } from '../../../src/service';
import { CANDIDATES, ProgrammePractice } from '../helpers/programme';
import type { TestService } from '../helpers/service';
import { startTestService, testKeys } from '../helpers/service';

/** The service over a read-only source with the programme's record on a separate target (`writeback.fhir`). */

const SECRET = 'the-subscription-shared-secret';
const keys = testKeys();

let practice: ProgrammePractice;
let service: TestService;
let targetBaseUrl: string;

async function getJson<T>(path: string): Promise<T> {
  const res = await service.call(path, { token: keys.read });
  expect({ path, status: res.status }).toEqual({ path, status: 200 });
  return (await res.json()) as T;
}

const notify = (body: unknown) =>
  service.call('/fhir-notifications', {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', 'X-HFU-Subscription-Secret': SECRET },
  });

beforeAll(async () => {
  practice = await ProgrammePractice.start({}, { behave: 'read-only', separateTarget: true });
  targetBaseUrl = practice.target?.baseUrl ?? '';
  const practiceConfig = JSON.parse(readFileSync(practice.configFile, 'utf8')) as { writeback: object };
  service = await startTestService(practice.server.baseUrl, {
    ...practiceConfig,
    writeback: { ...practiceConfig.writeback, fhir: { baseUrl: targetBaseUrl } },
    service: { auth: { apiKeys: keys.entries }, notifications: { secret: SECRET, debounceMs: 0 } },
  });
  const started = await service.call('/runs', {
    method: 'POST',
    token: keys.operate,
    body: '{}',
    headers: { 'Content-Type': 'application/json' },
  });
  expect(started.status).toBe(202);
  await service.runs.settled();
  expect(service.runs.list()[0]).toMatchObject({ status: 'succeeded' });
});
afterAll(async () => {
  await service?.stop();
  await practice?.stop();
});

describe('the service with a separate target', () => {
  it('is ready when both endpoints answer', async () => {
    const res = await service.call('/ready');
    expect(await res.json()).toEqual({
      ready: true,
      checks: { config: 'ok', fhir: 'ok', writebackFhir: 'ok', lastRun: 'ok' },
    });
  });

  it("lists the cohort from the target's record", async () => {
    const tasks = await practice.tagged<Task>('Task');
    const reviewed = tasks.map((t) => t.for?.reference ?? '');
    expect(reviewed).toHaveLength(CANDIDATES);
    expect(reviewed.every((r) => r.startsWith(`${practice.server.baseUrl}/Patient/`))).toBe(true);
    const cohort = await getJson<{ total: number; entries: { patient: string; stage: string }[] }>(
      '/cohort?pageSize=100'
    );
    expect(cohort.total).toBe(CANDIDATES);
    expect(cohort.entries.map((e) => e.patient)).toEqual(
      reviewed.map((r) => r.slice(practice.server.baseUrl.length + 1)).sort()
    );
    expect(cohort.entries.every((e) => e.stage === 'under-review')).toBe(true);
  });

  it('explains a patient with their place read from the target', async () => {
    const explanation = await getJson<{ programme: { stage?: string } }>('/patients/hfu-a/explain');
    expect(explanation.programme.stage).toBe('under-review');
  });

  it('refreshes the patients of notified reviews, sent whole or as a reference read from the target', async () => {
    const [a, b] = await Promise.all(['hfu-a', 'hfu-b'].map((id) => practice.must<Task>('Task', id, 'mdt-review')));
    const decided = { status: 'accepted' as const, lastModified: new Date().toISOString() };
    const accepted = await Promise.all([a, b].map((review) => practice.record(review as Task, decided)));
    const responses = await Promise.all([
      notify(accepted[0]),
      notify({ resourceType: 'Bundle', type: 'history', entry: [{ fullUrl: `Task/${accepted[1]?.id}` }] }),
    ]);
    expect(responses.map((r) => r.status)).toEqual([202, 202]);
    await service.notifications.idle();
    await service.runs.settled();
    const runs = (service.runs.list() as RunRecord[]).filter((r) => r.trigger === 'notification');
    expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
    expect(runs.flatMap((r) => r.patients ?? []).sort()).toEqual(['hfu-a', 'hfu-b']);
    for (const id of ['hfu-a', 'hfu-b']) {
      const flag = await practice.must<Flag>('Flag', id, 'flag');
      expect(flag).toMatchObject({ status: 'active', subject: { reference: practice.sourceRef(`Patient/${id}`) } });
    }
  });
});
