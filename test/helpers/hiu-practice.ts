import type { Encounter, Organization, Patient, Resource } from '@medplum/fhirtypes';
import type { IsoDate } from '../../src/dates';
import { addDays, addMonths } from '../../src/dates';
import { codes, testNhsNumber } from '../../src/synth';

const { SYSTEM } = codes;
export const HIU_PRACTICE = 'practice-y99002';

/** A hand-made patient for the High Intensity Use programme: A&E attendances, days before the evaluation date. */
export interface HiuSpec {
  id: string;
  attendancesDaysAgo: number[];
  birthDate?: string;
  deceased?: boolean;
}

const days = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i * 3);

/**
 * The patients, chosen around NHS England's thresholds (more than 5 attendances in a month, more than 20 in a year).
 * Attendances in the last month are 1 to 28 days ago and older ones 40 to 340, so no date sits on a window's edge.
 */
export const HIU_SPECS: HiuSpec[] = [
  { id: 'hiu-month', attendancesDaysAgo: days(1, 6) },
  { id: 'hiu-month-edge', attendancesDaysAgo: days(1, 5) },
  { id: 'hiu-year', attendancesDaysAgo: [...days(2, 3), ...days(40, 18)] },
  { id: 'hiu-year-edge', attendancesDaysAgo: [...days(2, 2), ...days(40, 18)] },
  { id: 'hiu-both', attendancesDaysAgo: [...days(1, 7), ...days(41, 20)] },
  { id: 'hiu-child', attendancesDaysAgo: days(1, 8), birthDate: '2014-05-01' },
  { id: 'hiu-deceased', attendancesDaysAgo: days(1, 9), deceased: true },
  { id: 'hiu-long-ago', attendancesDaysAgo: days(400, 25) },
  { id: 'hiu-none', attendancesDaysAgo: [] },
];

/** The tier each patient should be in, from the specs alone: > 5 in the last 30 days first, > 20 in 365 second; adults only. */
export function expectedHiuTier(spec: HiuSpec, asOf: IsoDate): 'first' | 'second' | undefined {
  if (spec.deceased || (spec.birthDate && spec.birthDate > addMonths(asOf, -18 * 12))) {
    return undefined;
  }
  const inLast = (n: number) => spec.attendancesDaysAgo.filter((d) => d < n).length;
  return inLast(30) > 5 ? 'first' : inLast(365) > 20 ? 'second' : undefined;
}

export function hiuPractice(asOf: IsoDate, specs: readonly HiuSpec[] = HIU_SPECS): Resource[] {
  const practice: Organization = {
    resourceType: 'Organization',
    id: HIU_PRACTICE,
    identifier: [{ system: SYSTEM.ods, value: 'Y99002' }],
    name: 'Example practice',
  };
  return [practice, ...specs.flatMap((spec, index) => hiuPatient(asOf, spec, index))];
}

export function hiuPatient(asOf: IsoDate, spec: HiuSpec, index = 0): Resource[] {
  const patient: Patient = {
    resourceType: 'Patient',
    id: spec.id,
    identifier: [{ system: SYSTEM.nhsNumber, value: testNhsNumber(7000 + index) }],
    active: true,
    birthDate: spec.birthDate ?? '1971-08-20',
    ...(spec.deceased ? { deceasedDateTime: `${addDays(asOf, -1)}T08:00:00Z` } : {}),
    generalPractitioner: [{ reference: `Organization/${HIU_PRACTICE}` }],
  };
  const attendances = spec.attendancesDaysAgo.map((ago, n): Encounter => ({
    resourceType: 'Encounter',
    id: `${spec.id}-ed${n + 1}`,
    status: 'finished',
    class: { system: SYSTEM.actCode, code: 'EMER', display: 'emergency' },
    type: [{ coding: [{ system: SYSTEM.snomed, ...codes.ENCOUNTER.casualty }] }],
    subject: { reference: `Patient/${spec.id}` },
    period: { start: `${addDays(asOf, -ago)}T14:00:00Z`, end: `${addDays(asOf, -ago)}T18:00:00Z` },
  }));
  return [patient, ...attendances];
}
