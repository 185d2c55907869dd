import type { CarePlan, Encounter, Task } from '@medplum/fhirtypes';
import { configSchema } from '../../src/config';
import { FhirClient } from '../../src/fhir';
import { silentLogger } from '../../src/logging';
import type { Report } from '../../src/report';
import type { RunningFhirServer } from '../../src/server';
import { startFhirServer } from '../../src/server';
import type { PracticeOptions } from '../../src/synth';
import { enrolmentDates, synthesizePractice } from '../../src/synth';
import { MANAGED_TAG, token } from '../../src/vocabulary';
import { runCli } from './helpers/cli';

/**
 * The impact report through the real lifecycle: a practice with two years of history is refreshed on ENROLLED, the
 * MDT accepts every proposal, the next refresh enrols them; a year of follow-up (no programme effect) is added, and
 * the report is run a year on. Once with every qualifying patient proposed (no capacity), once with a lottery over
 * capacity. The figures are checked against the resources read back from the server.
 */
const ENROLLED = '2025-11-23';
const REPORT = '2026-11-23';
const YEAR_BEFORE = '2024-11-23';

/**
 * A few hundred patients with two years of history (as far back as the report reads: the year before enrolment, and
 * persistence two years before REPORT), and a repeat-items threshold of 6 rather than the programme's 10, so that a
 * practice this small has enough candidates.
 */
const practice = (patients: number): PracticeOptions => ({ patients, seed: 9, asOf: ENROLLED, historyYears: 2 });
const THRESHOLDS = { HFU_PROGRAMME__PARAMETERS__REPEAT_ITEMS: '6' };

interface Enrolled {
  server: RunningFhirServer;
  client: FhirClient;
  report: Report;
  /** Enrolment date by patient id, from the programme's CarePlans on the server. */
  enrolled: Map<string, string>;
}

/**
 * The lifecycle on a synthetic practice with `config` (as environment variables): a run on ENROLLED, every proposal
 * accepted, a second run that enrols them, a year of follow-up added, and `hfu report` on REPORT.
 */
async function enrolAndFollowUp(options: PracticeOptions, config: Record<string, string>): Promise<Enrolled> {
  const server = await startFhirServer({ resources: synthesizePractice(options).resources });
  const fhir = configSchema.parse({ fhir: { baseUrl: server.baseUrl } }).fhir;
  const client = FhirClient.fromConfig({ ...fhir, baseUrl: server.baseUrl }, { logger: silentLogger() });
  const env = { ...config, HFU_FHIR__BASE_URL: server.baseUrl, HFU_LOG__LEVEL: 'warn' };
  expect((await runCli(['run', '--now', ENROLLED], env)).code).toBe(0);
  for (const review of await client.searchAll<Task>('Task', { _tag: token(MANAGED_TAG) })) {
    await client.update<Task>({ ...review, status: 'accepted', lastModified: new Date().toISOString() });
  }
  expect((await runCli(['run', '--now', ENROLLED], env)).code).toBe(0);
  const enrolled = enrolmentDates(await client.searchAll<CarePlan>('CarePlan', { _tag: token(MANAGED_TAG) }));
  const followUp = synthesizePractice({
    ...options,
    followUp: { from: ENROLLED, until: REPORT },
    programmeEffect: 0,
    enrolments: enrolled,
  });
  await server.repo.load(followUp.resources);
  const result = await runCli(['report', '--now', REPORT, '--json'], env);
  expect(result.code).toBe(0);
  return { server, client, report: JSON.parse(result.stdout) as Report, enrolled };
}

/**
 * Stops the practice's server and drops its resources once its tests are done, so that the next practice does not run
 * beside them. Nothing else is left open, but jest replaces a worker whose heap (garbage included) passes
 * workerIdleMemoryLimit after a file, and a replacement started as the run ends is what jest reports as "a worker
 * process has failed to exit gracefully".
 */
async function release(enrolment: Enrolled): Promise<void> {
  await enrolment.server.stop();
  enrolment.server.repo.clear();
}

