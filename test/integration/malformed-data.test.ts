import type { Encounter, Flag, Group, Patient, Resource, Task } from '@medplum/fhirtypes';
import { runCli } from './helpers/cli';
import type { RunJson } from './helpers/programme';
import { AS_OF, ProgrammePractice } from './helpers/programme';

/**
 * Malformed clinical data on a real server (over HTTP): a patient the first run proposed, whose record is then
 * corrupted, is skipped by the second run with a logged reason naming the resource and the element, and their place
 * in the programme stays exactly as it was. The embedded server refuses invalid writes, so the test corrupts its
 * store directly, as a faulty feed upstream of a real server would.
 */
interface Case {
  name: string;
  patientId: string;
  /** The resource to corrupt, and how. */
  target: [type: 'Patient' | 'Encounter', id: string];
  corrupt: (resource: Record<string, unknown>) => void;
  reason: string;
  env?: Record<string, string>;
}

const CASES: Case[] = [
  {
    name: 'a Patient.deceasedDateTime of "garbage" (once taken as a death)',
    patientId: 'hfu-a',
    target: ['Patient', 'hfu-a'],
    corrupt: (r) => (r.deceasedDateTime = 'garbage'),
    reason: 'Patient/hfu-a: deceasedDateTime is not a valid dateTime',
  },
  {
    name: 'a garbage Encounter.period.start',
    patientId: 'hfu-b',
    target: ['Encounter', 'hfu-b-adm1'],
    corrupt: (r) => (r.period = { start: 'garbage' }),
    reason: 'Encounter/hfu-b-adm1: period.start is not a valid dateTime',
    // With date-bounded searches the server itself places encounters in the window, and cannot place this one: it
    // never reaches the connector. Unbounded (as for servers that refuse date parameters), the connector sees it.
    env: { HFU_EXTRACT__DATE_BOUNDS: 'false' },
  },
  {
    name: 'an Encounter.class sent as a string',
    patientId: 'hfu-c',
    target: ['Encounter', 'hfu-c-adm1'],
    corrupt: (r) => (r.class = 'IMP'),
    reason: 'Encounter/hfu-c-adm1: class is not a Coding',
  },
  {
    name: 'a garbage birthDate',
    patientId: 'hfu-d',
    target: ['Patient', 'hfu-d'],
    corrupt: (r) => (r.birthDate = 'garbage'),
    reason: 'Patient/hfu-d: birthDate is not a valid date',
  },
];

/** `hfu run --json` in-process, with JSON logs on stderr. */
async function run(
  practice: ProgrammePractice,
  extraEnv: Record<string, string> = {}
): Promise<{ code: number; json: RunJson; logs: string }> {
  const [args, env] = practice.runCommand(AS_OF);
  const { code, stdout, stderr } = await runCli(args, { ...env, ...extraEnv });
  return { code, json: JSON.parse(stdout) as RunJson, logs: stderr };
}

/** Everything the programme holds for one patient, with versions: their review Task, Flag and Group membership. */
async function programmeStateOf(practice: ProgrammePractice, patientId: string): Promise<unknown> {
  const [group] = await practice.tagged<Group>('Group');
  const written = await practice.written();
  const theirs = written.filter((r) => JSON.stringify(r).includes(`"Patient/${patientId}"`));
  const theirRefs = new Set(theirs.map((r) => `${r.resourceType}/${r.id}`));
  const provenance = written.filter(
    (r) => r.resourceType === 'Provenance' && r.target.some((t) => theirRefs.has(t.reference ?? ''))
  );
  return {
    resources: [...theirs, ...provenance]
      .filter((r) => r.resourceType !== 'Group')
      .map((r) => `${r.resourceType}/${r.id}@${r.meta?.versionId}`)
      .sort(),
    membership: group?.member?.filter((m) => m.entity.reference === `Patient/${patientId}`),
  };
}

describe.each(CASES)('a patient whose record then holds $name', (c) => {
  let practice: ProgrammePractice;
  afterAll(() => practice?.stop());

  it('is skipped with a reason naming the resource and the element, and keeps their place', async () => {
    practice = await ProgrammePractice.start();
    const first = await run(practice, c.env);
    expect(first.code).toBe(0);
    expect(first.json.proposed).toContain(`Patient/${c.patientId}`);
    const review = await practice.must<Task>('Task', c.patientId, 'mdt-review');
    const flag = await practice.managed<Flag>('Flag', c.patientId, 'flag');
    const before = await programmeStateOf(practice, c.patientId);

    const [type, id] = c.target;
    const resource = (await practice.server.repo.readResource<Patient | Encounter>(type, id)) as unknown as Record<
      string,
      unknown
    >;
    c.corrupt(resource);
    await practice.server.repo.load([resource as unknown as Resource]);

    const second = await run(practice, c.env);
    expect(second.code).toBe(0); // the run read everyone else whole; the skipped patient is counted, not a failure
    expect(second.json.skipped).toEqual([
      { patient: `Patient/${c.patientId}`, reason: expect.stringContaining(c.reason) as string },
    ]);
    const skippedLog = second.logs
      .split('\n')
      .filter((line) => line.includes('patient skipped'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(skippedLog).toEqual([
      expect.objectContaining({ patientId: c.patientId, reason: expect.stringContaining(c.reason) as string }),
    ]);
    expect(second.logs + JSON.stringify(second.json)).not.toContain('garbage');
    expect(second.json.writes).toEqual({
      created: 0,
      updated: 0,
      unchanged: expect.any(Number) as number,
      provenance: 0,
    });
    expect(second.json.actions).toEqual({});

    // Their review stays open as it was, nothing was cancelled, nothing was recorded about them.
    const after = await practice.must<Task>('Task', c.patientId, 'mdt-review');
    expect(after.status).toBe(review.status);
    expect(after.meta?.versionId).toBe(review.meta?.versionId);
    expect((await practice.managed<Flag>('Flag', c.patientId, 'flag'))?.meta?.versionId).toBe(flag?.meta?.versionId);
    expect(await programmeStateOf(practice, c.patientId)).toEqual(before);
  });
});
