import type { CarePlan, Encounter, Task } from '@medplum/fhirtypes';
import { configSchema } from '../../src/config';
import { FhirClient } from '../../src/fhir';
import { silentLogger } from '../../src/logging';
import type { Report } from '../../src/report';
import type { RunningFhirServer } from '../../src/server';
import { startFhirServer } from '../../src/server';
import { enrolmentDates, synthesizePractice } from '../../src/synth';
import { MANAGED_TAG, token } from '../../src/vocabulary';
import { runCli } from './helpers/cli';

/**
 * The impact report through the real lifecycle: a practice with three years of history is refreshed on ENROLLED, the
 * MDT accepts every proposal, the next refresh enrols them; a year of follow-up (no programme effect) is added, and
 * the report is run a year on. The figures are checked against the encounters read back from the server.
 */
const ENROLLED = '2025-11-23';
const REPORT = '2026-11-23';
const PRACTICE = { patients: 1200, seed: 9, asOf: ENROLLED, historyYears: 3 };

let server: RunningFhirServer;
let client: FhirClient;
let report: Report;
let enrolled: Map<string, string>;

beforeAll(async () => {
  server = await startFhirServer({ resources: synthesizePractice(PRACTICE).resources });
  const fhir = configSchema.parse({ fhir: { baseUrl: server.baseUrl } }).fhir;
  client = FhirClient.fromConfig({ ...fhir, baseUrl: server.baseUrl }, { logger: silentLogger() });
  const env = { HFU_FHIR__BASE_URL: server.baseUrl, HFU_LOG__LEVEL: 'warn' };
  expect((await runCli(['run', '--now', ENROLLED], env)).code).toBe(0);
  for (const review of await client.searchAll<Task>('Task', { _tag: token(MANAGED_TAG) })) {
    await client.update<Task>({ ...review, status: 'accepted', lastModified: new Date().toISOString() });
  }
  expect((await runCli(['run', '--now', ENROLLED], env)).code).toBe(0);
  enrolled = enrolmentDates(await client.searchAll<CarePlan>('CarePlan', { _tag: token(MANAGED_TAG) }));
  const followUp = synthesizePractice({
    ...PRACTICE,
    followUp: { from: ENROLLED, until: REPORT },
    programmeEffect: 0,
    enrolments: enrolled,
  });
  await server.repo.load(followUp.resources);
  const result = await runCli(['report', '--now', REPORT, '--json'], env);
  expect(result.code).toBe(0);
  report = JSON.parse(result.stdout) as Report;
}, 300_000);
afterAll(() => server.stop());

describe('hfu report: impact', () => {
  it('compares the enrolled, from their enrolment date, with patients just under the threshold on that date', () => {
    expect(enrolled.size).toBeGreaterThan(3);
    expect([...enrolled.values()].every((d) => d === ENROLLED)).toBe(true);
    expect(report.impact.groups.enrolled).toBe(enrolled.size);
    expect(report.impact.tierDates).toEqual([ENROLLED]);
    // with no capacity set every qualifying patient was proposed: nobody waits, the comparison is the just-under
    expect(report.impact.groups.waitlisted).toBe(0);
    expect(report.impact.groups.justUnder).toBeGreaterThan(0);
    expect(report.impact.emergencyAdmissions.comparison.patients).toBe(report.impact.groups.justUnder);
  });

  it("gives the enrolled's admissions a year before and since as the encounters on the server count them", async () => {
    const encounters = await client.searchAll<Encounter>('Encounter', { class: 'IMP' });
    const days = new Map<string, string[]>();
    for (const e of encounters) {
      const patient = e.subject?.reference?.replace('Patient/', '') ?? '';
      const start = e.period?.start;
      if (
        enrolled.has(patient) &&
        start &&
        e.status !== 'entered-in-error' &&
        e.status !== 'cancelled' &&
        isEmergency(e)
      ) {
        days.set(patient, [...(days.get(patient) ?? []), londonDay(start)]);
      }
    }
    const ids = [...enrolled.keys()];
    const before = ids.map((id) => (days.get(id) ?? []).filter((d) => d >= '2024-11-23' && d <= ENROLLED).length);
    const after = ids.map((id) => (days.get(id) ?? []).filter((d) => d > ENROLLED && d <= REPORT).length);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const years = (Date.parse(REPORT) - Date.parse(ENROLLED)) / (365.25 * 86_400_000);
    const figures = report.impact.emergencyAdmissions;
    expect(figures.enrolled.before).toBeCloseTo(mean(before), 3);
    expect(figures.enrolled.after).toBeCloseTo(mean(after) / years, 3);
    expect(figures.naiveBeforeAfter.difference).toBeCloseTo(mean(after) / years - mean(before), 3);
  });

  it('says "too few patients to say" for groups this small, whatever the before and after show', () => {
    expect(report.impact.groups.enrolled).toBeLessThan(30);
    expect(report.impact.verdict).toBe('too few patients to say');
    expect(report.impact.emergencyAdmissions.naiveBeforeAfter.difference).toBeLessThan(0); // regression to the mean
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
