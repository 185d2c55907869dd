import type {
  Consent,
  Encounter,
  Extension,
  MedicationRequest,
  Observation,
  Patient,
  Resource,
} from '@medplum/fhirtypes';
import { HFU_CODE } from '../../src/vocabulary';

/**
 * The tests' oracle for the programme's tiers: what NHS England's worked example says of a population, worked out
 * here from the FHIR resources the generator emitted (not from the generator's own counts, and not through the
 * connector's mapping or programme code), so that a test comparing it with the connector's cohort compares two
 * independent readings of the same records.
 */

export type Tier = 'first' | 'second';

export interface TierThresholds {
  firstAdmissions: number;
  secondAdmissions: number;
  repeatItems: number;
}

/** "Supporting High Frequency Users" (NHS England, 2022): 10 or more repeat items and 2 (first) or 1 (second) admissions. */
export const GUIDANCE: TierThresholds = { firstAdmissions: 2, secondAdmissions: 1, repeatItems: 10 };

/** What one patient's resources say, counted over the 12 months to the evaluation date. */
export interface PatientCounts {
  patientId: string;
  emergencyAdmissions: number;
  repeatMedications: number;
  edAttendances: number;
  gpEncounters: number;
  deceased: boolean;
  registered: boolean;
  optedOut: boolean;
}

const ADMISSION_METHOD = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod';
/** NHS Data Dictionary admission methods: 2x are the emergency admissions (21-25, 28, 2A-2D); 1x elective, 3x maternity. */
const EMERGENCY_METHOD = /^2[0-9A-Z]$/;
const VOID = new Set(['entered-in-error', 'cancelled']);

const londonDays = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Europe/London',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

/** The London calendar day of a FHIR date or dateTime. */
function londonDay(value: string): string {
  return value.length === 10 ? value : londonDays.format(new Date(value));
}

/** The same calendar day twelve months earlier (29 February → 28 February). */
function yearBefore(asOf: string): string {
  const [y, m, d] = asOf.split('-').map(Number) as [number, number, number];
  const lastDay = new Date(Date.UTC(y - 1, m, 0)).getUTCDate();
  return `${y - 1}-${String(m).padStart(2, '0')}-${String(Math.min(d, lastDay)).padStart(2, '0')}`;
}

function patientOf(resource: Resource): string | undefined {
  const ref =
    (resource as { subject?: { reference?: string }; patient?: { reference?: string } }).subject?.reference ??
    (resource as Consent).patient?.reference;
  return ref?.startsWith('Patient/') ? ref.slice('Patient/'.length) : undefined;
}

/** Every patient's counts, from their resources. */
export function countsFromResources(resources: readonly Resource[], asOf: string): Map<string, PatientCounts> {
  const from = yearBefore(asOf);
  const inWindow = (value: string | undefined): boolean => {
    const day = value ? londonDay(value) : undefined;
    return day !== undefined && day >= from && day <= asOf;
  };
  const counts = new Map<string, PatientCounts>();
  const practiceOf = new Map<string, Set<string>>();
  const repeats = new Map<string, Set<string>>();
  for (const r of resources) {
    if (r.resourceType === 'Patient' && r.id) {
      const patient = r as Patient;
      counts.set(r.id, {
        patientId: r.id,
        emergencyAdmissions: 0,
        repeatMedications: 0,
        edAttendances: 0,
        gpEncounters: 0,
        deceased:
          patient.deceasedBoolean === true ||
          (!!patient.deceasedDateTime && londonDay(patient.deceasedDateTime) <= asOf),
        registered: patient.active !== false,
        optedOut: false,
      });
      practiceOf.set(r.id, new Set((patient.generalPractitioner ?? []).map((gp) => gp.reference ?? '')));
      repeats.set(r.id, new Set());
    }
  }
  for (const r of resources) {
    const id = patientOf(r);
    const c = id ? counts.get(id) : undefined;
    if (!c || VOID.has((r as { status?: string }).status ?? '')) {
      continue;
    }
    if (r.resourceType === 'Encounter') {
      const e = r as Encounter;
      if (!inWindow(e.period?.start)) {
        continue;
      }
      if (e.class?.code === 'IMP' && isEmergencyAdmission(e)) {
        c.emergencyAdmissions++;
      }
      if (e.class?.code === 'EMER') {
        c.edAttendances++;
      }
      if (practiceOf.get(c.patientId)?.has(e.serviceProvider?.reference ?? '')) {
        c.gpEncounters++;
      }
    } else if (r.resourceType === 'MedicationRequest') {
      const m = r as MedicationRequest;
      const repeat = m.courseOfTherapyType?.coding?.some((coding) => coding.code === 'continuous');
      const code = m.medicationCodeableConcept?.coding?.[0]?.code;
      if (m.status === 'active' && m.intent === 'order' && repeat && code) {
        repeats.get(c.patientId)?.add(code);
      }
    } else if (r.resourceType === 'Consent') {
      const consent = r as Consent;
      c.optedOut ||= consent.status === 'active' && consent.provision?.type === 'deny';
    } else if (r.resourceType === 'Observation') {
      const o = r as Observation;
      const { system, code } = HFU_CODE.objection;
      c.optedOut ||= o.code.coding?.some((coding) => coding.system === system && coding.code === code) === true;
    }
  }
  for (const c of counts.values()) {
    c.repeatMedications = repeats.get(c.patientId)?.size ?? 0;
  }
  return counts;
}

