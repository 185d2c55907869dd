import type {
  Encounter,
  Extension,
  MedicationRequest,
  MedicationStatement,
  Patient,
  Resource,
} from '@medplum/fhirtypes';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main';
import { addMonths, londonDay } from '../../src/dates';
import { createLogger } from '../../src/logging';
import type { RunningFhirServer, ServerBehaviour } from '../../src/server';
import { startFhirServer } from '../../src/server';
import type { SurveyReport } from '../../src/survey';
import { codes, synthesizePractice } from '../../src/synth';
import { captureIo } from '../helpers/io';
import { admissionExtensions, LOCAL_ADMISSION_URL, recodeAdmissionMethod } from '../helpers/recode';
import { leakedMarkers, patientMarkers } from './helpers/leaks';
import { AS_OF } from './helpers/server';

const { SYSTEM } = codes;

/** The embedded server with a logger that keeps the method of every request it answers. */
async function startServer(
  resources: Resource[],
  behave?: ServerBehaviour
): Promise<{ server: RunningFhirServer; methods: string[] }> {
  const methods: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => {
    for (const match of chunk.toString().matchAll(/"method":"([A-Z]+)"/g)) {
      methods.push(match[1] as string);
    }
  });
  const logger = createLogger({ level: 'debug', format: 'json', stream });
  return { server: await startFhirServer({ resources, logger, behave }), methods };
}

async function survey(server: RunningFhirServer, args: string[] = []): Promise<{ code: number; out: string }> {
  const io = captureIo({ HFU_FHIR__BASE_URL: server.baseUrl, HFU_LOG__LEVEL: 'error' });
  const code = await main(['survey', '--now', AS_OF, ...args], io);
  return { code, out: io.out() + io.err() };
}

const ofType = <T extends Resource>(resources: readonly Resource[], type: T['resourceType']): T[] =>
  resources.filter((r): r is T => r.resourceType === type);

function tally(keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  keys.forEach((k) => (out[k] = (out[k] ?? 0) + 1));
  return out;
}

const valuesOf = (report: SurveyReport, field: string): Record<string, number> =>
  Object.fromEntries((report.codedFields.find((f) => f.id === field)?.values ?? []).map((v) => [v.value, v.count]));

