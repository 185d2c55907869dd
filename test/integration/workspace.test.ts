import type { AuditEvent, CarePlan, Encounter, Flag, MedicationRequest, Provenance, Task } from '@medplum/fhirtypes';
import { addMonths } from '../../src/dates';
import type { FhirClient } from '../../src/fhir';
import { validateAgainstProfile } from '../../src/profiles';
import type { Workspace, WorkspaceUser, WorklistRow } from '../../src/workspace';
import { createWorkspace, Forbidden } from '../../src/workspace';
import type { PracticeOptions } from './helpers/programme';
import { AS_OF, ProgrammePractice } from './helpers/programme';
import type { WorkspaceDeps } from './helpers/workspace';
import { practiceWorkspace } from './helpers/workspace';

const LONG_DATE = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

const user = (name: string, role: WorkspaceUser['role'], practices?: string[]): WorkspaceUser => ({
  subject: `urn:uuid:${name}`,
  name,
  role,
  ...(practices ? { practices } : {}),
  agent: {
    type: 'Practitioner',
    identifier: { system: 'https://fhir.nhs.uk/Id/sds-user-id', value: name },
    display: name,
  },
});
const alex = user('Alex Jones', 'mdt');
const sam = user('Sam Patel', 'mdt', ['Y99001']);
const lee = user('Lee Viewer', 'viewer');
const other = user('Other Practice', 'mdt', ['Y99999']);

/** One endpoint for everything; and a read-only source with the programme's record on a separate target. */
const SETUPS: [string, PracticeOptions][] = [
  ['on the embedded server', {}],
  ['with a read-only source and a separate writable target', { behave: 'read-only', separateTarget: true }],
];

let practice: ProgrammePractice;
/** The practice's own server: its patients and their clinical data. */
let source: FhirClient;
let workspace: Workspace;
let run: () => Promise<void>;
let deps: WorkspaceDeps;

async function start(options: PracticeOptions): Promise<void> {
  practice = await ProgrammePractice.start({}, options);
  ({ workspace, deps, source } = practiceWorkspace(practice));
  run = async () => {
    const { code } = await practice.run(AS_OF);
    expect(code).toBe(0);
    workspace.invalidate();
  };
  await run();
}

/** The AuditEvents written about a patient (on the record, naming the source's patient). */
async function auditsOf(patientId: string): Promise<AuditEvent[]> {
  const patient = practice.sourceRef(`Patient/${patientId}`);
  return (await practice.client.searchAll<AuditEvent>('AuditEvent', {})).filter((a) =>
    a.entity?.some((e) => e.what?.reference === patient)
  );
}

