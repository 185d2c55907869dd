import type { AuditEvent, CarePlan, Flag, Provenance, Task } from '@medplum/fhirtypes';
import { BUSINESS_STATUS } from '../../src/vocabulary';
import type { Workspace, WorklistRow } from '../../src/workspace';
import type { PracticeOptions, RunJson } from './helpers/programme';
import { AS_OF, ProgrammePractice } from './helpers/programme';
import { MDT_MEMBER, practiceWorkspace } from './helpers/workspace';
import { completeWithForm, CONVERSATION, ESCALATING_CHECK_IN } from './helpers/care-forms';
import { expectValid } from '../helpers/care-forms';

/**
 * A check-in escalates a patient to the MDT; the next run opens the review; the worklist takes it first; the MDT
 * decides it in the workspace (or a platform completes the Task over FHIR) and the run follows: the patient moved to
 * another professional, or discharged by the MDT.
 */
const LONG_DATE = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
const alex = MDT_MEMBER;

/** Who each enrolled patient starts with, and what happens to their escalation. */
const OWNERS: Record<string, string> = {
  'hfu-a': 'PractitionerRole/coach-1', // moved in the workspace, to the pharmacist
  'hfu-b': 'PractitionerRole/gp-1', // discharged in the workspace
  'hfu-d': 'PractitionerRole/gp-1', // discharged by a platform over FHIR
  'hfu-e': 'PractitionerRole/pharm-1', // moved by a platform over FHIR, to the GP
};

const SETUPS: [string, PracticeOptions][] = [
  ['on the embedded server', {}],
  ['with a read-only source and a separate writable target', { behave: 'read-only', separateTarget: true }],
];

let practice: ProgrammePractice;
let workspace: Workspace;

async function start(options: PracticeOptions): Promise<void> {
  practice = await ProgrammePractice.start({}, options);
  ({ workspace } = practiceWorkspace(practice));
}

/** A run of everyone twice (the second writes nothing, helpers/programme), then the workspace reads afresh. */
async function runTwice(): Promise<RunJson> {
  const first = await practice.runTwice();
  workspace.invalidate();
  return first;
}

const escalationOf = (id: string) => practice.must<Task>('Task', id, 'mdt-review', 1, 1);
const checkIn = (id: string, n: number) => practice.must<Task>('Task', id, 'check-in', 1, n);
const rowsOf = async (section: WorklistRow['section']) =>
  (await workspace.worklist(alex, {})).sections.find((s) => s.section === section)?.rows ?? [];

