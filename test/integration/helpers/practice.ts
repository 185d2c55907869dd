import type {
  Condition,
  Encounter,
  MedicationRequest,
  Observation,
  Organization,
  Patient,
  Resource,
} from '@medplum/fhirtypes';
import type { IsoDate } from '../../../src/dates';
import { addDays } from '../../../src/dates';
import { codes, testNhsNumber } from '../../../src/synth';

const { SYSTEM } = codes;
export const PRACTICE = 'practice-y99001';

/** What a hand-made patient's record holds: the counts the programme's criteria read, placed before `asOf`. */
export interface PatientSpec {
  id: string;
  /** Emergency admissions, days before `asOf` each. */
  admissionsDaysAgo: number[];
  repeats: number;
  mentalHealth?: boolean;
  carer?: boolean;
  longTermConditions?: number;
}

/**
 * A practice written out patient by patient, for tests that must know exactly who qualifies and why. The records
 * use the same real codes (UK Core admission methods, dm+d, SNOMED CT) as the synthetic population.
 */
export function handMadePractice(asOf: IsoDate, specs: readonly PatientSpec[]): Resource[] {
  const practice: Organization = {
    resourceType: 'Organization',
    id: PRACTICE,
    identifier: [{ system: SYSTEM.ods, value: 'Y99001' }],
    name: 'Example practice',
  };
  return [practice, ...specs.flatMap((spec, index) => patientRecord(asOf, spec, index))];
}

function patientRecord(asOf: IsoDate, spec: PatientSpec, index: number): Resource[] {
  const subject = { reference: `Patient/${spec.id}` };
  const patient: Patient = {
    resourceType: 'Patient',
    id: spec.id,
    identifier: [{ system: SYSTEM.nhsNumber, value: testNhsNumber(9000 + index) }],
    active: true,
    name: [{ family: 'Test', given: [`Patient${index}`] }],
    birthDate: '1960-03-14',
    generalPractitioner: [{ reference: `Organization/${PRACTICE}` }],
  };
  const resources: Resource[] = [patient];
  spec.admissionsDaysAgo.forEach((days, n) =>
    resources.push(emergencyAdmission(`${spec.id}-adm${n + 1}`, spec.id, addDays(asOf, -days)))
  );
  codes.ALL_REPEAT_DRUGS.slice(0, spec.repeats).forEach((drug, n) => {
    const request: MedicationRequest = {
      resourceType: 'MedicationRequest',
      id: `${spec.id}-med${n + 1}`,
      status: 'active',
      intent: 'order',
      medicationCodeableConcept: { coding: [{ system: SYSTEM.dmd, ...drug }] },
      subject,
      authoredOn: addDays(asOf, -400),
      courseOfTherapyType: { coding: [{ system: SYSTEM.courseOfTherapy, code: 'continuous' }] },
    };
    resources.push(request);
  });
  const conditions = [
    ...Object.values(codes.REGISTERS)
      .slice(0, spec.longTermConditions ?? 0)
      .map((r) => r[0]),
    ...(spec.mentalHealth ? [codes.ANXIETY] : []),
  ];
  conditions.forEach((code, n) => {
    const condition: Condition = {
      resourceType: 'Condition',
      id: `${spec.id}-cond${n + 1}`,
      clinicalStatus: { coding: [{ system: SYSTEM.conditionClinical, code: 'active' }] },
      verificationStatus: { coding: [{ system: SYSTEM.conditionVerification, code: 'confirmed' }] },
      code: { coding: [{ system: SYSTEM.snomed, ...code }] },
      subject,
    };
    resources.push(condition);
  });
  if (spec.carer) {
    const observation: Observation = {
      resourceType: 'Observation',
      id: `${spec.id}-carer`,
      status: 'final',
      code: { coding: [{ system: SYSTEM.snomed, ...(codes.CARER[1] as codes.Code) }] },
      subject,
      effectiveDateTime: addDays(asOf, -100),
    };
    resources.push(observation);
  }
  return resources;
}

export function emergencyAdmission(id: string, patientId: string, day: IsoDate): Encounter {
  return {
    resourceType: 'Encounter',
    id,
    status: 'finished',
    class: { system: SYSTEM.actCode, code: 'IMP', display: 'inpatient encounter' },
    type: [{ coding: [{ system: SYSTEM.snomed, ...codes.ENCOUNTER.hospitalWard }] }],
    subject: { reference: `Patient/${patientId}` },
    period: { start: `${day}T10:00:00Z`, end: `${addDays(day, 3)}T12:00:00Z` },
    hospitalization: {
      extension: [
        {
          url: codes.ADMISSION_METHOD_EXTENSION,
          valueCodeableConcept: {
            coding: [{ system: SYSTEM.admissionMethod, ...(codes.EMERGENCY_ADMISSION_METHODS[1] as codes.Code) }],
          },
        },
      ],
    },
  };
}
