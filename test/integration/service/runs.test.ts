import { readFileSync } from 'node:fs';
import type { Flag, Task } from '@medplum/fhirtypes';
import type { RunRecord } from '../../../src/service';
import type { FaultyProxy } from '../helpers/proxy';
import { startFaultyProxy } from '../helpers/proxy';
import { CANDIDATES, ProgrammePractice, SPECS } from '../helpers/programme';
import type { TestService } from '../helpers/service';
import { startTestService, testKeys } from '../helpers/service';

const SECRET = 'the-subscription-shared-secret';
const keys = testKeys();

let practice: ProgrammePractice;
let proxy: FaultyProxy;
let service: TestService;
/** While set, the proxy holds every Patient search until it resolves: a run that takes as long as the test needs. */
let held: Promise<void> | undefined;

beforeAll(async () => {
  practice = await ProgrammePractice.start();
  proxy = await startFaultyProxy(
    practice.server.baseUrl,
    () => undefined,
    (req) => (req.url.includes('/Patient?') ? held : undefined)
  );
  service = await startTestService(
    proxy.baseUrl,
    serviceConfig({ notifications: { secret: SECRET, debounceMs: 300 } })
  );
});
afterAll(async () => {
  await service.stop();
  await proxy.stop();
  await practice.stop();
});

/** The practice's connector configuration with a service section. */
function serviceConfig(service: Record<string, unknown>): Record<string, unknown> {
  const practiceConfig = JSON.parse(readFileSync(practice.configFile, 'utf8')) as Record<string, unknown>;
  return { ...practiceConfig, service: { auth: { apiKeys: keys.entries }, ...service } };
}