describe.each(SETUPS)('escalations to the MDT %s', (_setup, options) => {
  beforeAll(() => start(options));
  afterAll(() => practice.stop());

  it('1. a check-in that escalates opens an MDT review on the next run, one per episode', async () => {
    await runTwice(); // the proposals
    for (const [id, owner] of Object.entries(OWNERS)) {
      const review = await practice.must<Task>('Task', id, 'mdt-review');
      await practice.record(review, { status: 'accepted', owner: { reference: owner } });
    }
    expect((await runTwice()).actions).toMatchObject({ enrol: 4 });
    for (const id of Object.keys(OWNERS)) {
      await completeWithForm(
        practice,
        await practice.must<Task>('Task', id, 'what-matters-conversation'),
        CONVERSATION
      );
    }
    expect((await runTwice()).actions).toMatchObject({ 'record-care': 4, 'schedule-check-in': 4 });
    for (const id of Object.keys(OWNERS)) {
      await completeWithForm(practice, await checkIn(id, 1), ESCALATING_CHECK_IN);
    }
    expect((await runTwice()).actions).toMatchObject({ escalate: 4, 'schedule-check-in': 4 });
    for (const id of Object.keys(OWNERS)) {
      const escalation = await escalationOf(id);
      expect(escalation).toMatchObject({ status: 'requested', owner: { reference: 'CareTeam/pcn-mdt' } });
      expectValid([escalation]);
      expect((await checkIn(id, 2)).owner?.reference).toBe(OWNERS[id]);
    }
  });

  it('2. the worklist takes the escalated patients first, each pointing at its escalation', async () => {
    const view = await workspace.worklist(alex, {});
    expect(view.sections[0]?.title).toBe('Escalated by the care team');
    const rows = await rowsOf('escalated');
    expect(rows.map((r) => r.patient.id).sort()).toEqual(Object.keys(OWNERS).sort());
    for (const row of rows) {
      const escalation = await escalationOf(row.patient.id);
      expect(row).toMatchObject({
        stage: 'enrolled',
        review: `Task/${escalation.id}`,
        reason: `Escalated by the care team at check-in 1 on ${LONG_DATE.format(new Date(`${AS_OF}T00:00:00Z`))}`,
        proposedOwner: { reference: OWNERS[row.patient.id] },
      });
    }
    expect(view.counts.escalated).toBe(4);
    expect((await workspace.worklist(alex, { stage: 'escalated' })).page.rows).toBe(4);
    // Nobody is shown twice.
    const all = view.sections.flatMap((s) => s.rows.map((r) => r.patient.id));
    expect(new Set(all).size).toBe(all.length);
  });

  it('3. deferred stays on the agenda; a stale form is a conflict; moving the patient re-allocates their care', async () => {
    const page = await workspace.patient(alex, 'hfu-a');
    expect(page.review).toMatchObject({ kind: 'escalation', checkIn: 1 });
    expect(page.decision.allowed).toBe(true);
    expect(page.decision.currentOwner?.reference).toBe('PractitionerRole/coach-1');
    // Anyone of any role but the current owner.
    expect(page.decision.moveOwners.map((o) => o.reference)).toEqual([
      'PractitionerRole/gp-1',
      'PractitionerRole/pharm-1',
    ]);
    const seen = page.review?.version ?? '';
    const deferred = await workspace.decide(alex, 'hfu-a', { kind: 'defer', note: 'Wait for the falls clinic' }, seen);
    expect(deferred).toMatchObject({ kind: 'done', refreshed: true, stage: 'enrolled' });
    const [row] = (await rowsOf('escalated')).filter((r) => r.patient.id === 'hfu-a');
    expect(row?.reason).toMatch(/; deferred at an earlier meeting$/);
    expect(await workspace.decide(alex, 'hfu-a', { kind: 'continue' }, seen)).toMatchObject({
      kind: 'conflict',
      by: 'Alex Jones',
      current: { businessStatus: 'deferred', stage: 'enrolled' },
    });

    const again = await workspace.patient(alex, 'hfu-a');
    await expect(
      workspace.decide(alex, 'hfu-a', { kind: 'move', owner: 'PractitionerRole/coach-1' }, again.review?.version ?? '')
    ).rejects.toThrow('owner: is their owner already');
    const moved = await workspace.decide(
      alex,
      'hfu-a',
      { kind: 'move', owner: 'PractitionerRole/pharm-1', note: 'Medicines are the problem now' },
      again.review?.version ?? ''
    );
    expect(moved).toMatchObject({ kind: 'done', refreshed: true, stage: 'enrolled' });
    const escalation = await escalationOf('hfu-a');
    expect(escalation).toMatchObject({ status: 'completed', owner: { reference: 'PractitionerRole/pharm-1' } });
    expect(escalation.businessStatus?.coding?.[0]).toMatchObject(BUSINESS_STATUS.reallocate);
    expect(escalation.note?.at(-1)).toMatchObject({ authorReference: { display: 'Alex Jones' } });
    expect(escalation.note?.at(-1)?.text).toMatch(/^Moved to .*Pharmacist.*Medicines are the problem now$/);

    // The targeted refresh followed it; the next run of everyone finds nothing to do.
    await runTwice();
    const plan = await practice.must<CarePlan>('CarePlan', 'hfu-a', 'care-plan');
    const open = await checkIn('hfu-a', 2);
    expect([plan.author?.reference, open.owner?.reference]).toEqual([
      'PractitionerRole/pharm-1',
      'PractitionerRole/pharm-1',
    ]);
    const version = (moved as { review: { version: string } }).review.version;
    const provenance = (await practice.tagged<Provenance>('Provenance')).filter((p) =>
      p.target.some((t) => t.reference === `Task/${escalation.id}/_history/${version}`)
    );
    expect(provenance.map((p) => p.agent[0]?.who?.display)).toEqual(['Alex Jones']);
    const audits = (await practice.client.searchAll<AuditEvent>('AuditEvent', {})).filter((a) =>
      a.entity?.some((e) => e.what?.reference === `Task/${escalation.id}/_history/${version}`)
    );
    expect(audits).toHaveLength(1);
    const caseloads = (await workspace.caseloads(alex)).caseloads;
    const patientsOf = (ref: string) =>
      caseloads.find((c) => c.reference === ref)?.patients.map((p) => p.patient.id) ?? [];
    expect(patientsOf('PractitionerRole/pharm-1')).toContain('hfu-a');
    expect(patientsOf('PractitionerRole/coach-1')).not.toContain('hfu-a');
    expect((await rowsOf('escalated')).map((r) => r.patient.id)).not.toContain('hfu-a');
    expectValid([escalation, plan, open, ...provenance, ...audits]);
  });

  it('4. a platform moving the patient to nobody (the MDT team left as owner) moves nothing, and says so', async () => {
    const before = await practice.must<CarePlan>('CarePlan', 'hfu-e', 'care-plan');
    const openBefore = await checkIn('hfu-e', 2);
    const escalation = await escalationOf('hfu-e');
    const teamOwner = escalation.owner?.reference;
    expect(teamOwner).toMatch(/^CareTeam\//);
    await practice.record(escalation, {
      status: 'completed',
      businessStatus: { coding: [BUSINESS_STATUS.reallocate] },
      executionPeriod: { end: `${AS_OF}T12:00:00Z` },
    });
    const decided = await escalationOf('hfu-e');
    const run = await runTwice(); // the second run writes nothing (helpers/programme)
    expect(run.actions.reallocate ?? 0).toBe(0);
    expect(run.unprocessable).toContainEqual({
      task: `Task/${decided.id}`,
      reason: 'reallocate-owner-not-a-professional',
    });
    // The plan as it was: the same versions of the plan and the open check-in, the escalation as the platform left it.
    const after = await practice.must<CarePlan>('CarePlan', 'hfu-e', 'care-plan');
    expect([after.meta?.versionId, after.author?.reference]).toEqual([before.meta?.versionId, OWNERS['hfu-e']]);
    expect((await checkIn('hfu-e', 2)).meta?.versionId).toBe(openBefore.meta?.versionId);
    expect((await escalationOf('hfu-e')).meta?.versionId).toBe(decided.meta?.versionId);
    // Still before the MDT, as needing a decision, pointing at the escalation, in plain words.
    const [row] = (await rowsOf('escalated')).filter((r) => r.patient.id === 'hfu-e');
    expect(row).toMatchObject({ review: `Task/${decided.id}`, proposedOwner: { reference: OWNERS['hfu-e'] } });
    expect(row?.reason).toMatch(/did not say who: choose who takes over the care plan$/);
    expect((await workspace.patient(alex, 'hfu-e')).decision.allowed).toBe(true);
    // Logged by the escalation's id and the code only: no patient id or details.
    const { stderr } = await practice.run(AS_OF);
    const logged = stderr.split('\n').filter((l) => l.includes('move unresolved'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(`Task/${decided.id}`);
    expect(logged[0]).toContain('reallocate-owner-not-a-professional');
    expect(logged[0]).not.toContain('hfu-e');
  });

  it('4b. a platform then naming the professional over FHIR has the same result as a move in the workspace', async () => {
    await practice.record(await escalationOf('hfu-e'), {
      status: 'completed',
      businessStatus: { coding: [BUSINESS_STATUS.reallocate] },
      owner: { reference: 'PractitionerRole/gp-1' },
      executionPeriod: { end: `${AS_OF}T12:00:00Z` },
    });
    const run = await runTwice();
    expect(run.actions).toMatchObject({ reallocate: 1 });
    expect(run.unprocessable).toEqual([]);
    expect((await rowsOf('escalated')).map((r) => r.patient.id)).not.toContain('hfu-e');
    const plan = await practice.must<CarePlan>('CarePlan', 'hfu-e', 'care-plan');
    const open = await checkIn('hfu-e', 2);
    expect([plan.author?.reference, open.owner?.reference]).toEqual(['PractitionerRole/gp-1', 'PractitionerRole/gp-1']);
    expect(plan.status).toBe('active');
    expectValid([plan, open]);
  });

  /** What a discharge by the MDT leaves in the record: the same whoever completed the escalation. */
  async function expectDischargedByMdt(id: string): Promise<void> {
    const plan = await practice.must<CarePlan>('CarePlan', id, 'care-plan');
    expect(plan).toMatchObject({ status: 'completed', period: { end: AS_OF } });
    expect(plan.extension?.[0]?.valueCodeableConcept?.coding?.[0]?.code).toBe('discharged-by-mdt');
    const flag = await practice.must<Flag>('Flag', id, 'flag');
    expect(flag).toMatchObject({ status: 'inactive', period: { end: AS_OF } });
    expect((await checkIn(id, 2)).status).toBe('cancelled');
    expect((await practice.membersFor(id))[0]?.period?.end).toBe(AS_OF);
    const escalation = await escalationOf(id);
    const [provenance] = (await practice.provenanceFor(plan)).filter((p) => p.reason?.length);
    expect(provenance?.reason).toEqual([{ text: 'discharged-by-mdt' }]);
    expect(provenance?.entity?.map((e) => e.what.reference)).toContain(`Task/${escalation.id}`);
    expectValid([plan, flag, await checkIn(id, 2), escalation, provenance as Provenance]);
  }

  it('5. a discharge decided in the workspace completes the plan and ends the flag', async () => {
    const page = await workspace.patient(alex, 'hfu-b');
    const result = await workspace.decide(alex, 'hfu-b', { kind: 'discharge' }, page.review?.version ?? '');
    expect(result).toMatchObject({ kind: 'done', refreshed: true, stage: 'discharged' });
    await runTwice();
    await expectDischargedByMdt('hfu-b');
    expect((await workspace.patient(alex, 'hfu-b')).decision.allowed).toBe(false);
  });

  it('6. a platform completing the escalation over FHIR with a discharge has the same result', async () => {
    await practice.record(await escalationOf('hfu-d'), {
      status: 'completed',
      businessStatus: { coding: [BUSINESS_STATUS.discharge] },
      executionPeriod: { end: `${AS_OF}T12:00:00Z` },
    });
    expect((await runTwice()).actions).toMatchObject({ 'complete-plan': 1 });
    await expectDischargedByMdt('hfu-d');
    expect(await rowsOf('escalated')).toEqual([]);
  });
});
