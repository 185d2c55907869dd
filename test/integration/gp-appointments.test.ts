import type { Appointment, Patient, Resource } from '@medplum/fhirtypes';
import { addMonths, londonDay } from '../../src/dates';
import type { RunningFhirServer } from '../../src/server';
import { startFhirServer } from '../../src/server';
import { synthesizePractice } from '../../src/synth';
import { gpContactAsAppointment, isGpContact } from '../helpers/recode';
import { runCli } from './helpers/cli';
import { AS_OF } from './helpers/server';

interface Report {
  complete: boolean;
  population: number;
  candidates: { patient: string; features: Record<string, unknown> }[];
  proposed: string[];
  skipped: unknown[];
}

/** An appointment that did not happen (a no-show) or has not yet (booked): never a contact. */
function notAContact(patientId: string, n: number, status: 'noshow' | 'booked', start: string): Appointment {
  return {
    resourceType: 'Appointment',
    id: `appt-${status}-${n}`,
    status,
    start,
    end: start.replace(/T(\d\d)/, (_, h: string) => `T${String(Number(h) + 1).padStart(2, '0')}`),
    participant: [{ actor: { reference: `Patient/${patientId}` }, status: 'accepted' }],
  };
}

const { resources: original, truth } = synthesizePractice({ patients: 400, seed: 21, asOf: AS_OF });
const patients = original.filter((r): r is Patient => r.resourceType === 'Patient');
// One patient, never a candidate (no admission), has an appointment whose serviceType is not a list: skipped, counted.
const malformedPatient = truth.find((t) => t.emergencyAdmissions === 0 && t.active && !t.deceased)?.patientId as string;
const appointments: Appointment[] = original.filter(isGpContact).map(gpContactAsAppointment);
patients.slice(0, 40).forEach((p, n) => {
  appointments.push(notAContact(p.id as string, n, 'noshow', `${addMonths(AS_OF, -2)}T09:00:00Z`));
  appointments.push(notAContact(p.id as string, n, n % 2 ? 'booked' : 'noshow', `${AS_OF}T08:00:00Z`));
});
const malformed = {
  ...notAContact(malformedPatient, 0, 'noshow', `${addMonths(AS_OF, -1)}T09:00:00Z`),
  id: 'appt-malformed',
  status: 'fulfilled',
  serviceType: { coding: [{ system: 'http://snomed.info/sct', code: '788007007' }] },
} as unknown as Appointment;
const recoded: Resource[] = [...original.filter((r) => !isGpContact(r)), ...appointments, malformed];

