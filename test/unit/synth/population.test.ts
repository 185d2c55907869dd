import type { Encounter, MedicationRequest, Patient, Resource } from '@medplum/fhirtypes';
import { validateResource } from '@medplum/core';
import { addMonths, londonDate } from '../../../src/dates';
import { loadR4Definitions } from '../../../src/server';
import type { PatientTruth } from '../../../src/synth';
import { codes, generatePatient, isValidNhsNumber, synthesizePractice } from '../../../src/synth';

const AS_OF = '2026-11-23';
const practice = synthesizePractice({ patients: 2000, seed: 1, asOf: AS_OF });

const ofType = <T extends Resource>(type: T['resourceType']): T[] =>
  practice.resources.filter((r): r is T => r.resourceType === type);

describe('determinism', () => {
  it('generates the same patient for the same seed, whatever the population size', () => {
    const a = generatePatient({ patients: 10, seed: 42, asOf: AS_OF }, 7);
    const b = generatePatient({ patients: 100_000, seed: 42, asOf: AS_OF }, 7);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const c = generatePatient({ patients: 10, seed: 43, asOf: AS_OF }, 7);
    expect(JSON.stringify(c)).not.toBe(JSON.stringify(a));
  });
});

describe('UK Core conventions', () => {
  it('identifies every patient by a valid, unique NHS number and registers them with an ODS-coded practice', () => {
    const patients = ofType<Patient>('Patient');
    const numbers = patients.map((p) => p.identifier?.find((i) => i.system === codes.SYSTEM.nhsNumber)?.value ?? '');
    expect(numbers.every(isValidNhsNumber)).toBe(true);
    expect(new Set(numbers).size).toBe(patients.length);
    const practiceOrg = practice.resources.find((r) => r.resourceType === 'Organization');
    expect(practiceOrg).toMatchObject({ identifier: [{ system: codes.SYSTEM.ods, value: 'Y99001' }] });
    expect(patients.every((p) => p.generalPractitioner?.[0]?.reference === 'Organization/y99001')).toBe(true);
  });

  it('uses every encounter class, and admission methods from the UK Core code system', () => {
    const encounters = ofType<Encounter>('Encounter');
    expect(new Set(encounters.map((e) => e.class.code))).toEqual(new Set(['AMB', 'EMER', 'IMP', 'VR', 'HH']));
    const methods = encounters
      .filter((e) => e.class.code === 'IMP')
      .map(
        (e) => [...(e.hospitalization?.extension ?? []), ...(e.extension ?? [])][0]?.valueCodeableConcept?.coding?.[0]
      );
    expect(methods.every((m) => m?.system === codes.SYSTEM.admissionMethod)).toBe(true);
    const codesSeen = new Set(methods.map((m) => m?.code));
    expect(codesSeen.has('21')).toBe(true);
    expect(codesSeen.has('11') || codesSeen.has('12') || codesSeen.has('13')).toBe(true);
  });

  it('tells 999, 111 and GP contacts apart by type', () => {
    const typeCodes = (e: Encounter) => e.type?.flatMap((t) => t.coding?.map((c) => c.code) ?? []) ?? [];
    const encounters = ofType<Encounter>('Encounter');
    const with111 = encounters.filter((e) => typeCodes(e).includes(codes.SERVICE.nhs111.code));
    const with999 = encounters.filter((e) => typeCodes(e).includes(codes.SERVICE.ambulance.code));
    const gp = encounters.filter((e) => typeCodes(e).includes(codes.SERVICE.generalPractice.code));
    expect(with111.length).toBeGreaterThan(0);
    expect(with999.length).toBeGreaterThan(0);
    expect(gp.length).toBeGreaterThan(with111.length);
    expect(with111.some((e) => with999.includes(e))).toBe(false);
  });

  it('gives every encounter a period.end unless it is ongoing', () => {
    for (const e of ofType<Encounter>('Encounter')) {
      expect(Boolean(e.period?.end)).toBe(e.status !== 'in-progress');
    }
  });

  it('codes repeat medication in dm+d with courseOfTherapyType continuous, acute ones acute', () => {
    const meds = ofType<MedicationRequest>('MedicationRequest');
    expect(meds.every((m) => m.medicationCodeableConcept?.coding?.[0]?.system === codes.SYSTEM.dmd)).toBe(true);
    const courses = new Set(meds.map((m) => m.courseOfTherapyType?.coding?.[0]?.code));
    expect(courses).toEqual(new Set(['continuous', 'acute']));
  });
});

describe('realistic noise', () => {
  const encounters = ofType<Encounter>('Encounter');
  const meds = ofType<MedicationRequest>('MedicationRequest');
  const windowStart = addMonths(AS_OF, -12);

  it('includes entered-in-error and cancelled records', () => {
    expect(encounters.some((e) => e.status === 'entered-in-error')).toBe(true);
    expect(encounters.some((e) => e.status === 'cancelled')).toBe(true);
    expect(meds.some((m) => m.status === 'entered-in-error')).toBe(true);
  });

  it('includes stopped and duplicate repeat prescriptions', () => {
    expect(meds.some((m) => m.status === 'stopped')).toBe(true);
    const activeKeys = meds
      .filter((m) => m.status === 'active')
      .map((m) => `${m.subject.reference}|${m.medicationCodeableConcept?.coding?.[0]?.code}`);
    expect(new Set(activeKeys).size).toBeLessThan(activeKeys.length);
  });

  it('includes deceased and deregistered patients', () => {
    expect(practice.truth.some((t: PatientTruth) => t.deceased)).toBe(true);
    expect(practice.truth.some((t: PatientTruth) => !t.active)).toBe(true);
  });

  it('includes emergency admissions just outside and just inside the 12-month window', () => {
    const admissionDays = encounters
      .filter((e) => e.class.code === 'IMP' && e.period?.start)
      .map((e) => londonDate(new Date(e.period?.start as string)));
    expect(admissionDays.some((d) => d < windowStart && d >= addMonths(windowStart, -1))).toBe(true);
    expect(admissionDays.some((d) => d >= windowStart && d < addMonths(windowStart, 1))).toBe(true);
  });

  it('puts the admission method on Encounter itself for some feeds', () => {
    expect(encounters.some((e) => e.class.code === 'IMP' && e.extension?.length)).toBe(true);
  });
});

describe('validity', () => {
  it('produces resources that validate against the R4 base definitions', () => {
    loadR4Definitions();
    const sample = synthesizePractice({ patients: 200, seed: 3, asOf: AS_OF }).resources;
    for (const resource of sample) {
      expect(() => validateResource(resource)).not.toThrow();
    }
    expect(new Set(sample.map((r) => r.resourceType)).size).toBeGreaterThanOrEqual(6);
  });
});