/** What the resources say of each patient, counted by the test itself: emergency admissions (2x) and repeats. */
async function oracle(): Promise<Map<string, { admissions: number; repeats: number }>> {
  const since = addMonths(AS_OF, -12);
  const counts = new Map<string, { admissions: number; repeats: Set<string> }>();
  const of = (ref: string | undefined) => {
    const id = (ref ?? '').replace('Patient/', '');
    let c = counts.get(id);
    if (!c) {
      c = { admissions: 0, repeats: new Set() };
      counts.set(id, c);
    }
    return c;
  };
  for (const e of await source.searchAll<Encounter>('Encounter', {})) {
    const method = e.hospitalization?.extension?.[0]?.valueCodeableConcept?.coding?.[0]?.code ?? '';
    if (e.class?.code === 'IMP' && method.startsWith('2') && (e.period?.start ?? '') >= since) {
      of(e.subject?.reference).admissions++;
    }
  }
  for (const m of await source.searchAll<MedicationRequest>('MedicationRequest', {})) {
    if (m.status === 'active' && m.courseOfTherapyType?.coding?.[0]?.code === 'continuous') {
      of(m.subject?.reference).repeats.add(m.medicationCodeableConcept?.coding?.[0]?.code ?? '');
    }
  }
  return new Map([...counts].map(([id, c]) => [id, { admissions: c.admissions, repeats: c.repeats.size }]));
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
const rowsOf = async (section: WorklistRow['section'], who = alex) =>
  (await workspace.worklist(who, {})).sections.find((s) => s.section === section)?.rows ?? [];

describe.each(SETUPS)('the MDT workspace %s, after a real run', (_setup, options) => {
  beforeAll(() => start(options));
  afterAll(() => practice.stop());

  it('lists the new candidates by tier, most admissions then most repeats first, each with its reason', async () => {
    const facts = await oracle();
    const qualifying = [...facts].filter(([, f]) => f.admissions >= 1 && f.repeats >= 10);
    const rows = await rowsOf('new');
    expect(rows.map((r) => r.patient.id).sort()).toEqual(qualifying.map(([id]) => id).sort());
    const keys = rows.map((r) => {
      const f = facts.get(r.patient.id) as { admissions: number; repeats: number };
      expect(r.tier?.code).toBe(f.admissions >= 2 ? 'first' : 'second');
      expect(r.reason).toBe(
        `${plural(f.admissions, 'unplanned admission')} and ${plural(f.repeats, 'repeat medicine')} in the 12 months to ` +
          LONG_DATE.format(new Date(`${AS_OF}T00:00:00Z`))
      );
      expect(r.patient.nhsNumber).toMatch(/^\d{3} \d{3} \d{4}$/);
      expect(r.patient.practice?.ods).toBe('Y99001');
      return { first: f.admissions >= 2, ...f };
    });
    // First priority first, then more admissions, then more repeats (ties broken by rules this oracle leaves out).
    const byPriority = [...keys].sort(
      (a, b) => Number(b.first) - Number(a.first) || b.admissions - a.admissions || b.repeats - a.repeats
    );
    expect(keys).toEqual(byPriority);
    const view = await workspace.worklist(alex, { tier: 'first' });
    expect(view.counts.new).toBe(qualifying.length);
    expect(view.sections[0]?.rows.every((r) => r.tier?.code === 'first')).toBe(true);
  });

  it("shows a patient's evidence, each item its resource, and records the view as a valid AuditEvent", async () => {
    const review = await workspace.patient(alex, 'hfu-a');
    expect(review.why.candidate).toBe(true);
    const admissions = (await source.searchAll<Encounter>('Encounter', { subject: 'Patient/hfu-a' })).filter(
      (e) => e.class?.code === 'IMP'
    );
    expect(review.evidence.events.map((e) => e.reference).sort()).toEqual(
      admissions.map((e) => `Encounter/${e.id}`).sort()
    );
    for (const item of review.evidence.events) {
      expect(item.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(item.text).toContain('admission method');
    }
    expect(review.evidence.medicines).toHaveLength(12);
    expect(review.evidence.conditions.length).toBeGreaterThan(0);
    expect(review.review?.version).toMatch(/.+/);
    expect(review.decision.allowed).toBe(true);
    // Mental health and two long-term conditions: psychosocial, so the coach (room for one) is who may take her on.
    expect(review.dominantRisk.code).toBe('psychosocial');
    expect(review.decision.owners).toEqual([
      expect.objectContaining({
        reference: 'PractitionerRole/coach-1',
        used: 0,
        limit: 1,
        full: false,
        proposed: true,
      }),
    ]);
    const audits = await auditsOf('hfu-a');
    expect(audits.length).toBeGreaterThanOrEqual(1);
    for (const audit of audits) {
      expect(validateAgainstProfile(audit)).toEqual([]);
      expect(audit.agent[0]?.who?.identifier?.value).toBe('Alex Jones');
    }
  });

  it('accepts with an owner: the review records it, and the targeted refresh enrols the patient', async () => {
    const { review } = await workspace.patient(alex, 'hfu-a');
    await expect(
      workspace.decide(alex, 'hfu-a', { kind: 'accept', owner: 'PractitionerRole/gp-1' }, review?.version ?? '')
    ).rejects.toThrow('owner: not a role for psychosocial risk');
    const result = await workspace.decide(
      alex,
      'hfu-a',
      { kind: 'accept', owner: 'PractitionerRole/coach-1', note: 'Agreed' },
      review?.version ?? ''
    );
    expect(result).toMatchObject({ kind: 'done', refreshed: true, stage: 'enrolled' });
    const task = await practice.must<Task>('Task', 'hfu-a', 'mdt-review');
    expect(task).toMatchObject({ status: 'accepted', owner: { reference: 'PractitionerRole/coach-1' } });
    expect(task.businessStatus?.coding?.[0]?.code).toBe('enrol');
    expect(task.note?.[0]).toMatchObject({ authorReference: { display: 'Alex Jones' } });
    expect(validateAgainstProfile(task)).toEqual([]);
    expect((await practice.must<Flag>('Flag', 'hfu-a', 'flag')).status).toBe('active');
    expect((await practice.must<CarePlan>('CarePlan', 'hfu-a', 'care-plan')).author?.reference).toBe(
      'PractitionerRole/coach-1'
    );
    expect((await practice.must<Task>('Task', 'hfu-a', 'what-matters-conversation')).owner?.reference).toBe(
      'PractitionerRole/coach-1'
    );
    const provenance = (await practice.tagged<Provenance>('Provenance')).filter((p) =>
      p.target.some(
        (t) => t.reference === `Task/${task.id}/_history/${(result as { review: { version: string } }).review.version}`
      )
    );
    expect(provenance).toHaveLength(1);
    expect(provenance[0]?.agent[0]?.who?.display).toBe('Alex Jones');
    expect(validateAgainstProfile(provenance[0] as Provenance)).toEqual([]);
    expect((await rowsOf('new')).map((r) => r.patient.id)).not.toContain('hfu-a');
    const caseload = (await workspace.caseloads(alex)).caseloads.find(
      (c) => c.reference === 'PractitionerRole/coach-1'
    );
    expect(caseload?.patients.map((p) => p.patient.id)).toEqual(['hfu-a']);
    expect(caseload).toMatchObject({ used: 1, limit: 1 });
    // The coach is now full: offered to the next psychosocial patient, but not choosable.
    expect((await workspace.patient(alex, 'hfu-e')).decision.owners).toEqual([
      expect.objectContaining({ reference: 'PractitionerRole/coach-1', full: true }),
    ]);
    expect(caseload?.patients[0]?.next).toMatchObject({ kind: 'what-matters-conversation', overdue: false });
    expect(caseload?.patients[0]?.next?.due).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('accepts without an owner when nobody of the right kind has room: the patient waits for capacity', async () => {
    const review = await workspace.patient(alex, 'hfu-e');
    expect(review.decision).toMatchObject({ allowed: true, ownerRequired: false });
    const result = await workspace.decide(alex, 'hfu-e', { kind: 'accept' }, review.review?.version ?? '');
    expect(result).toMatchObject({ kind: 'done', stage: 'accepted' });
    expect(await practice.managed<Flag>('Flag', 'hfu-e', 'flag')).toBeUndefined();
    expect((await rowsOf('awaiting-capacity')).map((r) => r.patient.id)).toEqual(['hfu-e']);
  });

  it('declines with a reason: the next run does not propose the patient again within the cool-off', async () => {
    const { review } = await workspace.patient(sam, 'hfu-c');
    const result = await workspace.decide(
      sam,
      'hfu-c',
      { kind: 'decline', reason: 'supported-elsewhere' },
      review?.version ?? ''
    );
    expect(result.kind).toBe('done');
    await run();
    const task = await practice.must<Task>('Task', 'hfu-c', 'mdt-review');
    expect(task.status).toBe('rejected');
    expect(task.statusReason?.coding?.[0]?.code).toBe('supported-elsewhere');
    expect(await practice.managed<Task>('Task', 'hfu-c', 'mdt-review', 2)).toBeUndefined();
    const view = await workspace.worklist(alex);
    expect(view.sections.flatMap((s) => s.rows).map((r) => r.patient.id)).not.toContain('hfu-c');
  });

  it('defers: the patient is on the next worklist as deferred, still under review after a run', async () => {
    const { review } = await workspace.patient(alex, 'hfu-b');
    await workspace.decide(alex, 'hfu-b', { kind: 'defer', note: 'Needs the GP present' }, review?.version ?? '');
    expect((await rowsOf('deferred')).map((r) => r.patient.id)).toEqual(['hfu-b']);
    await run();
    expect((await rowsOf('deferred')).map((r) => r.patient.id)).toEqual(['hfu-b']);
    expect((await practice.must<Task>('Task', 'hfu-b', 'mdt-review')).status).toBe('requested');
  });

  it('refuses the second of two decisions made on the same version, naming who decided first, and overwrites nothing', async () => {
    const { review } = await workspace.patient(alex, 'hfu-d');
    const version = review?.version ?? '';
    const first = await workspace.decide(alex, 'hfu-d', { kind: 'defer' }, version);
    const second = await workspace.decide(sam, 'hfu-d', { kind: 'decline', reason: 'other' }, version);
    expect(first.kind).toBe('done');
    expect(second).toMatchObject({
      kind: 'conflict',
      by: 'Alex Jones',
      current: { status: 'requested', businessStatus: 'deferred' },
    });
    const task = await practice.must<Task>('Task', 'hfu-d', 'mdt-review');
    expect(task.status).toBe('requested');
    expect(task.note?.map((n) => n.authorReference?.display)).toEqual(['Alex Jones']);
  });

  it('lets only one of two decisions sent at once through; the other overwrites nothing', async () => {
    const { review } = await workspace.patient(alex, 'hfu-g');
    const version = review?.version ?? '';
    const results = await Promise.all([
      workspace.decide(alex, 'hfu-g', { kind: 'defer', note: 'first' }, version),
      workspace.decide(sam, 'hfu-g', { kind: 'defer', note: 'second' }, version),
    ]);
    expect(results.map((r) => r.kind).sort()).toEqual(['conflict', 'done']);
    const task = await practice.must<Task>('Task', 'hfu-g', 'mdt-review');
    expect(task.note).toHaveLength(1);
    const winner = results[0]?.kind === 'done' ? 'Alex Jones' : 'Sam Patel';
    expect(task.note?.[0]?.authorReference?.display).toBe(winner);
    expect(results.find((r) => r.kind === 'conflict')).toMatchObject({ by: winner });
  });

  it('keeps a decision when the refresh after it fails, and says so', async () => {
    const failing = createWorkspace({
      ...deps,
      refreshPatient: () => Promise.reject(new Error('a run is in progress')),
    });
    const { review } = await failing.patient(alex, 'hfu-f');
    const result = await failing.decide(alex, 'hfu-f', { kind: 'defer' }, review?.version ?? '');
    expect(result).toMatchObject({ kind: 'done', refreshed: false });
    expect((await practice.must<Task>('Task', 'hfu-f', 'mdt-review')).businessStatus?.coding?.[0]?.code).toBe(
      'deferred'
    );
  });

  it('keeps a practice-scoped user to their practices and a viewer from deciding', async () => {
    await expect(workspace.patient(other, 'hfu-h')).rejects.toBeInstanceOf(Forbidden);
    await expect(workspace.decide(other, 'hfu-h', { kind: 'defer' }, '1')).rejects.toBeInstanceOf(Forbidden);
    expect((await workspace.worklist(other)).counts.total).toBe(0);
    const viewed = await workspace.patient(lee, 'hfu-h');
    expect(viewed.decision.allowed).toBe(false);
    await expect(
      workspace.decide(lee, 'hfu-h', { kind: 'defer' }, viewed.review?.version ?? '')
    ).rejects.toBeInstanceOf(Forbidden);
    expect((await practice.must<Task>('Task', 'hfu-h', 'mdt-review')).status).toBe('requested');
    const error = await workspace.patient(other, 'hfu-h').catch((err: Error) => err);
    expect(JSON.stringify({ message: error instanceof Error ? error.message : '' })).not.toMatch(/hfu-h|Patient/);
  });

  it("sums up the programme: patients by stage and tier, the workforce's capacity used", async () => {
    const summary = await workspace.programme(alex);
    // a enrolled, e accepted (waiting), c declined; b, d, f and g deferred and h new: still under review.
    expect(summary.byStage).toEqual({ enrolled: 1, accepted: 1, declined: 1, 'under-review': 5 });
    expect(summary.byTier).toEqual({ first: 3, second: 5 });
    expect(summary.capacity).toEqual({
      used: 1,
      limit: 11,
      byRisk: { clinical: { used: 0, limit: 10 }, psychosocial: { used: 1, limit: 1 } },
    });
    expect(summary.mayRefresh).toBe(false);
    expect((await workspace.programme(other)).byStage).toEqual({});
  });

  it('records every decision as a valid AuditEvent naming the user, the patient and the review version', async () => {
    const audits = (await practice.client.searchAll<AuditEvent>('AuditEvent', {})).filter((a) => a.action === 'U');
    // accept a and e, decline c, defer b, d, f and g (the refused decisions wrote nothing)
    expect(audits.length).toBe(7);
    for (const audit of audits) {
      expect(validateAgainstProfile(audit)).toEqual([]);
      expect(audit.entity?.[1]?.what?.reference).toMatch(/^Task\/[^/]+\/_history\/.+$/);
    }
  });
});