/** The oracle, from the Appointments: fulfilled, starting on a London day in the 12 months up to AS_OF. */
function fulfilledInWindow(): Map<string, number> {
  const start = addMonths(AS_OF, -12);
  const counts = new Map<string, number>();
  for (const appointment of appointments) {
    const day = londonDay(appointment.start);
    if (appointment.status === 'fulfilled' && day !== undefined && day >= start && day <= AS_OF) {
      const patient = appointment.participant.find((p) => p.actor?.reference?.startsWith('Patient/'));
      const id = patient?.actor?.reference?.slice('Patient/'.length) as string;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  return counts;
}

/**
 * GP contacts held only as Appointments, as a GP system's appointment book shares them: the synthetic practice's GP
 * encounters become Appointments (the patient one participant among others, finished → fulfilled, cancelled and in
 * error kept as such), with no-shows and future bookings beside them. Over HTTP, by each read strategy (lists of
 * patients, one patient per search, `$everything`, Bulk Data), the gp-record mapping counts each patient's fulfilled
 * appointments in the 12 months, as the resources say.
 */
describe('GP contacts recorded only as Appointments, with the gp-record mapping', () => {
  let server: RunningFhirServer;
  let originalServer: RunningFhirServer;
  const expected = fulfilledInWindow();
  // The cohort the encounters give, read once (by lists of patients): each read of the appointments must find it.
  let before: Report;

  beforeAll(async () => {
    [server, originalServer] = await Promise.all([
      startFhirServer({ resources: recoded }),
      startFhirServer({ resources: original }),
    ]);
    before = (await dryRun(originalServer.baseUrl, 'or-list')).report;
  });
  afterAll(() => Promise.all([server.stop(), originalServer.stop()]));

  /** How the run reads: searches with lists of patients, one patient per search, `$everything`, or Bulk Data. */
  type Read = 'or-list' | 'per-patient' | 'everything' | 'bulk';
  const env = (baseUrl: string, read: Read = 'or-list') => ({
    HFU_FHIR__BASE_URL: baseUrl,
    HFU_MAPPING: 'gp-record',
    ...(read === 'bulk' ? { HFU_EXTRACT__MODE: 'bulk' } : { HFU_EXTRACT__SUBJECT_SEARCH: read }),
    HFU_LOG__LEVEL: 'debug',
  });
  async function dryRun(baseUrl: string, read: Read): Promise<{ report: Report; stderr: string }> {
    const { code, stdout, stderr } = await runCli(['run', '--dry-run', '--json', '--now', AS_OF], env(baseUrl, read));
    expect({ code, stderr: code ? stderr.slice(-1500) : '' }).toEqual({ code: 0, stderr: '' });
    return { report: JSON.parse(stdout) as Report, stderr };
  }

  it('the recoded practice holds no GP encounter, and fulfilled appointments for most patients', () => {
    expect(recoded.filter(isGpContact)).toEqual([]);
    expect(expected.size).toBeGreaterThan(patients.length / 2);
    expect(appointments.some((a) => a.status === 'cancelled' || a.status === 'entered-in-error')).toBe(true);
  });

  it.each(['or-list', 'per-patient', 'everything', 'bulk'] as const)(
    'counts each candidate’s fulfilled appointments, read by %s, and finds the cohort the encounters gave',
    async (read) => {
      const { report, stderr } = await dryRun(server.baseUrl, read);
      expect(report.complete).toBe(true);
      expect(report.skipped).toEqual([
        {
          patient: `Patient/${malformedPatient}`,
          reason: expect.stringContaining('Appointment/appt-malformed: serviceType is not a list of CodeableConcept'),
        },
      ]);
      expect(report.population).toBe(patients.length);
      expect(report.candidates.length).toBeGreaterThan(0);
      for (const candidate of report.candidates) {
        const id = candidate.patient.replace(/^Patient\//, '');
        expect({ id, gp: candidate.features.gpEncounters }).toEqual({ id, gp: expected.get(id) ?? 0 });
      }
      expect(report.candidates.some((c) => (c.features.gpEncounters as number) > 0)).toBe(true);
      const how: Record<Read, RegExp> = {
        'or-list': /"path":"Appointment"/, // searched by patient, as the mapping says
        'per-patient': /"path":"Appointment"/,
        everything: /"path":"Patient\/[^"]+\/\$everything"/,
        bulk: /"message":"bulk export ready"/,
      };
      expect(stderr).toMatch(how[read]);

      expect([...report.proposed].sort()).toEqual([...before.proposed].sort());
      const gpBefore = new Map(before.candidates.map((c) => [c.patient, c.features.gpEncounters]));
      for (const candidate of report.candidates) {
        expect(candidate.features.gpEncounters).toBe(gpBefore.get(candidate.patient));
      }
    }
  );

  it('explains any patient’s GP contacts from their appointments, naming them as evidence', async () => {
    const busiest = [...expected]
      .filter(([id]) => id !== malformedPatient)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3);
    const withNoShow = patients[1]?.id as string;
    expect(withNoShow).not.toBe(malformedPatient);
    for (const [id, count] of [...busiest, [withNoShow, expected.get(withNoShow) ?? 0] as const]) {
      const { code, stdout } = await runCli(
        ['explain', `Patient/${id}`, '--now', AS_OF, '--json'],
        env(server.baseUrl)
      );
      expect(code).toBe(0);
      const explanation = JSON.parse(stdout) as {
        features: Record<string, unknown>;
        evidence: Record<string, string[]>;
      };
      expect({ id, gp: explanation.features.gpEncounters }).toEqual({ id, gp: count });
      expect(explanation.evidence.gpEncounters?.every((ref) => ref.startsWith('Appointment/'))).toBe(true);
      expect(explanation.evidence.gpEncounters?.some((ref) => /noshow|booked/.test(ref))).toBe(false);
    }
    const skipped = await runCli(['explain', `Patient/${malformedPatient}`, '--now', AS_OF], env(server.baseUrl));
    expect(skipped.code).toBe(1);
    expect(skipped.stderr).toContain('serviceType is not a list of CodeableConcept');
  });
});