function hold(): () => void {
  let release!: () => void;
  held = new Promise((resolve) => (release = resolve));
  return () => {
    held = undefined;
    release();
  };
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return service.call(path, {
    method: 'POST',
    token: keys.operate,
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

async function getJson<T>(path: string): Promise<T> {
  const res = await service.call(path, { token: keys.read });
  expect({ path, status: res.status }).toEqual({ path, status: 200 });
  return (await res.json()) as T;
}

async function finished(id: string): Promise<RunRecord> {
  await service.runs.settled();
  return getJson<RunRecord>(`/runs/${id}`);
}

interface CohortPage {
  total: number;
  page: number;
  next?: string;
  entries: { patient: string; stage: string; tier?: string; review?: string; evidence: string[] }[];
}

describe('runs over the API', () => {
  it('starts a run (202 and its location), refuses an overlapping one with 409 and the running id, reports it', async () => {
    const release = hold();
    const started = await post('/runs', { dryRun: true });
    expect(started.status).toBe(202);
    const run = (await started.json()) as RunRecord;
    expect(started.headers.get('location')).toBe(`runs/${run.id}`);
    expect(run).toMatchObject({ status: 'running', trigger: 'api', dryRun: true });

    const overlapping = await post('/runs', {});
    expect(overlapping.status).toBe(409);
    expect(await overlapping.json()).toEqual({
      error: { status: 409, message: 'a run is already in progress', runId: run.id },
    });
    expect(await getJson<{ running: string }>('/runs')).toMatchObject({ running: run.id });

    release();
    const done = await finished(run.id);
    expect(done).toMatchObject({
      status: 'succeeded',
      counts: { population: SPECS.length, proposed: CANDIDATES, writes: { created: CANDIDATES + 1 } },
      errors: [],
    });
    expect(Date.parse(done.finishedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(done.startedAt));
    expect(done.timings).toBeDefined();
    expect(done.progress).toMatchObject({ phase: 'writing', evaluated: SPECS.length, expected: SPECS.length });
    // A dry run counts what it would write, and writes nothing.
    expect(await practice.written()).toEqual([]);
  });

  it('writes when asked, lists the cohort with tiers and evidence, paged, and filters it', async () => {
    const run = (await (await post('/runs', {})).json()) as RunRecord;
    expect((await finished(run.id)).counts?.writes).toMatchObject({ created: CANDIDATES + 1, failed: 0 });

    const all = await getJson<CohortPage>('/cohort');
    expect(all.total).toBe(CANDIDATES);
    expect(all.entries.every((e) => e.stage === 'under-review' && e.review?.startsWith('Task/'))).toBe(true);
    expect(all.entries.every((e) => e.evidence.length > 0)).toBe(true);
    const a = all.entries.find((e) => e.patient === 'Patient/hfu-a');
    expect(a?.tier).toBe('first');

    const pages: string[] = [];
    let page = await getJson<CohortPage>('/cohort?pageSize=3');
    pages.push(...page.entries.map((e) => e.patient));
    while (page.next) {
      page = await getJson<CohortPage>(page.next);
      pages.push(...page.entries.map((e) => e.patient));
    }
    expect(pages).toEqual(all.entries.map((e) => e.patient));

    const first = await getJson<CohortPage>('/cohort?tier=first');
    expect(first.entries.map((e) => e.patient).sort()).toEqual(['Patient/hfu-a', 'Patient/hfu-d', 'Patient/hfu-e']);
    expect((await getJson<CohortPage>('/cohort?stage=enrolled')).total).toBe(0);
  });

  it('explains a patient, and answers 404 for one the endpoint does not have', async () => {
    const explained = await getJson<{ candidate: boolean; tier: string; features: Record<string, unknown> }>(
      '/patients/hfu-b/explain'
    );
    expect(explained).toMatchObject({ candidate: true, tier: 'second' });
    expect(Object.keys(explained.features).length).toBeGreaterThan(0);
    const other = await getJson<{ candidate: boolean }>('/patients/other-1/explain');
    expect(other.candidate).toBe(false);
    const missing = await service.call('/patients/nobody-here/explain', { token: keys.read });
    expect(missing.status).toBe(404);
  });

  it('exposes metrics for runs, patients, cohort sizes, FHIR requests and writes', async () => {
    const res = await service.call('/metrics');
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^hfu_runs_total\{trigger="api",outcome="succeeded"\} 2$/m);
    expect(text).toMatch(new RegExp(`^hfu_patients_evaluated_total ${SPECS.length * 2}$`, 'm'));
    expect(text).toMatch(/^hfu_candidates\{tier="first"\} 3$/m);
    expect(text).toMatch(new RegExp(`^hfu_programme_patients\\{stage="under-review"\\} ${CANDIDATES}$`, 'm'));
    expect(text).toMatch(new RegExp(`^hfu_writes_total\\{outcome="created"\\} ${CANDIDATES + 1}$`, 'm'));
    expect(text).toMatch(/^hfu_fhir_requests_total\{method="GET",status="200"\} \d+$/m);
    expect(text).toMatch(/^hfu_run_duration_seconds_count\{trigger="api"\} 2$/m);
  });
});

describe('FHIR subscription notifications', () => {
  const notify = (body: unknown) => post('/fhir-notifications', body, { 'X-HFU-Subscription-Secret': SECRET });

  it('refreshes the patient whose review the MDT accepted, without waiting for the schedule', async () => {
    const review = await practice.must<Task>('Task', 'hfu-a', 'mdt-review');
    const accepted = await practice.record(review, { status: 'accepted', lastModified: new Date().toISOString() });
    const res = await notify(accepted);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ accepted: 1 });
    await service.notifications.idle();
    await service.runs.settled();

    const [run] = (await getJson<{ runs: RunRecord[] }>('/runs')).runs;
    expect(run).toMatchObject({ trigger: 'notification', patients: ['hfu-a'], status: 'succeeded' });
    expect(await practice.must<Flag>('Flag', 'hfu-a', 'flag')).toMatchObject({ status: 'active' });
    // Other patients' reviews were left alone.
    expect(await practice.must<Task>('Task', 'hfu-b', 'mdt-review')).toMatchObject({ status: 'requested' });
  });

  it('gathers a burst into one run, reads entries sent without a resource, and ignores what is not ours', async () => {
    const before = service.runs.list().length;
    const reviews = await Promise.all(['hfu-b', 'hfu-d'].map((id) => practice.must<Task>('Task', id, 'mdt-review')));
    const responses = await Promise.all([
      notify(reviews[0]),
      notify({ resourceType: 'Bundle', type: 'history', entry: [{ fullUrl: `Task/${reviews[1]?.id}` }] }),
      notify({ resourceType: 'Patient', id: 'hfu-b' }),
      notify({
        resourceType: 'Task',
        id: 'x',
        status: 'requested',
        intent: 'order',
        for: { reference: 'Patient/hfu-c' },
      }),
    ]);
    expect(responses.map((r) => r.status)).toEqual([202, 202, 202, 202]);
    await service.notifications.idle();
    await service.runs.settled();
    const runs = service.runs.list();
    expect(runs.length).toBe(before + 1);
    expect(runs[0]).toMatchObject({ trigger: 'notification', patients: ['hfu-b', 'hfu-d'], status: 'succeeded' });
  });
});

describe('time budget', () => {
  it('stops a run that exceeds it at a safe point, with status stopped', async () => {
    const budgeted = await startTestService(proxy.baseUrl, serviceConfig({ runs: { timeBudgetSeconds: 1 } }));
    try {
      const release = hold();
      const run = budgeted.runs.start({ trigger: 'api' });
      await new Promise((resolve) => setTimeout(resolve, 1500));
      release();
      await budgeted.runs.settled();
      expect(budgeted.runs.get(run.id)).toMatchObject({ status: 'stopped' });
      expect(budgeted.logs.some((l) => l.message === 'run ended' && l.status === 'stopped' && l.runId === run.id)).toBe(
        true
      );
    } finally {
      await budgeted.stop();
    }
  });
});

describe('scheduler', () => {
  it('refreshes on the configured cron in the configured time zone, and never two at once', async () => {
    const scheduled = await startTestService(
      practice.server.baseUrl,
      serviceConfig({ schedule: { cron: '*/1 * * * * *', timezone: 'Europe/London' } })
    );
    try {
      const deadline = Date.now() + 15_000;
      while (scheduled.runs.list().filter((r) => r.status !== 'running').length < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const runs = scheduled.runs.list().filter((r) => r.status !== 'running');
      expect(runs.length).toBeGreaterThanOrEqual(2);
      expect(runs.every((r) => r.trigger === 'schedule' && r.status === 'succeeded')).toBe(true);
      // Never overlapping: each run started after the one before it finished.
      const ordered = [...runs].reverse();
      for (let i = 1; i < ordered.length; i++) {
        expect(Date.parse(ordered[i]?.startedAt ?? '')).toBeGreaterThanOrEqual(
          Date.parse(ordered[i - 1]?.finishedAt ?? '')
        );
      }
    } finally {
      await scheduled.stop();
    }
  });
});

describe('readiness', () => {
  it('is not ready when the FHIR endpoint is unreachable, or when the last run failed', async () => {
    const unreachable = await startTestService('http://127.0.0.1:9/fhir/R4', {
      ...serviceConfig({}),
      fhir: { maxAttempts: 1 },
    });
    try {
      const res = await unreachable.call('/ready');
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        ready: false,
        checks: { config: 'ok', fhir: expect.stringMatching(/^unreachable/), lastRun: 'ok' },
      });
      unreachable.runs.start({ trigger: 'api' });
      await unreachable.runs.settled();
      expect(unreachable.runs.list()[0]?.status).toBe('failed');
      const after = (await (await unreachable.call('/ready')).json()) as { checks: { lastRun: string } };
      expect(after.checks.lastRun).toBe('failed');
    } finally {
      await unreachable.stop();
    }
    expect(await (await service.call('/ready')).json()).toEqual({
      ready: true,
      checks: { config: 'ok', fhir: 'ok', lastRun: 'ok' },
    });
  });
});