function isEmergencyAdmission(encounter: Encounter): boolean {
  const extensions: Extension[] = [...(encounter.hospitalization?.extension ?? []), ...(encounter.extension ?? [])];
  return extensions.some(
    (ext) =>
      ext.url === ADMISSION_METHOD && ext.valueCodeableConcept?.coding?.some((c) => EMERGENCY_METHOD.test(c.code ?? ''))
  );
}

/** The tier the guidance gives a patient with these counts. */
export function tierOf(c: PatientCounts, t: TierThresholds = GUIDANCE): Tier | undefined {
  if (c.deceased || !c.registered || c.optedOut || c.repeatMedications < t.repeatItems) {
    return undefined;
  }
  if (c.emergencyAdmissions >= t.firstAdmissions) {
    return 'first';
  }
  return c.emergencyAdmissions >= t.secondAdmissions ? 'second' : undefined;
}

/** The candidates and their tiers, by patient id. */
export function expectedTiers(
  resources: readonly Resource[],
  asOf: string,
  t: TierThresholds = GUIDANCE
): Map<string, Tier> {
  const tiers = new Map<string, Tier>();
  for (const counts of countsFromResources(resources, asOf).values()) {
    const tier = tierOf(counts, t);
    if (tier) {
      tiers.set(counts.patientId, tier);
    }
  }
  return tiers;
}

export interface CalibrationFigures {
  patients: number;
  firstTier: number;
  secondTier: number;
  /** Per 60,000 patients, for the top 1% by GP encounters: the pulse article's 1,925 and 54,000. */
  top1PercentEdPer60k: number;
  top1PercentGpPer60k: number;
  /** Share of all GP encounters used by the top 5% of patients (the blog's 30-40%). */
  top5PercentGpShare: number;
}

/** The figures the published seeds are compared with, measured on a generated population's resources. */
export function calibrationFigures(resources: readonly Resource[], asOf: string): CalibrationFigures {
  const rows = [...countsFromResources(resources, asOf).values()];
  const byGp = [...rows].sort((a, b) => b.gpEncounters - a.gpEncounters);
  const top1 = byGp.slice(0, Math.max(1, Math.round(rows.length / 100)));
  const top5 = byGp.slice(0, Math.max(1, Math.round(rows.length / 20)));
  const sum = (of: readonly PatientCounts[], key: 'gpEncounters' | 'edAttendances'): number =>
    of.reduce((total, row) => total + row[key], 0);
  const scale = 60_000 / rows.length;
  const tiers = rows.map((row) => tierOf(row));
  return {
    patients: rows.length,
    firstTier: tiers.filter((t) => t === 'first').length,
    secondTier: tiers.filter((t) => t === 'second').length,
    top1PercentEdPer60k: Math.round(sum(top1, 'edAttendances') * scale),
    top1PercentGpPer60k: Math.round(sum(top1, 'gpEncounters') * scale),
    top5PercentGpShare: sum(top5, 'gpEncounters') / Math.max(1, sum(rows, 'gpEncounters')),
  };
}
