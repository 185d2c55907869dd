import type { ChildProcess } from 'node:child_process';
import type { CarePlan, Flag, Task } from '@medplum/fhirtypes';
import { spawnCli } from './helpers/cli';
import { AS_OF, mdtDecides, ProgrammePractice, proposedAndDecided, recordContent } from './helpers/programme';
import { startFaultyProxy } from './helpers/proxy';

describe('a run killed between two transactions', () => {
  let clean: ProgrammePractice;
  let killed: ProgrammePractice;
  afterAll(async () => {
    await clean?.stop();
    await killed?.stop();
  });

  it('leaves whole patients behind, and a re-run converges to exactly what an uninterrupted run writes', async () => {
    [clean, killed] = await Promise.all([proposedAndDecided(), proposedAndDecided()]);
    expect((await clean.run(AS_OF)).code).toBe(0);

    // The writer is killed (SIGKILL: no clean-up) as it sends its second transaction, which never reaches the server.
    const transactionPath = new URL(killed.server.baseUrl).pathname.replace(/\/$/, '');
    let writer: ChildProcess | undefined;
    let transactions = 0;
    const proxy = await startFaultyProxy(killed.server.baseUrl, ({ method, url }) => {
      if (method === 'POST' && url.replace(/\/$/, '') === transactionPath && ++transactions === 2) {
        writer?.kill('SIGKILL');
        return 'drop';
      }
      return undefined;
    });
    try {
      const { child, done } = spawnCli(...killed.runCommand(AS_OF, { baseUrl: proxy.baseUrl }));
      writer = child;
      expect((await done).signal).toBe('SIGKILL');
    } finally {
      await proxy.stop();
    }
    // The first patient's enrolment is whole; nobody else's has started.
    expect(await killed.managed<Flag>('Flag', 'hfu-a', 'flag')).toBeDefined();
    expect(await killed.managed<Task>('Task', 'hfu-a', 'what-matters-conversation')).toBeDefined();
    expect(await killed.managed<Flag>('Flag', 'hfu-b', 'flag')).toBeUndefined();

    const rerun = await killed.run(AS_OF);
    expect(rerun.code).toBe(0);
    expect(rerun.json.writes).toEqual({ created: 6, updated: 1, unchanged: 3, provenance: 3 }); // b, e enrolled; d, f, g under review; the Group
    expect(await recordContent(killed)).toEqual(await recordContent(clean));
  });
});

describe('a patient whose data cannot be read whole', () => {
  let practice: ProgrammePractice;
  afterAll(() => practice?.stop());

  it('gets nothing written, and keeps their place, until a run reads them', async () => {
    practice = await proposedAndDecided();
    const proxy = await startFaultyProxy(practice.server.baseUrl, ({ method, url }) =>
      method === 'GET' && url.includes('/MedicationRequest?') && decodeURIComponent(url).includes('Patient/hfu-b')
        ? { status: 503 }
        : undefined
    );
    try {
      const { code, json } = await practice.run(AS_OF, {
        baseUrl: proxy.baseUrl,
        env: { HFU_FHIR__MAX_ATTEMPTS: '1', HFU_FHIR__CHUNK_SIZE: '1' },
      });
      expect(code).toBe(1);
      expect(json.complete).toBe(false);
      expect(json.skipped).toEqual([
        expect.objectContaining({ patient: 'Patient/hfu-b', reason: expect.stringMatching(/could not be read/) }),
      ]);
      expect(json.actions).toEqual({ enrol: 2 }); // a and e; h waits for the coach
    } finally {
      await proxy.stop();
    }
    expect(await practice.managed<Flag>('Flag', 'hfu-a', 'flag')).toBeDefined();
    expect(await practice.managed<Flag>('Flag', 'hfu-b', 'flag')).toBeUndefined();
    expect(await practice.membersFor('hfu-b')).toEqual([
      expect.objectContaining({ inactive: true, period: { start: AS_OF } }),
    ]);

    const { code, json } = await practice.run(AS_OF);
    expect(code).toBe(0);
    expect(json.actions).toEqual({ enrol: 1 });
    expect(await practice.managed<Flag>('Flag', 'hfu-b', 'flag')).toBeDefined();
  });
});

describe('with no workforce configured', () => {
  let practice: ProgrammePractice;
  afterAll(() => practice?.stop());

  it('leaves allocation to the MDT: no owner proposed, no caseload limit, accepted patients enrolled', async () => {
    practice = await ProgrammePractice.start({ allocation: { workforce: [] } });
    expect((await practice.run(AS_OF)).code).toBe(0);
    const review = await practice.must<Task>('Task', 'hfu-e', 'mdt-review');
    expect(review.input?.map((i) => i.type.coding?.[0]?.code)).not.toContain('proposed-owner');
    await mdtDecides(practice);

    const { code, json } = await practice.run(AS_OF);
    expect(code).toBe(0);
    expect(json.actions).toEqual({ enrol: 4 }); // a, b, e and h: nobody waits
    expect(json.awaitingCapacity).toEqual([]);
    expect((await practice.must<Task>('Task', 'hfu-a', 'what-matters-conversation')).owner?.reference).toBe(
      'PractitionerRole/gp-1'
    ); // the MDT's choice
    expect((await practice.must<Task>('Task', 'hfu-h', 'what-matters-conversation')).owner).toBeUndefined();
    expect((await practice.must<CarePlan>('CarePlan', 'hfu-h', 'care-plan')).author?.display).toBe('hfu-connector');
  });
});

describe('steps that need no ranking', () => {
  let practice: ProgrammePractice;
  afterAll(() => practice?.stop());

  it('are written as their chunk completes, while the rest of the population is still being read', async () => {
    practice = await proposedAndDecided();
    expect((await practice.run(AS_OF)).code).toBe(0); // a, b, e enrolled
    const conversation = await practice.must<Task>('Task', 'hfu-a', 'what-matters-conversation');
    await practice.record(conversation, {
      status: 'completed',
      executionPeriod: { start: `${AS_OF}T09:00:00Z`, end: `${AS_OF}T10:00:00Z` },
    });
    const proxy = await startFaultyProxy(practice.server.baseUrl, () => undefined);
    try {
      // Pages of two patients, one at a time: hfu-a (with hfu-b) is the first page.
      const { code, json } = await practice.run(AS_OF, {
        baseUrl: proxy.baseUrl,
        env: { HFU_FHIR__CHUNK_SIZE: '2', HFU_EXTRACT__CONCURRENCY: '1' },
      });
      expect(code).toBe(0);
      expect(json.actions).toEqual({ 'schedule-check-in': 1 });
      const firstWrite = proxy.seen.findIndex((s) => s.startsWith('POST'));
      const patientPages = proxy.seen.map((s, i) => (/^GET \S+\/Patient\?/.test(s) ? i : -1)).filter((i) => i >= 0);
      expect(patientPages.length).toBeGreaterThanOrEqual(6);
      expect(firstWrite).toBeGreaterThan(patientPages[0] as number);
      expect(firstWrite).toBeLessThan(patientPages[1] as number); // before the second page was asked for
    } finally {
      await proxy.stop();
    }
    expect(await practice.must<Task>('Task', 'hfu-a', 'check-in', 1, 1)).toMatchObject({ status: 'requested' });
  });
});
