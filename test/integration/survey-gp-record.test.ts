import type { Appointment, Encounter, MedicationRequest, MedicationStatement, Resource } from '@medplum/fhirtypes';
import { main } from '../../src/cli/main';
import { addMonths, londonDay } from '../../src/dates';
import type { RunningFhirServer } from '../../src/server';
import { startFhirServer } from '../../src/server';
import type { SurveyReport } from '../../src/survey';
import { synthesizePractice } from '../../src/synth';
import { captureIo } from '../helpers/io';
import { gpContactAsAppointment, isGpContact } from '../helpers/recode';
import { AS_OF } from './helpers/server';

/**
 * `hfu survey --mapping gp-record` on a GP feed: half the medicines as MedicationStatement (some coded in Read v2, a
 * system no list of the mapping uses), every GP contact as an Appointment (some with a GP system's local slot type,
 * some booked ahead). The survey reports each type a feature reads — the statements' status and medicine code
 * systems beside the requests', the appointments' status and service — as the resources say.
 */
const READ_V2 = 'http://read.info/readv2';
const LOCAL_SLOT_TYPE = 'https://gp-system.example/fhir/CodeSystem/slot-type';

const { resources: original } = synthesizePractice({ patients: 150, seed: 31, asOf: AS_OF });
const resources: Resource[] = [];
let n = 0;
for (const resource of original) {
  n++;
  if (isGpContact(resource)) {
    const appointment = gpContactAsAppointment(resource, n);
    if (n % 5 === 0) {
      appointment.serviceType = [{ coding: [{ system: LOCAL_SLOT_TYPE, code: 'GP-10MIN' }] }];
    }
    resources.push(appointment);
  } else if (resource.resourceType === 'MedicationRequest' && n % 2 === 0) {
    resources.push(asStatement(resource, n % 6 === 0));
  } else {
    resources.push(resource);
  }
}
// Booked ahead: rightly after the survey date. A fulfilled appointment after it is a data quality fault.
const patientRefs = original.filter((r) => r.resourceType === 'Patient').map((p) => `Patient/${p.id}`);
const ahead = `${addMonths(AS_OF, 1)}T09:00:00Z`;
const extra: Appointment[] = patientRefs.slice(0, 6).map((reference, i) => ({
  resourceType: 'Appointment',
  id: `ahead-${i}`,
  status: i < 5 ? 'booked' : 'fulfilled',
  start: ahead,
  end: ahead.replace('T09', 'T10'),
  participant: [{ actor: { reference }, status: 'accepted' }],
}));
// With no start: rightly so when only proposed (R4 app-3), a data quality fault when fulfilled.
const startless: Appointment[] = (['proposed', 'fulfilled'] as const).map((status, i) => ({
  resourceType: 'Appointment',
  id: `no-start-${i}`,
  status,
  participant: [{ actor: { reference: patientRefs[10 + i] }, status: 'accepted' }],
}));
resources.push(...extra, ...startless);

function asStatement(request: MedicationRequest, readCoded: boolean): MedicationStatement {
  return {
    resourceType: 'MedicationStatement',
    id: `ms-${request.id}`,
    status:
      request.status === 'active' ? 'active' : request.status === 'entered-in-error' ? 'entered-in-error' : 'stopped',
    subject: request.subject,
    medicationCodeableConcept: readCoded
      ? { coding: [{ system: READ_V2, code: 'bxd5.' }] }
      : request.medicationCodeableConcept,
    dateAsserted: request.authoredOn,
  };
}

const ofType = <T extends Resource>(type: T['resourceType']): T[] =>
  resources.filter((r): r is T => r.resourceType === type);

function tally(keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  keys.forEach((k) => (out[k] = (out[k] ?? 0) + 1));
  return out;
}

