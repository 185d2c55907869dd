import { readFileSync } from 'node:fs';
import type { CarePlan, Task } from '@medplum/fhirtypes';
import type { RunRecord } from '../../../src/service';
import type { FaultyProxy } from '../helpers/proxy';
import { startFaultyProxy } from '../helpers/proxy';
import { CANDIDATES, ProgrammePractice } from '../helpers/programme';
import type { TestService } from '../helpers/service';
import { startTestService, testKeys } from '../helpers/service';

/** GET /cohort serves its pages from one read of the programme record, read again once a run has finished. */

const SECRET = 'the-subscription-shared-secret';
const keys = testKeys();

let practice: ProgrammePractice;
let proxy: FaultyProxy;
let service: TestService;

interface CohortPage {
  total: number;
  next?: string;
  entries: { patient: string; stage: string }[];
}

beforeAll(async () => {
  practice = await ProgrammePractice.start();
  // Every request the service makes to the FHIR server passes through the proxy, which lists them.
  proxy = await startFaultyProxy(practice.server.baseUrl, () => undefined);
  const practiceConfig = JSON.parse(readFileSync(practice.configFile, 'utf8')) as Record<string, unknown>;
  service = await startTestService(proxy.baseUrl, {
    ...practiceConfig,
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
  await proxy?.stop();
  await practice?.stop();
});

async function page(path: string): Promise<{ page: CohortPage; requests: string[] }> {
  const before = proxy.seen.length;
  const res = await service.call(path, { token: keys.read });
  expect({ path, status: res.status }).toEqual({ path, status: 200 });
  const json = (await res.json()) as CohortPage;
  return { page: json, requests: proxy.seen.slice(before) };
}

/** The reviews as the FHIR server holds them (read directly, not through the service): patient → Task status. */
async function reviewsOnTheServer(): Promise<Map<string, string>> {
  const tasks = await practice.tagged<Task>('Task');
  const reviews = tasks.filter((t) => t.code?.coding?.some((c) => c.code === 'mdt-review'));
  return new Map(reviews.map((t) => [t.for?.reference as string, t.status]));
}

describe('the cohort view', () => {
  it('reads the programme record once for two pages, and the pages are the cohort on the server', async () => {
    const first = await page('/cohort?pageSize=5');
    const second = await page(first.page.next as string);
    // One read of the record: the cohort Group, and every Task, Flag, CarePlan and care record (Goal, referral,
    // wellbeing Observation) the connector wrote.
    const searched = first.requests.map((r) => /^GET \/fhir\/R4\/([A-Za-z]+)\?/.exec(r)?.[1]).sort();
    expect(searched).toEqual(['CarePlan', 'Flag', 'Goal', 'Group', 'Observation', 'ServiceRequest', 'Task']);
    expect(second.requests).toEqual([]);

    const reviews = await reviewsOnTheServer();
    expect(reviews.size).toBe(CANDIDATES);
    const listed = [...first.page.entries, ...second.page.entries];
    expect(first.page.total).toBe(CANDIDATES);
    expect(listed.map((e) => e.patient)).toEqual([...reviews.keys()].sort());
    expect(listed.every((e) => e.stage === 'under-review')).toBe(true);

    // Filters are served from the same view.
    expect((await page('/cohort?tier=first')).requests).toEqual([]);
    expect((await page('/cohort?stage=accepted')).requests).toEqual([]);
  });

  it('shows what the MDT recorded once the notification-driven refresh has finished', async () => {
    const review = await practice.must<Task>('Task', 'hfu-a', 'mdt-review');
    const accepted = await practice.record(review, { status: 'accepted', lastModified: new Date().toISOString() });
    // Until a refresh picks it up, the view is the one of the last run.
    const stale = await page('/cohort');
    expect(stale.requests).toEqual([]);
    expect(stale.page.entries.find((e) => e.patient === 'Patient/hfu-a')?.stage).toBe('under-review');

    const res = await service.call('/fhir-notifications', {
      method: 'POST',
      body: JSON.stringify(accepted),
      headers: { 'Content-Type': 'application/fhir+json', 'X-HFU-Subscription-Secret': SECRET },
    });
    expect(res.status).toBe(202);
    await service.notifications.idle();
    await service.runs.settled();
    expect(service.runs.list()[0]).toMatchObject({ trigger: 'notification', status: 'succeeded' });

    // The server now holds an accepted review, and a care plan if the refresh enrolled the patient.
    expect((await reviewsOnTheServer()).get('Patient/hfu-a')).toBe('accepted');
    const plans = (await practice.tagged<CarePlan>('CarePlan')).filter((p) => p.subject.reference === 'Patient/hfu-a');
    const expected = plans.some((p) => p.status === 'active') ? 'enrolled' : 'accepted';
    const after = await page('/cohort');
    expect(after.requests.length).toBeGreaterThanOrEqual(4);
    expect(after.page.entries.find((e) => e.patient === 'Patient/hfu-a')?.stage).toBe(expected);
    expect((await page('/cohort?stage=accepted,enrolled')).requests).toEqual([]);
  });

  it('reads the record again after a run requested over the API', async () => {
    const started = await service.call('/runs', {
      method: 'POST',
      token: keys.operate,
      body: '{"dryRun":true}',
      headers: { 'Content-Type': 'application/json' },
    });
    const run = (await started.json()) as RunRecord;
    await service.runs.settled();
    expect(service.runs.get(run.id)).toMatchObject({ status: 'succeeded' });
    const again = await page('/cohort');
    expect(again.requests.length).toBeGreaterThanOrEqual(4);
    expect(again.page.total).toBe(CANDIDATES);
    expect((await page('/cohort?pageSize=2&page=2')).requests).toEqual([]);
  });
});