/**
 * Per patient of `ids`, emergency admissions in the year before ENROLLED and per patient-year since, as the
 * inpatient Encounters on the server count them (by London day), averaged over the group.
 */
async function admissionRates(client: FhirClient, ids: readonly string[]): Promise<{ before: number; after: number }> {
  const days = new Map<string, string[]>();
  for await (const { resources } of client.searchBySubjects<Encounter>('Encounter', 'subject', ids, { class: 'IMP' })) {
    for (const e of resources) {
      const patient = e.subject?.reference?.replace('Patient/', '') ?? '';
      const start = e.period?.start;
      if (start && e.status !== 'entered-in-error' && e.status !== 'cancelled' && isEmergency(e)) {
        days.set(patient, [...(days.get(patient) ?? []), londonDay(start)]);
      }
    }
  }
  const before = ids.map((id) => (days.get(id) ?? []).filter((d) => d >= YEAR_BEFORE && d <= ENROLLED).length);
  const after = ids.map((id) => (days.get(id) ?? []).filter((d) => d > ENROLLED && d <= REPORT).length);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const years = (Date.parse(REPORT) - Date.parse(ENROLLED)) / (365.25 * 86_400_000);
  return { before: mean(before), after: mean(after) / years };
}

/** Four hundred patients: five qualify, three are just under. */
describe('hfu report: impact', () => {
  let enrolment: Enrolled;
  beforeAll(async () => {
    enrolment = await enrolAndFollowUp(practice(400), THRESHOLDS);
  }, 300_000);
  afterAll(() => release(enrolment));

  it('compares the enrolled, from their enrolment date, with patients just under the threshold on that date', () => {
    const { report, enrolled } = enrolment;
    expect(enrolled.size).toBeGreaterThan(3);
    expect([...enrolled.values()].every((d) => d === ENROLLED)).toBe(true);
    expect(report.impact.groups.enrolled).toBe(enrolled.size);
    expect(report.impact.tierDates).toEqual([ENROLLED]);
    // with no capacity set every qualifying patient was proposed: nobody waits, the comparison is the just-under
    expect(report.impact.comparison).toBe('waitlistedAndJustUnder');
    expect(report.impact.groups.waitlisted).toBe(0);
    expect(report.impact.groups.lottery).toBe(0);
    expect(report.impact.groups.justUnder).toBeGreaterThan(0);
    expect(report.impact.emergencyAdmissions.comparison.patients).toBe(report.impact.groups.justUnder);
  });

  it("gives the enrolled's admissions a year before and since as the encounters on the server count them", async () => {
    const { report, enrolled, client } = enrolment;
    const rates = await admissionRates(client, [...enrolled.keys()]);
    const figures = report.impact.emergencyAdmissions;
    expect(figures.enrolled.before).toBeCloseTo(rates.before, 3);
    expect(figures.enrolled.after).toBeCloseTo(rates.after, 3);
    expect(figures.naiveBeforeAfter.difference).toBeCloseTo(rates.after - rates.before, 3);
  });

  it('says "too few patients to say" for groups this small, whatever the before and after show', () => {
    const { report } = enrolment;
    expect(report.impact.groups.enrolled).toBeLessThan(30);
    expect(report.impact.verdict).toBe('too few patients to say');
    expect(report.impact.emergencyAdmissions.naiveBeforeAfter.difference).toBeLessThan(0); // regression to the mean
  });
});

/**
 * `programme.capacity: { first: 1, second: 1, selection: lottery }` on five hundred patients: a tier with more
 * candidates than its one place draws it, the rest wait. The comparison group is oracled from the review Tasks on the
 * server: every candidate a draw recorded, less every patient the programme has a Task for (drawn, enrolled).
 */
