import type { AuditEvent, CarePlan, Encounter, Flag, Provenance, Task } from '@medplum/fhirtypes';
import { BUSINESS_STATUS } from '../../src/vocabulary';
import type { Workspace, WorklistRow } from '../../src/workspace';
import type { RunJson } from './helpers/programme';
import { AS_OF, ProgrammePractice } from './helpers/programme';
import { MDT_MEMBER, practiceWorkspace } from './helpers/workspace';
import { expectValid } from '../helpers/care-forms';

/**
 * An enrolled patient whose admissions no longer meet the criteria gets a step-down review on the next run; the
 * worklist shows it under "Step-down reviews due"; the MDT decides it in the workspace (or a platform completes the
 * Task over FHIR) and the run follows: stepped down to community support (the plan completed), or kept in the
 * programme (nothing more, and no second review this episode).
 */
const alex = MDT_MEMBER;

/** Who each patient is enrolled with; the admissions corrected away so that they no longer meet the criteria. */
const ENROLLED: Record<string, { owner: string; admissions: number }> = {
  'hfu-a': { owner: 'PractitionerRole/coach-1', admissions: 2 }, // deferred, then kept in the programme
  'hfu-b': { owner: 'PractitionerRole/gp-1', admissions: 1 }, // stepped down in the workspace
  'hfu-d': { owner: 'PractitionerRole/gp-1', admissions: 2 }, // stepped down by a platform over FHIR
  'hfu-e': { owner: 'PractitionerRole/pharm-1', admissions: 0 }, // still meets the criteria
};
const DROPPING = ['hfu-a', 'hfu-b', 'hfu-d'];

let practice: ProgrammePractice;
let workspace: Workspace;

/** A run of everyone twice (the second writes nothing, helpers/programme), then the workspace reads afresh. */
async function runTwice(): Promise<RunJson> {
  const first = await practice.runTwice();
  workspace.invalidate();
  return first;
}

const stepDownOf = (id: string) => practice.must<Task>('Task', id, 'step-down-review');
const rowsOf = async (section: WorklistRow['section']) =>
  (await workspace.worklist(alex, {})).sections.find((s) => s.section === section)?.rows ?? [];

