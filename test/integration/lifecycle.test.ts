import type { CarePlan, Encounter, Flag, Patient, Resource, Task } from '@medplum/fhirtypes';
import { addDays } from '../../src/dates';
import { validateAgainstProfile } from '../../src/profiles';
import { BUSINESS_STATUS, IDENTIFIER, TASK_CODE } from '../../src/vocabulary';
import type { WriteStrategy } from '../../src/writeback';
import { resolveStrategy } from '../../src/writeback';
import { emergencyAdmission } from './helpers/practice';
import type { PracticeOptions, RunJson, Writes } from './helpers/programme';
import { AS_OF, CANDIDATES, ProgrammePractice, SPECS } from './helpers/programme';
import type { FaultyProxy } from './helpers/proxy';
import { startFaultyProxy } from './helpers/proxy';

interface Setup {
  /** The source's behaviour, and whether the record is kept on a separate target. */
  options: PracticeOptions;
  /** `extract.subjectSearch`: what suits the source. */
  subjectSearch: 'or-list' | 'per-patient' | 'everything';
  /** What `writeback.strategy: auto` picks from the target's CapabilityStatement. */
  auto: WriteStrategy;
}

/**
 * One endpoint, as itself and behaving like other servers; and a read-only source with the programme's record on a
 * separate target. Each with the settings that suit it.
 */
const SETUPS: [string, Setup][] = [
  ['on the embedded server', { options: {}, subjectSearch: 'or-list', auto: 'transaction' }],
  ['on a server like HAPI', { options: { behave: 'hapi' }, subjectSearch: 'everything', auto: 'transaction' }],
  ['on a minimal server', { options: { behave: 'minimal' }, subjectSearch: 'per-patient', auto: 'individual' }],
  [
    'with a read-only source and a separate writable target',
    { options: { behave: 'read-only', separateTarget: true }, subjectSearch: 'or-list', auto: 'transaction' },
  ],
];

let practice: ProgrammePractice;
/**
 * In front of a single endpoint: what the runs sent it. A separate target's runs go straight to the source, whose
 * URL the record's absolute references name (separate-endpoints.test.ts counts what reaches each).
 */
let proxy: FaultyProxy | undefined;
let env: Record<string, string> = {};

async function hfuRun(asOf: string): Promise<RunJson> {
  const { code, json, stderr } = await practice.run(asOf, { baseUrl: proxy?.baseUrl, env });
  expect({ code, stderr: code ? stderr.slice(-2000) : '' }).toEqual({ code: 0, stderr: '' });
  expect(json.complete).toBe(true);
  expect(json.writeFailures).toEqual([]);
  expect(json.conflicts).toEqual([]);
  return json;
}

/** A run, then the same run again: the second finds everything in place and writes nothing. */
async function runTwice(asOf: string): Promise<[RunJson, Writes]> {
  const first = await hfuRun(asOf);
  const second = await hfuRun(asOf);
  expect(second.writes).toMatchObject({ created: 0, updated: 0, provenance: 0 });
  return [first, second.writes];
}

/**
 * Versions of the record's resources already found valid on this setup's server: a version's content never changes,
 * so each stage validates what the stages before it wrote or changed, and takes the rest as validated.
 */
const validated = new Set<string>();

/** Every resource the connector wrote validates against the profile it declares. */
async function expectEveryWrittenResourceValid(written: Resource[]): Promise<void> {
  expect(written.length).toBeGreaterThan(0);
  for (const resource of written) {
    const ref = `${resource.resourceType}/${resource.id}`;
    const version = `${ref}/_history/${resource.meta?.versionId ?? ''}`;
    if (resource.meta?.versionId && validated.has(version)) {
      continue;
    }
    expect({ ref, issues: validateAgainstProfile(resource) }).toEqual({ ref, issues: [] });
    validated.add(version);
  }
}