describe('hfu survey on the synthetic practice with uk-core', () => {
  const { resources } = synthesizePractice({ patients: 250, seed: 11, asOf: AS_OF });
  let server: RunningFhirServer;
  let methods: string[];
  let report: SurveyReport;

  beforeAll(async () => {
    ({ server, methods } = await startServer(resources));
    const result = await survey(server, ['--json']);
    expect(result.code).toBe(0);
    report = JSON.parse(result.out) as SurveyReport;
  });
  afterAll(() => server.stop());

  it('recognises every coded value the mapping tests', () => {
    expect(report.unrecognised).toEqual([]);
    expect(report.unreadTypes).toEqual([]);
    expect(report.notEvaluated).toEqual([]);
    expect(report.emptyFields).toEqual(['Encounter.hospitalization.admitSource']); // the generator never writes it
  });

  it('samples the whole practice when it is smaller than the sample', () => {
    expect(report.population.size).toBe(250);
    expect(report.sample).toMatchObject({ requested: 500, patients: 250, read: 250 });
  });

  it('counts records per patient and what each feature selects, as the resources say', () => {
    const encounters = ofType<Encounter>(resources, 'Encounter');
    const perPatient = new Map<string, number>();
    encounters.forEach((e) =>
      perPatient.set(e.subject?.reference ?? '', (perPatient.get(e.subject?.reference ?? '') ?? 0) + 1)
    );
    const counts = ofType(resources, 'Patient')
      .map((p) => perPatient.get(`Patient/${p.id}`) ?? 0)
      .sort((a, b) => a - b);
    const unplanned = report.features.find((f) => f.name === 'unplannedAdmissions');
    expect(unplanned?.resources).toBe(encounters.length);
    expect(unplanned?.resourcesPerPatient.median).toBe(counts[Math.ceil(0.5 * counts.length) - 1]);
    expect(unplanned?.resourcesPerPatient.p90).toBe(counts[Math.ceil(0.9 * counts.length) - 1]);
    expect(unplanned?.fields).toEqual(
      expect.arrayContaining(['class.code', 'hospitalization.extension', 'period.start'])
    );

    // The oracle: emergency inpatient admissions starting in the 12 months to AS_OF, not cancelled or in error.
    const start = addMonths(AS_OF, -12);
    const emergency = new Set(codes.EMERGENCY_ADMISSION_METHODS.map((c) => c.code));
    const admissions = encounters.filter((e) => {
      const day = londonDay(e.period?.start);
      const method = admissionExtensions(e)[0]?.valueCodeableConcept?.coding?.[0]?.code ?? '';
      return (
        e.class?.code === 'IMP' &&
        emergency.has(method) &&
        !['cancelled', 'entered-in-error'].includes(e.status) &&
        day !== undefined &&
        day >= start &&
        day <= AS_OF
      );
    });
    expect(admissions.length).toBeGreaterThan(0);
    expect(unplanned?.selected).toBe(admissions.length);
    expect(unplanned?.patientsWithAny).toBe(new Set(admissions.map((e) => e.subject?.reference)).size);
  });

  it('reports the values seen in each coded field, with their counts', () => {
    const encounters = ofType<Encounter>(resources, 'Encounter');
    expect(valuesOf(report, 'Encounter.class')).toEqual(
      tally(encounters.map((e) => `${e.class.system}|${e.class.code}`))
    );
    const methodKey = (x: Extension) =>
      `${x.valueCodeableConcept?.coding?.[0]?.system}|${x.valueCodeableConcept?.coding?.[0]?.code}`;
    expect(valuesOf(report, 'Encounter.hospitalization.extension:admissionMethod')).toEqual(
      tally(encounters.flatMap((e) => e.hospitalization?.extension ?? []).map(methodKey))
    );
    expect(valuesOf(report, 'Encounter.extension:admissionMethod')).toEqual(
      tally(encounters.flatMap((e) => e.extension ?? []).map(methodKey))
    );
    expect(valuesOf(report, 'MedicationRequest.intent')).toEqual(
      tally(ofType<MedicationRequest>(resources, 'MedicationRequest').map((m) => m.intent))
    );
    expect(Object.keys(valuesOf(report, 'Condition.code'))).toEqual([SYSTEM.snomed]);
  });

  it('checks what the server declares, and only ever reads', () => {
    expect(report.capability.read).toBe(true);
    expect(report.capability.checks.find((c) => c.use === 'Encounter: subject')?.declared).toBe(true);
    expect(report.capability.checks.find((c) => c.use === 'transaction')?.declared).toBe(true);
    expect(report.capability.checks.find((c) => c.use.startsWith('Patient: $everything'))?.declared).toBe(true);
    expect(methods.length).toBeGreaterThan(0);
    expect(new Set(methods)).toEqual(new Set(['GET']));
  });

  it('prints no patient data in any of its outputs', async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'hfu-survey-')), 'survey.html');
    const text = await survey(server, ['--out', out]);
    expect(text.code).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toMatch(/<h2 id="section-\d+">Values the mapping does not recognise<\/h2>/);
    expect(text.out).toContain('The mapping recognises every coded value it tests.');
    const markers = patientMarkers(resources);
    expect(leakedMarkers(text.out + html + JSON.stringify(report), markers, [AS_OF])).toEqual([]);
  });
});