describe('step-down reviews decided by the MDT, on the embedded server', () => {
  beforeAll(async () => {
    practice = await ProgrammePractice.start({});
    ({ workspace } = practiceWorkspace(practice));
  });
  afterAll(() => practice.stop());

  it('1. a patient enrolled whose admissions no longer meet the criteria gets one step-down review', async () => {
    await runTwice(); // the proposals
    for (const [id, { owner }] of Object.entries(ENROLLED)) {
      const review = await practice.must<Task>('Task', id, 'mdt-review');
      await practice.record(review, { status: 'accepted', owner: { reference: owner } });
    }
    expect((await runTwice()).actions).toMatchObject({ enrol: 4 });
    for (const [id, { admissions }] of Object.entries(ENROLLED)) {
      for (let n = 1; n <= admissions; n++) {
        await practice.changeClinical<Encounter>('Encounter', `${id}-adm${n}`, { status: 'entered-in-error' });
      }
    }
    expect((await runTwice()).actions).toMatchObject({ 'step-down': DROPPING.length });
    for (const id of DROPPING) {
      const review = await stepDownOf(id);
      expect(review).toMatchObject({ status: 'requested', intent: 'proposal' });
      expect((await practice.must<Flag>('Flag', id, 'flag')).status).toBe('active'); // never a silent removal
      expectValid([review]);
    }
    expect(await practice.managed<Task>('Task', 'hfu-e', 'step-down-review')).toBeUndefined();
  });

  it('2. the worklist shows each once under "Step-down reviews due", pointing at the review', async () => {
    const view = await workspace.worklist(alex, {});
    const rows = await rowsOf('step-down');
    expect(rows.map((r) => r.patient.id).sort()).toEqual(DROPPING);
    for (const row of rows) {
      expect(row).toMatchObject({ stage: 'enrolled', review: `Task/${(await stepDownOf(row.patient.id)).id}` });
      expect(row.reason).toMatch(/^No longer meets the criteria/);
    }
    const all = view.sections.flatMap((s) => s.rows.map((r) => r.patient.id));
    expect(new Set(all).size).toBe(all.length);
  });

  it('3. deferred stays on the agenda; a stale form is a conflict; kept in the programme, the plan goes on', async () => {
    const page = await workspace.patient(alex, 'hfu-a');
    expect(page.review).toMatchObject({ kind: 'step-down' });
    expect(page.decision.allowed).toBe(true);
    const seen = page.review?.version ?? '';
    const deferred = await workspace.decide(alex, 'hfu-a', { kind: 'defer', note: 'See after the winter' }, seen);
    expect(deferred).toMatchObject({ kind: 'done', refreshed: true, stage: 'enrolled' });
    const [row] = (await rowsOf('step-down')).filter((r) => r.patient.id === 'hfu-a');
    expect(row?.reason).toMatch(/; deferred at an earlier meeting$/);
    expect((await stepDownOf('hfu-a')).businessStatus?.coding?.[0]).toMatchObject(BUSINESS_STATUS.deferred);
    expect(await workspace.decide(alex, 'hfu-a', { kind: 'step-down' }, seen)).toMatchObject({
      kind: 'conflict',
      by: 'Alex Jones',
      current: { businessStatus: 'deferred', stage: 'enrolled' },
    });
    const again = await workspace.patient(alex, 'hfu-a');
    await expect(workspace.decide(alex, 'hfu-a', { kind: 'discharge' }, again.review?.version ?? '')).rejects.toThrow(
      'kind: step-down, continue or defer'
    );
    const kept = await workspace.decide(
      alex,
      'hfu-a',
      { kind: 'continue', note: 'The fall looks temporary' },
      again.review?.version ?? ''
    );
    expect(kept).toMatchObject({ kind: 'done', refreshed: true, stage: 'enrolled' });
    const review = await stepDownOf('hfu-a');
    expect(review.status).toBe('completed');
    expect(review.businessStatus?.coding?.[0]).toMatchObject(BUSINESS_STATUS['continue-plan']);
    expect(review.note?.at(-1)?.text).toMatch(/^Kept .*The fall looks temporary$/);

    // The run asks nothing more, and no second review while the patient still does not meet the criteria.
    const run = await runTwice();
    expect(run.actions['step-down']).toBeUndefined();
    expect(run.actions['complete-plan']).toBeUndefined();
    expect(
      (await practice.tagged<Task>('Task')).filter(
        (t) => t.code?.coding?.[0]?.code === 'step-down-review' && t.for?.reference?.endsWith('Patient/hfu-a')
      )
    ).toHaveLength(1);
    const plan = await practice.must<CarePlan>('CarePlan', 'hfu-a', 'care-plan');
    expect(plan.status).toBe('active');
    expect((await practice.must<Flag>('Flag', 'hfu-a', 'flag')).status).toBe('active');
    expect((await rowsOf('step-down')).map((r) => r.patient.id)).not.toContain('hfu-a');
    const version = (kept as { review: { version: string } }).review.version;
    const target = `Task/${review.id}/_history/${version}`;
    const provenance = (await practice.tagged<Provenance>('Provenance')).filter((p) =>
      p.target.some((t) => t.reference === target)
    );
    expect(provenance.map((p) => p.agent[0]?.who?.display)).toEqual(['Alex Jones']);
    const audits = (await practice.client.searchAll<AuditEvent>('AuditEvent', {})).filter((a) =>
      a.entity?.some((e) => e.what?.reference === target)
    );
    expect(audits).toHaveLength(1);
    expectValid([review, plan, ...provenance, ...audits]);
  });

  /** What a step-down by the MDT leaves in the record: the same whoever completed the step-down review. */
  async function expectSteppedDown(id: string): Promise<void> {
    const plan = await practice.must<CarePlan>('CarePlan', id, 'care-plan');
    expect(plan).toMatchObject({ status: 'completed', period: { end: AS_OF } });
    expect(plan.extension?.[0]?.valueCodeableConcept?.coding?.[0]?.code).toBe('stepped-down');
    const flag = await practice.must<Flag>('Flag', id, 'flag');
    expect(flag).toMatchObject({ status: 'inactive', period: { end: AS_OF } });
    const conversation = await practice.must<Task>('Task', id, 'what-matters-conversation');
    expect(conversation.status).toBe('cancelled');
    expect((await practice.membersFor(id))[0]?.period?.end).toBe(AS_OF);
    const review = await stepDownOf(id);
    expect(review).toMatchObject({ status: 'completed' });
    const [provenance] = (await practice.provenanceFor(plan)).filter((p) => p.reason?.length);
    expect(provenance?.reason).toEqual([{ text: 'stepped-down' }]);
    expect(provenance?.entity?.map((e) => e.what.reference)).toContain(`Task/${review.id}`);
    expect((await rowsOf('step-down')).map((r) => r.patient.id)).not.toContain(id);
    expectValid([plan, flag, conversation, review, provenance as Provenance]);
  }

  it('4. a step-down decided in the workspace completes the plan, ends the flag and the membership', async () => {
    const page = await workspace.patient(alex, 'hfu-b');
    expect(page.review).toMatchObject({ kind: 'step-down' });
    const result = await workspace.decide(alex, 'hfu-b', { kind: 'step-down' }, page.review?.version ?? '');
    expect(result).toMatchObject({ kind: 'done', refreshed: true, stage: 'discharged' });
    expect((await stepDownOf('hfu-b')).businessStatus?.coding?.[0]).toMatchObject(BUSINESS_STATUS['step-down']);
    const run = await runTwice(); // the targeted refresh did it all
    expect(run.actions['complete-plan']).toBeUndefined();
    await expectSteppedDown('hfu-b');
    expect((await workspace.patient(alex, 'hfu-b')).decision.allowed).toBe(false);
  });

  it('5. a platform completing the step-down review over FHIR with the step-down status has the same result', async () => {
    await practice.record(await stepDownOf('hfu-d'), {
      status: 'completed',
      businessStatus: { coding: [BUSINESS_STATUS['step-down']] },
      executionPeriod: { end: `${AS_OF}T12:00:00Z` },
    });
    expect((await runTwice()).actions).toMatchObject({ 'complete-plan': 1 });
    await expectSteppedDown('hfu-d');
    expect(await rowsOf('step-down')).toEqual([]);
  });

  it('6. a patient who meets the criteria again while their review is open: the run closes it, and the plan goes on', async () => {
    // hfu-e's admissions corrected away: a step-down review; then restored before the MDT decides.
    const admissions = (await practice.client.searchAll<Encounter>('Encounter', { subject: 'Patient/hfu-e' })).filter(
      (e) => e.id?.startsWith('hfu-e-adm')
    );
    expect(admissions.length).toBeGreaterThan(0);
    for (const e of admissions) {
      await practice.changeClinical<Encounter>('Encounter', e.id as string, { status: 'entered-in-error' });
    }
    expect((await runTwice()).actions).toMatchObject({ 'step-down': 1 });
    const open = await stepDownOf('hfu-e');
    expect(open.status).toBe('requested');
    for (const e of admissions) {
      await practice.changeClinical<Encounter>('Encounter', e.id as string, { status: e.status });
    }
    const planBefore = await practice.must<CarePlan>('CarePlan', 'hfu-e', 'care-plan');

    const run = await runTwice(); // the second run changes nothing (helpers/programme)
    expect(run.actions).toMatchObject({ 'close-step-down': 1 });
    const closed = await stepDownOf('hfu-e');
    expect(closed).toMatchObject({ status: 'cancelled', owner: open.owner, intent: 'proposal' });
    expect(closed.businessStatus?.coding?.[0]).toMatchObject(BUSINESS_STATUS['meets-criteria-again']);
    expect(closed.statusReason?.text).toMatch(/meets the programme criteria again/);
    const [provenance] = (await practice.provenanceFor(closed)).filter((p) => p.reason?.length);
    expect(provenance?.reason).toEqual([{ text: 'meets-criteria-again' }]);
    expect(provenance?.entity?.map((e) => e.what.reference)).toContain(`Task/${closed.id}`);
    // The patient stays on their plan, unchanged; off the step-down list.
    const plan = await practice.must<CarePlan>('CarePlan', 'hfu-e', 'care-plan');
    expect([plan.status, plan.meta?.versionId]).toEqual(['active', planBefore.meta?.versionId]);
    expect((await practice.must<Flag>('Flag', 'hfu-e', 'flag')).status).toBe('active');
    expect((await rowsOf('step-down')).map((r) => r.patient.id)).not.toContain('hfu-e');
    expectValid([closed, provenance as Provenance]);

    // Dropping out again asks the MDT again: the same review re-opened, as first written.
    for (const e of admissions) {
      await practice.changeClinical<Encounter>('Encounter', e.id as string, { status: 'entered-in-error' });
    }
    expect((await runTwice()).actions).toMatchObject({ 'step-down': 1 });
    const reopened = await stepDownOf('hfu-e');
    expect(reopened).toMatchObject({ id: open.id, status: 'requested' });
    expect([reopened.businessStatus, reopened.statusReason]).toEqual([undefined, undefined]);
    expect((await rowsOf('step-down')).map((r) => r.patient.id)).toContain('hfu-e');
  });
});