describe('hfu report: impact against a lottery over capacity', () => {
  const SEED = 20_251_123;
  let enrolment: Enrolled;
  let tasks: Task[];
  beforeAll(async () => {
    enrolment = await enrolAndFollowUp(practice(500), {
      ...THRESHOLDS,
      HFU_PROGRAMME__CAPACITY__FIRST: '1',
      HFU_PROGRAMME__CAPACITY__SECOND: '1',
      HFU_PROGRAMME__CAPACITY__SELECTION: 'lottery',
      HFU_PROGRAMME__CAPACITY__SEED: String(SEED),
    });
    tasks = await enrolment.client.searchAll<Task>('Task', { _tag: token(MANAGED_TAG) });
  }, 300_000);
  afterAll(() => release(enrolment));

  const inputs = (task: Task, code: string) => (task.input ?? []).filter((i) => i.type.coding?.[0]?.code === code);
  const patientOf = (reference: string | undefined) => /^Patient\/([^/]+)$/.exec(reference ?? '')?.[1];

  /** The draws recorded on the review Tasks: by draw, its places and candidates. */
  function draws(): Map<string, { places: number; candidates: string[] }> {
    const byDraw = new Map<string, { places: number; candidates: string[] }>();
    for (const task of tasks) {
      const draw = inputs(task, 'lottery-draw')[0]?.valueString;
      if (draw) {
        const candidates = inputs(task, 'lottery-candidate').map((i) => patientOf(i.valueReference?.reference));
        const places = inputs(task, 'lottery-places')[0]?.valueInteger ?? NaN;
        byDraw.set(draw, { places, candidates: candidates.filter((id): id is string => Boolean(id)) });
      }
    }
    return byDraw;
  }

  /** The oracle: every candidate of a draw, less every patient with a Task of the programme. */
  function notDrawn(): string[] {
    const withTask = new Set(tasks.map((t) => patientOf(t.for?.reference)));
    const candidates = new Set([...draws().values()].flatMap((d) => d.candidates));
    return [...candidates].filter((id) => !withTask.has(id)).sort();
  }

  it('had more candidates than places, enrolled those drawn, and left several waiting', () => {
    const { enrolled } = enrolment;
    const recorded = [...draws().entries()];
    expect(recorded.map(([draw]) => draw).every((d) => d.startsWith(`${ENROLLED}/`))).toBe(true);
    expect(recorded.some(([, d]) => d.candidates.length > d.places)).toBe(true);
    expect(recorded.every(([, d]) => d.places === 1)).toBe(true);
    expect(enrolled.size).toBeGreaterThan(0);
    expect(enrolled.size).toBeLessThanOrEqual(2); // one place per tier
    const candidates = new Set(recorded.flatMap(([, d]) => d.candidates));
    expect([...enrolled.keys()].filter((id) => candidates.has(id)).length).toBeGreaterThan(0); // drawn, then enrolled
    expect([...enrolled.values()].every((d) => d === ENROLLED)).toBe(true);
    expect(notDrawn().length).toBeGreaterThanOrEqual(4);
  });

  it("compares the enrolled with the lottery's candidates not drawn, as the review Tasks record them", async () => {
    const { report, enrolled, client } = enrolment;
    const comparison = notDrawn();
    expect(report.impact.comparison).toBe('lottery');
    expect(report.impact.groups).toMatchObject({ enrolled: enrolled.size, lottery: comparison.length });
    expect(report.impact.tierDates).toEqual([ENROLLED]);
    const figures = report.impact.emergencyAdmissions;
    expect(figures.comparison.patients).toBe(comparison.length);
    const rates = await admissionRates(client, comparison);
    expect(figures.comparison.before).toBeCloseTo(rates.before, 3);
    expect(figures.comparison.after).toBeCloseTo(rates.after, 3);
    const enrolledRates = await admissionRates(client, [...enrolled.keys()]);
    expect(figures.enrolled.before).toBeCloseTo(enrolledRates.before, 3);
    expect(figures.enrolled.after).toBeCloseTo(enrolledRates.after, 3);
  });
});

function isEmergency(e: Encounter): boolean {
  const url = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod';
  return [...(e.hospitalization?.extension ?? []), ...(e.extension ?? [])].some(
    (x) => x.url === url && (x.valueCodeableConcept?.coding ?? []).some((c) => /^2[0-9A-Z]$/.test(c.code ?? ''))
  );
}

const londonDays = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', dateStyle: 'short' });
function londonDay(value: string): string {
  return value.length === 10 ? value : londonDays.format(new Date(value));
}