describe('hfu survey on a recoded population', () => {
  const { resources: original } = synthesizePractice({ patients: 200, seed: 12, asOf: AS_OF });
  const resources: Resource[] = original.map((r) => recode(structuredClone(r)));
  const ambulatory = ofType<Encounter>(resources, 'Encounter').filter((e) => e.class.code === 'AMB');
  // Data quality faults, on ordinary GP contacts: no period, a start after the survey date, a start before birth.
  const faults = {
    noPeriod: ambulatory.slice(0, 3),
    future: ambulatory.slice(3, 5),
    beforeBirth: ambulatory.slice(5, 7),
  };
  faults.noPeriod.forEach((e) => delete e.period);
  faults.future.forEach((e) => (e.period = { start: `${addMonths(AS_OF, 1)}T09:00:00Z` }));
  faults.beforeBirth.forEach((e) => (e.period = { start: '1900-01-01T09:00:00Z' }));
  const malformed = ambulatory[7] as Encounter;
  malformed.period = { start: 'last Tuesday' };
  const orphans: Resource[] = [1, 2].map((n) => ({
    resourceType: 'Encounter',
    id: `orphan-${n}`,
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
  }));
  resources.push(...orphans);
  let server: RunningFhirServer;
  let methods: string[];
  let report: SurveyReport;
  let text: string;

  /**
   * The three differences: emergency admissions from A&E (code 21) recorded with a local code 2E; every other
   * admission method moved to a local extension on Encounter; every medicine as a MedicationStatement.
   */
  function recode(resource: Resource): Resource {
    if (resource.resourceType === 'MedicationRequest') {
      const statement: MedicationStatement = {
        resourceType: 'MedicationStatement',
        id: resource.id,
        status: resource.status === 'active' ? 'active' : 'stopped',
        medicationCodeableConcept: resource.medicationCodeableConcept,
        subject: resource.subject,
        effectiveDateTime: resource.authoredOn,
      };
      return statement;
    }
    if (resource.resourceType === 'Encounter') {
      recodeAdmissionMethod(resource);
    }
    return resource;
  }

  beforeAll(async () => {
    ({ server, methods } = await startServer(resources));
    const json = await survey(server, ['--json', '--sample', '300']);
    expect(json.code).toBe(0);
    report = JSON.parse(json.out) as SurveyReport;
    text = (await survey(server, ['--sample', '300'])).out;
  });
  afterAll(() => server.stop());

  const encounters = () => ofType<Encounter>(resources, 'Encounter');

  it('names the local admission-method code, with its count', () => {
    const local = encounters().filter(
      (e) => admissionExtensions(e)[0]?.valueCodeableConcept?.coding?.[0]?.code === '2E'
    );
    expect(local.length).toBeGreaterThan(0);
    const found = report.unrecognised.find((u) => u.value === `${SYSTEM.admissionMethod}|2E`);
    expect(found).toMatchObject({
      field: 'Encounter.hospitalization.extension:admissionMethod',
      count: local.length,
      features: ['unplannedAdmissions'],
      lists: ['elective-admission-methods', 'emergency-admission-methods', 'other-admission-methods'],
    });
    expect(found?.message).toContain(
      `seen ${local.length} times: in none of elective-admission-methods, emergency-admission-methods or other-admission-methods`
    );
    expect(text).toContain(found?.message);
  });

  it('names the admission method moved to a local extension on Encounter', () => {
    const moved = encounters().filter((e) => e.extension?.some((x) => x.url === LOCAL_ADMISSION_URL));
    expect(moved.length).toBeGreaterThan(0);
    expect(report.unusedExtensions).toContainEqual({
      resource: 'Encounter',
      path: 'Encounter.extension',
      url: LOCAL_ADMISSION_URL,
      count: moved.length,
    });
    const inLocal = valuesOf(report, 'Encounter.extension:localAdmissionMethod');
    expect(Object.values(inLocal).reduce((a, b) => a + b, 0)).toBe(moved.length);
    expect(report.unrecognised.filter((u) => u.field === 'Encounter.extension:localAdmissionMethod')).toHaveLength(
      Object.keys(inLocal).length
    );
    expect(valuesOf(report, 'Encounter.extension:admissionMethod')).toEqual({});
    expect(report.emptyFields).toContain('Encounter.extension:admissionMethod');
    expect(text).toContain(LOCAL_ADMISSION_URL);
  });

  it('names medicines held as MedicationStatement, which the mapping does not read', () => {
    const statements = ofType(resources, 'MedicationStatement').length;
    expect(statements).toBeGreaterThan(0);
    expect(report.unreadTypes).toContainEqual({ resourceType: 'MedicationStatement', count: statements });
    const repeats = report.features.find((f) => f.name === 'repeatMedications');
    expect(repeats).toMatchObject({ resources: 0, selected: 0, patientsWithAny: 0 });
    expect(text).toMatch(/MedicationStatement\s+\d+/);
  });

  it('counts the data quality faults written into the population', () => {
    const encounterQuality = report.quality.find((q) => q.resource === 'Encounter');
    const inError = encounters().filter((e) => e.status === 'entered-in-error' && e.subject).length;
    // The generator itself gives some infants contacts before their birth: the oracle counts from the resources.
    const births = new Map(ofType<Patient>(resources, 'Patient').map((p) => [`Patient/${p.id}`, p.birthDate ?? '']));
    const beforeBirth = encounters().filter((e) => {
      const day = londonDay(e.period?.start);
      return day !== undefined && day < (births.get(e.subject?.reference ?? '') ?? '');
    });
    expect(beforeBirth).toEqual(expect.arrayContaining(faults.beforeBirth));
    expect(encounterQuality).toMatchObject({
      resources: encounters().filter((e) => e.subject).length,
      withoutPeriod: faults.noPeriod.length,
      futureDates: faults.future.length,
      datesBeforeBirth: beforeBirth.length,
      withoutPatientOnServer: orphans.length,
      enteredInError: inError,
      unresolvedPatientReferences: 0,
    });
    expect(inError).toBeGreaterThan(0);
  });

  it('counts the patients the mapping cannot evaluate, naming the element but not the record', () => {
    expect(report.notEvaluated).toEqual([
      { feature: 'unplannedAdmissions', problem: 'Encounter period.start is not a valid dateTime', patients: 1 },
    ]);
    expect(text).not.toContain(malformed.id);
    expect(text).not.toContain('last Tuesday');
  });

  it('only ever reads', () => {
    expect(new Set(methods)).toEqual(new Set(['GET']));
  });
});