describe('hfu survey with gp-record on a GP feed (statements and appointments)', () => {
  let server: RunningFhirServer;
  let report: SurveyReport;
  const values = (field: string): Record<string, number> =>
    Object.fromEntries((report.codedFields.find((f) => f.id === field)?.values ?? []).map((v) => [v.value, v.count]));

  beforeAll(async () => {
    server = await startFhirServer({ resources });
    const io = captureIo({ HFU_FHIR__BASE_URL: server.baseUrl, HFU_LOG__LEVEL: 'error' });
    expect(await main(['survey', '--now', AS_OF, '--mapping', 'gp-record', '--json'], io)).toBe(0);
    report = JSON.parse(io.out()) as SurveyReport;
  });
  afterAll(() => server.stop());

  it('reads both types of a feature over two, and says which fields of each it tests', () => {
    const gp = report.features.find((f) => f.name === 'gpEncounters');
    expect(gp?.types).toEqual(['Encounter', 'Appointment']);
    expect(gp?.resources).toBe(ofType('Encounter').length + ofType('Appointment').length);
    expect(gp?.fields).toEqual(
      expect.arrayContaining(['Appointment.start', 'Appointment.status', 'Encounter.period.start'])
    );
    // The oracle: fulfilled appointments in the 12 months, whose service is unnamed or a GP one.
    const start = addMonths(AS_OF, -12);
    const counted = ofType<Appointment>('Appointment').filter((a) => {
      const day = londonDay(a.start);
      const service = a.serviceType?.[0]?.coding?.[0]?.system;
      return (
        a.status === 'fulfilled' && day !== undefined && day >= start && day <= AS_OF && service !== LOCAL_SLOT_TYPE
      );
    });
    expect(counted.length).toBeGreaterThan(0);
    expect(gp?.selected).toBe(counted.length);
    const repeats = report.features.find((f) => f.name === 'repeatMedications');
    expect(repeats?.types).toEqual(['MedicationRequest', 'MedicationStatement']);
    expect(repeats?.fields).toEqual(expect.arrayContaining(['MedicationStatement.status']));
  });

  it('reports the coded fields of every type a feature reads, not only its first', () => {
    const statements = ofType<MedicationStatement>('MedicationStatement');
    expect(values('MedicationStatement.status')).toEqual(tally(statements.map((s) => s.status)));
    expect(values('MedicationStatement.medication')).toEqual(
      tally(statements.flatMap((s) => s.medicationCodeableConcept?.coding ?? []).map((c) => c.system as string))
    );
    expect(values('MedicationRequest.intent')).toEqual(
      tally(ofType<MedicationRequest>('MedicationRequest').map((m) => m.intent))
    );
    expect(values('Appointment.status')).toEqual(tally(ofType<Appointment>('Appointment').map((a) => a.status)));
    const fields = new Map(report.codedFields.map((f) => [f.id, f]));
    expect(fields.get('MedicationStatement.status')?.features).toEqual(['repeatMedications']);
    expect(fields.get('Appointment.serviceType')?.features).toEqual(['gpEncounters']);
    expect(fields.get('Encounter.serviceType')?.features).toEqual(
      expect.arrayContaining(['gpEncounters', 'edAttendances'])
    );
  });

  it('names what the mapping cannot place on the second type: Read v2 medicines, a local slot type', () => {
    const readCoded = ofType<MedicationStatement>('MedicationStatement').filter(
      (s) => s.medicationCodeableConcept?.coding?.[0]?.system === READ_V2
    ).length;
    const localSlots = ofType<Appointment>('Appointment').filter(
      (a) => a.serviceType?.[0]?.coding?.[0]?.system === LOCAL_SLOT_TYPE
    ).length;
    expect(readCoded).toBeGreaterThan(0);
    expect(localSlots).toBeGreaterThan(0);
    expect(report.unrecognised).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'MedicationStatement.medication', value: READ_V2, count: readCoded }),
        expect.objectContaining({
          field: 'Appointment.serviceType',
          value: LOCAL_SLOT_TYPE,
          count: localSlots,
          features: ['gpEncounters'],
        }),
      ])
    );
    const statuses = report.unrecognised.filter((u) => /status$/.test(u.field));
    expect(statuses).toEqual([]); // fulfilled, booked, cancelled, stopped...: standard codes
  });

  it('reads Appointment and MedicationStatement as the mapping’s own, not as types it ignores', () => {
    const unread = report.unreadTypes.map((t) => t.resourceType);
    expect(unread).not.toContain('Appointment');
    expect(unread).not.toContain('MedicationStatement');
    expect(report.reads.map((r) => r.resourceType)).toEqual(expect.arrayContaining(['Appointment']));
  });

  it('counts a fulfilled appointment dated ahead, or with no start, as a fault; booked ones ahead as none', () => {
    const quality = report.quality.find((q) => q.resource === 'Appointment');
    const births = new Map(
      original.filter((r) => r.resourceType === 'Patient').map((p) => [`Patient/${p.id}`, p.birthDate ?? ''])
    );
    const beforeBirth = ofType<Appointment>('Appointment').filter((a) => {
      const day = londonDay(a.start);
      return (
        day !== undefined &&
        day <
          (births.get(a.participant.find((p) => p.actor?.reference?.startsWith('Patient/'))?.actor?.reference ?? '') ??
            '')
      );
    }).length;
    expect(quality).toMatchObject({
      resources: ofType('Appointment').length,
      futureDates: extra.filter((a) => a.status === 'fulfilled').length,
      withoutStart: startless.filter((a) => a.status === 'fulfilled').length,
      datesBeforeBirth: beforeBirth,
      unresolvedPatientReferences: 0,
      withoutPatientOnServer: 0,
      enteredInError: ofType<Appointment>('Appointment').filter((a) => a.status === 'entered-in-error').length,
    });
    expect(report.notEvaluated).toEqual([]);
  });
});

// The encounters the practice keeps (admissions, A&E) stay Encounters: the recoding touched GP contacts only.
test('the recoding leaves no GP encounter and keeps the others', () => {
  expect(resources.filter(isGpContact)).toEqual([]);
  expect(resources.filter((r): r is Encounter => r.resourceType === 'Encounter').length).toBe(
    original.filter((r) => r.resourceType === 'Encounter' && !isGpContact(r)).length
  );
});