describe.each(SETUPS)('the HFU lifecycle %s, driven by what the MDT and clinicians record', (_setup, setup) => {
  let clinicianFlag: Flag;
  let clinicianPlan: CarePlan;
  beforeAll(async () => {
    validated.clear();
    practice = await ProgrammePractice.start({}, setup.options);
    proxy = setup.options.separateTarget ? undefined : await startFaultyProxy(practice.server.baseUrl, () => undefined);
    env = { HFU_WRITEBACK__STRATEGY: 'auto', HFU_EXTRACT__SUBJECT_SEARCH: setup.subjectSearch };
  });
  afterAll(async () => {
    await proxy?.stop();
    await practice.stop();
  });

  it(`0. writeback.strategy auto picks ${setup.auto} from what the target declares`, async () => {
    expect(await resolveStrategy(practice.client, 'auto')).toBe(setup.auto);
  });

  it('1. proposes every candidate to the MDT', async () => {
    clinicianFlag = (
      await practice.client.create<Flag>({
        resourceType: 'Flag',
        status: 'active',
        code: { text: 'Falls risk' },
        subject: { reference: practice.sourceRef('Patient/hfu-a') },
        author: { reference: 'PractitionerRole/gp-1' },
      })
    ).resource;
    clinicianPlan = (
      await practice.client.create<CarePlan>({
        resourceType: 'CarePlan',
        status: 'active',
        intent: 'plan',
        title: 'Diabetes care plan',
        subject: { reference: practice.sourceRef('Patient/hfu-a') },
        author: { reference: 'PractitionerRole/gp-1' },
      })
    ).resource;
    const [run, again] = await runTwice(AS_OF);
    expect(run.writes).toEqual({ created: CANDIDATES + 1, updated: 0, unchanged: 0, provenance: CANDIDATES + 1 });
    expect(again.unchanged).toBe(CANDIDATES + 1);
    expect(run.proposed.sort()).toEqual(SPECS.filter((s) => s.id.startsWith('hfu-')).map((s) => `Patient/${s.id}`));
    const review = await practice.must<Task>('Task', 'hfu-e', 'mdt-review');
    expect(review).toMatchObject({ status: 'requested', intent: 'proposal', owner: { reference: 'CareTeam/pcn-mdt' } });
    const inputs = Object.fromEntries(
      (review.input ?? []).map((i) => [
        i.type.coding?.[0]?.code,
        i.valueReference?.reference ?? i.valueCodeableConcept?.coding?.[0]?.code,
      ])
    );
    expect(inputs).toMatchObject({ 'dominant-risk': 'psychosocial', 'proposed-owner': 'PractitionerRole/coach-1' });
    await expectEveryWrittenResourceValid(await practice.written());
  });

  it('2. enrols whom the MDT accepts (with their owner, or the proposed one), respects declines, waitlists over capacity', async () => {
    const review = (id: string) => practice.must<Task>('Task', id, 'mdt-review');
    const decided = { lastModified: new Date().toISOString() };
    await practice.record(await review('hfu-a'), {
      ...decided,
      status: 'accepted',
      owner: { reference: 'PractitionerRole/gp-1' },
    });
    await practice.record(await review('hfu-b'), {
      ...decided,
      status: 'completed',
      businessStatus: { coding: [BUSINESS_STATUS.enrol] },
    });
    await practice.record(await review('hfu-c'), {
      ...decided,
      status: 'rejected',
      statusReason: { text: 'Already under the respiratory team' },
    });
    await practice.record(await review('hfu-d'), {
      ...decided,
      status: 'completed',
      businessStatus: { coding: [BUSINESS_STATUS.decline] },
    });
    await practice.record(await review('hfu-e'), { ...decided, status: 'accepted' });
    await practice.record(await review('hfu-h'), { ...decided, status: 'accepted' });

    // a, b, e enrolled: Flag, CarePlan, conversation each; h waits (the coach's one place goes to e); f and g
    // still under review (unchanged); the Group: a, b, e active, c and d leave.
    const [run, again] = await runTwice(AS_OF);
    expect(run.writes).toEqual({ created: 9, updated: 1, unchanged: 2, provenance: 4 });
    expect(again.unchanged).toBe(3); // f's and g's reviews, the Group
    expect(run.actions).toEqual({ enrol: 3 });
    expect(run.awaitingCapacity).toEqual([{ patient: 'Patient/hfu-h', risk: 'psychosocial' }]);

    const flag = await practice.must<Flag>('Flag', 'hfu-a', 'flag');
    expect(flag).toMatchObject({
      status: 'active',
      period: { start: AS_OF },
      author: { identifier: { system: IDENTIFIER.device } },
    });
    expect(flag.category?.flatMap((c) => c.coding?.map((x) => x.code))).toEqual(['HFU', 'first']);
    const plan = await practice.must<CarePlan>('CarePlan', 'hfu-a', 'care-plan');
    const conversation = await practice.must<Task>('Task', 'hfu-a', 'what-matters-conversation');
    expect(plan).toMatchObject({ status: 'active', intent: 'plan', author: { reference: 'PractitionerRole/gp-1' } });
    expect(plan.addresses?.map((a) => a.reference).sort()).toEqual(
      ['Condition/hfu-a-cond1', 'Condition/hfu-a-cond2', 'Condition/hfu-a-cond3'].map((r) => practice.sourceRef(r))
    );
    expect(plan.supportingInfo?.map((r) => r.reference)).toEqual(
      expect.arrayContaining(
        ['Encounter/hfu-a-adm1', 'Encounter/hfu-a-adm2', 'MedicationRequest/hfu-a-med1'].map((r) =>
          practice.sourceRef(r)
        )
      )
    );
    expect(plan.activity?.map((a) => a.reference?.reference)).toEqual([`Task/${conversation.id}`]);
    expect(conversation).toMatchObject({
      status: 'requested',
      intent: 'order',
      code: { coding: [TASK_CODE.conversation] },
      owner: { reference: 'PractitionerRole/gp-1' },
      basedOn: [{ reference: `CarePlan/${plan.id}` }],
      restriction: { period: { start: AS_OF, end: addDays(AS_OF, 14) } },
    });
    const [provenance, ...more] = await practice.provenanceFor(flag);
    expect(more).toEqual([]);
    expect(provenance?.target.map((t) => t.reference).sort()).toEqual(
      [`CarePlan/${plan.id}`, `Flag/${flag.id}`, `Task/${conversation.id}`].sort()
    );
    expect(provenance?.agent[0]?.who?.identifier?.system).toBe(IDENTIFIER.device);
    expect(provenance?.entity?.map((e) => e.what.reference)).toEqual(
      expect.arrayContaining(
        ['Encounter/hfu-a-adm1', 'MedicationRequest/hfu-a-med12'].map((r) => practice.sourceRef(r))
      )
    );

    const reviewB = await review('hfu-b');
    const proposedForB = reviewB.input?.find((i) => i.type.coding?.[0]?.code === 'proposed-owner')?.valueReference
      ?.reference;
    expect(proposedForB).toMatch(/^PractitionerRole\/(gp-1|pharm-1)$/);
    expect((await practice.must<CarePlan>('CarePlan', 'hfu-b', 'care-plan')).author?.reference).toBe(proposedForB);
    expect((await practice.must<Task>('Task', 'hfu-e', 'what-matters-conversation')).owner?.reference).toBe(
      'PractitionerRole/coach-1'
    );
    expect(await practice.managed<Flag>('Flag', 'hfu-h', 'flag')).toBeUndefined();
    for (const declined of ['hfu-c', 'hfu-d']) {
      expect(await practice.managed<Flag>('Flag', declined, 'flag')).toBeUndefined();
      expect((await practice.membersFor(declined))[0]?.period?.end).toBe(AS_OF);
    }
    expect((await practice.membersFor('hfu-a'))[0]).toMatchObject({ inactive: false, period: { start: AS_OF } });
    expect((await practice.membersFor('hfu-h'))[0]).toMatchObject({ inactive: true });
    await expectEveryWrittenResourceValid(await practice.written());
  });

  it('3. schedules a check-in once the conversation is done; asks for a step-down review when criteria no longer hold', async () => {
    const conversation = await practice.must<Task>('Task', 'hfu-a', 'what-matters-conversation');
    await practice.record(conversation, {
      status: 'completed',
      executionPeriod: { start: `${AS_OF}T09:00:00Z`, end: `${AS_OF}T10:00:00Z` },
    });
    await practice.changeClinical<Encounter>('Encounter', 'hfu-b-adm1', { status: 'entered-in-error' });

    // a: a check-in and its CarePlan activity; b: a step-down review. f, g unchanged.
    const [run, again] = await runTwice(AS_OF);
    expect(run.writes).toEqual({ created: 2, updated: 1, unchanged: 3, provenance: 2 });
    expect(again.unchanged).toBe(3);
    expect(run.actions).toEqual({ 'schedule-check-in': 1, 'step-down': 1 });
    const checkIn = await practice.must<Task>('Task', 'hfu-a', 'check-in', 1, 1);
    expect(checkIn).toMatchObject({
      status: 'requested',
      owner: { reference: 'PractitionerRole/gp-1' },
      restriction: { period: { start: addDays(AS_OF, 14), end: addDays(AS_OF, 28) } },
    });
    const plan = await practice.must<CarePlan>('CarePlan', 'hfu-a', 'care-plan');
    expect(plan.activity?.map((a) => a.reference?.reference)).toEqual([
      `Task/${conversation.id}`,
      `Task/${checkIn.id}`,
    ]);
    const stepDown = await practice.must<Task>('Task', 'hfu-b', 'step-down-review');
    expect(stepDown).toMatchObject({ status: 'requested', intent: 'proposal' });
    expect((await practice.must<Flag>('Flag', 'hfu-b', 'flag')).status).toBe('active'); // never a silent removal
    await expectEveryWrittenResourceValid(await practice.written());
  });

  it('4. discharges when a clinician completes the care plan; takes out the dead and deregistered; frees their places', async () => {
    const planB = await practice.must<CarePlan>('CarePlan', 'hfu-b', 'care-plan');
    await practice.record(planB, { status: 'completed', period: { ...planB.period, end: AS_OF } });
    await practice.changeClinical<Patient>('Patient', 'hfu-e', { deceasedDateTime: `${AS_OF}T06:00:00Z` });
    await practice.changeClinical<Patient>('Patient', 'hfu-f', { active: false });
    // c, declined at the second tier, has another admission: first tier now, so proposed again within the cool-off.
    await practice.addClinical(emergencyAdmission('hfu-c-adm2', 'hfu-c', addDays(AS_OF, -3)));

    // b: Flag inactive, conversation and step-down cancelled. e: Flag inactive, conversation cancelled, CarePlan
    // revoked. h: enrolled in e's place. f: review cancelled. c: a new review. g: unchanged. The Group.
    const [run, again] = await runTwice(AS_OF);
    expect(run.writes).toEqual({ created: 4, updated: 8, unchanged: 1, provenance: 6 });
    expect(again.unchanged).toBe(3); // c's new review, g's, the Group
    expect(run.actions).toEqual({ discharge: 1, exit: 2, enrol: 1, propose: 1 });
    expect(run.awaitingCapacity).toEqual([]);

    const flagB = await practice.must<Flag>('Flag', 'hfu-b', 'flag');
    expect(flagB).toMatchObject({ status: 'inactive', period: { end: AS_OF } });
    for (const kind of ['what-matters-conversation', 'step-down-review']) {
      expect((await practice.must<Task>('Task', 'hfu-b', kind)).status).toBe('cancelled');
    }
    expect((await practice.membersFor('hfu-b'))[0]?.period?.end).toBe(AS_OF);

    const planE = await practice.must<CarePlan>('CarePlan', 'hfu-e', 'care-plan');
    expect(planE).toMatchObject({ status: 'revoked', period: { end: AS_OF } });
    expect((await practice.must<Flag>('Flag', 'hfu-e', 'flag')).status).toBe('inactive');
    expect((await practice.must<Task>('Task', 'hfu-e', 'what-matters-conversation')).status).toBe('cancelled');
    const why = (await practice.provenanceFor(planE)).filter((p) => p.activity?.text === 'exit');
    expect(why).toHaveLength(1);
    expect(why[0]?.reason?.map((r) => r.text)).toEqual(['deceased']);
    expect(why[0]?.target).toHaveLength(3); // Flag, CarePlan, conversation

    expect((await practice.must<Task>('Task', 'hfu-f', 'mdt-review')).status).toBe('cancelled');
    expect((await practice.must<Task>('Task', 'hfu-h', 'what-matters-conversation')).owner?.reference).toBe(
      'PractitionerRole/coach-1'
    );
    expect((await practice.must<Task>('Task', 'hfu-c', 'mdt-review', 2)).reasonCode?.coding?.[0]?.code).toBe('first');
    expect((await practice.must<Task>('Task', 'hfu-c', 'mdt-review', 1)).status).toBe('rejected'); // history kept
    await expectEveryWrittenResourceValid(await practice.written());
  });

  it('5. after the cool-off, a discharged patient with renewed admissions and a declined one re-enter as new candidates', async () => {
    const later = addDays(AS_OF, 200);
    await practice.addClinical(emergencyAdmission('hfu-b-adm2', 'hfu-b', addDays(later, -10)));
    const checkIn = await practice.must<Task>('Task', 'hfu-a', 'check-in', 1, 1);
    await practice.record(checkIn, {
      status: 'completed',
      executionPeriod: { end: `${addDays(AS_OF, 15)}T11:00:00Z` },
    });

    // b and d: new reviews (episode 2); a: check-in 2 and its activity; c and g: unchanged reviews; the Group.
    const [run, again] = await runTwice(later);
    expect(run.writes).toEqual({ created: 3, updated: 2, unchanged: 2, provenance: 4 });
    expect(again.unchanged).toBe(5); // the reviews of b, c, d and g, the Group
    expect(run.proposed.sort()).toEqual(['Patient/hfu-b', 'Patient/hfu-d']);
    for (const id of ['hfu-b', 'hfu-d']) {
      expect(await practice.must<Task>('Task', id, 'mdt-review', 2)).toMatchObject({ status: 'requested' });
      expect((await practice.membersFor(id)).map((m) => m.period)).toEqual([
        { start: AS_OF, end: AS_OF },
        { start: later },
      ]);
    }
    expect((await practice.must<Task>('Task', 'hfu-a', 'check-in', 1, 2)).restriction?.period?.start).toBe(
      addDays(AS_OF, 28)
    );
    await expectEveryWrittenResourceValid(await practice.written());
  });

  it('never touched the Flag and CarePlan a clinician wrote on the same patient', async () => {
    expect(await practice.client.read<Flag>('Flag', clinicianFlag.id as string)).toEqual(clinicianFlag);
    expect(await practice.client.read<CarePlan>('CarePlan', clinicianPlan.id as string)).toEqual(clinicianPlan);
  });

  // On one endpoint, what the proxy saw; a separate target's traffic is separate-endpoints.test.ts's to count.
  (setup.options.separateTarget ? [] : [setup]).forEach(({ subjectSearch, auto }) =>
    it(`read by ${subjectSearch} and wrote by ${auto} throughout`, () => {
      const seen = proxy?.seen ?? [];
      const gets = seen.filter((s) => s.startsWith('GET '));
      const everything = gets.some((s) => s.includes('/$everything'));
      const orLists = gets.some((s) => /[?&]subject=Patient%2F[^&]*%2CPatient/.test(s));
      expect({ everything, orLists }).toEqual({
        everything: subjectSearch === 'everything',
        orLists: subjectSearch === 'or-list',
      });
      const bundles = seen.filter((s) => /^POST \/fhir\/R4\/?$/.test(s));
      expect(bundles.length > 0).toBe(auto !== 'individual');
    })
  );
});