describe('hfu survey on a server without OR lists on references (--behave minimal)', () => {
  const { resources } = synthesizePractice({ patients: 60, seed: 13, asOf: AS_OF });
  const patient = ofType<Patient>(resources, 'Patient')[0] as Patient;
  const statement: MedicationStatement = {
    resourceType: 'MedicationStatement',
    id: 'statement-1',
    status: 'active',
    medicationCodeableConcept: { coding: [{ system: SYSTEM.dmd, code: '319773006' }] },
    subject: { reference: `Patient/${patient.id}` },
  };
  resources.push(statement);
  let server: RunningFhirServer;
  let methods: string[];
  let report: SurveyReport;

  beforeAll(async () => {
    ({ server, methods } = await startServer(resources, 'minimal'));
    const result = await survey(server, ['--json']);
    expect(result.code).toBe(0);
    report = JSON.parse(result.out) as SurveyReport;
  });
  afterAll(() => server.stop());

  it('reads one patient at a time, says so, and finds the same records', () => {
    expect(report.reads.map((r) => r.strategy)).toEqual([
      'per-patient',
      'per-patient',
      'per-patient',
      'per-patient',
      'per-patient',
    ]);
    const encounters = ofType<Encounter>(resources, 'Encounter').length;
    expect(report.features.find((f) => f.name === 'edAttendances')?.resources).toBe(encounters);
    expect(report.unrecognised).toEqual([]);
    expect(report.unreadTypes).toEqual([
      { resourceType: 'MedicationStatement', count: 1, problem: 'on the whole server: it refused a list of patients' },
    ]);
    expect(report.capability.checks.find((c) => c.use === 'transaction')?.declared).toBe(false);
    expect(report.capability.checks.find((c) => c.use.startsWith('Patient: $everything'))?.declared).toBe(false);
    expect(new Set(methods)).toEqual(new Set(['GET']));
  });
});

describe('hfu survey usage', () => {
  it('refuses a sample that is not a whole number of at least 1', async () => {
    for (const sample of ['0', 'many']) {
      const io = captureIo({ HFU_FHIR__BASE_URL: 'http://127.0.0.1:9/fhir', HFU_LOG__LEVEL: 'error' });
      expect(await main(['survey', '--sample', sample], io)).toBe(2);
      expect(io.err()).toContain('--sample takes a whole number');
    }
  });
});
