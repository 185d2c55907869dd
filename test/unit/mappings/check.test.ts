import type { Encounter, Patient, Resource } from '@medplum/fhirtypes';
import type { CompiledFeature, PatientRecord } from '../../../src/mappings';
import { FeatureEvaluationError, featureEvaluator, loadMapping } from '../../../src/mappings';
import type { ElementCheck } from '../../../src/mappings/elements';
import { recordCheck } from '../../../src/mappings/check';
import { elementChecks } from '../../../src/mappings/elements';
import { generatePatients } from '../../../src/synth';

const AS_OF = '2026-11-23';
const ukCore = loadMapping('uk-core');

/** Every checked element as `Type.path: type`, `[]` marking a list. */
function checkedElements(features: CompiledFeature[]): string[] {
  const out: string[] = [];
  const walk = (type: string, check: ElementCheck): void => {
    out.push(`${type}.${check.path}: ${check.type}${check.repeating ? '[]' : ''}`);
    check.children.forEach((child) => walk(type, child));
  };
  for (const [type, roots] of elementChecks({ features })) {
    roots.forEach((check) => walk(type, check));
  }
  return out;
}

const patient: Patient = { resourceType: 'Patient', id: 'p1', birthDate: '1950-06-01', active: true };

function admission(changes: Record<string, unknown> = {}): Encounter {
  return {
    resourceType: 'Encounter',
    id: 'e1',
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
    type: [{ coding: [{ system: 'http://snomed.info/sct', code: '183807002' }] }],
    subject: { reference: 'Patient/p1' },
    period: { start: '2026-03-02T10:00:00+00:00', end: '2026-03-05T12:00:00+00:00' },
    hospitalization: {
      extension: [
        {
          url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod',
          valueCodeableConcept: {
            coding: [{ system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-AdmissionMethodEngland', code: '21' }],
          },
        },
      ],
    },
    ...changes,
  } as Encounter;
}

function record(patientChanges: Record<string, unknown>, encounters: Resource[] = [admission()]): PatientRecord {
  return { patient: { ...patient, ...patientChanges } as Patient, resources: { Encounter: encounters } };
}

describe('what is checked, from the mapping', () => {
  const elements = checkedElements(ukCore.features);

  it('covers the elements the features read, their dates, and the Patient elements behind the exclusions', () => {
    expect(elements).toEqual(
      expect.arrayContaining([
        'Encounter.class: Coding',
        'Encounter.class.code: code',
        'Encounter.period.start: dateTime',
        'Encounter.hospitalization.extension: Extension[]',
        'Encounter.hospitalization.extension.url: System.String',
        'Encounter.hospitalization.extension.valueCodeableConcept.coding.code: code',
        'Encounter.type: CodeableConcept[]',
        'Encounter.type.coding.system: uri',
        'Encounter.serviceType: CodeableConcept',
        'MedicationRequest.authoredOn: dateTime',
        'MedicationRequest.medicationCodeableConcept.coding.code: code',
        'MedicationRequest.medicationReference.reference: string',
        'Observation.effectiveDateTime: dateTime',
        'Observation.effectivePeriod.start: dateTime',
        'Observation.issued: instant',
        'Consent.provision.type: code',
        'Patient.birthDate: date',
        'Patient.deceasedDateTime: dateTime',
        'Patient.deceasedBoolean: boolean',
        'Patient.active: boolean',
      ])
    );
  });

  it('covers status and verificationStatus, which decide whether a record counts at all', () => {
    expect(elements).toEqual(
      expect.arrayContaining([
        'Encounter.status: code',
        'MedicationRequest.status: code',
        'Condition.verificationStatus.coding.code: code',
        'Observation.status: code',
      ])
    );
  });

  it('leaves out what no feature reads, and the variants of a choice an expression drops unread', () => {
    const unreadElements = [
      'Encounter.text',
      'Encounter.subject',
      'Patient.name',
      'Observation.effectiveTiming',
      // inValueSet reads a coding's system and code: its display and the concept's text decide nothing.
      'Encounter.type.coding.display',
      'Encounter.type.text',
    ];
    for (const unread of unreadElements) {
      expect(elements.filter((e) => e.startsWith(`${unread}.`) || e.startsWith(`${unread}:`))).toEqual([]);
    }
  });

  it('follows a mapping of its own: each feature adds what its expressions touch', () => {
    const feature = {
      name: 'weight',
      resource: 'Observation',
      resources: ['Observation'],
      spec: { where: "code.coding.where(system = 'http://loinc.org').exists()", date: 'effective.ofType(dateTime)' },
      aggregate: { kind: 'max', expression: 'value.ofType(Quantity).value' },
    } as unknown as CompiledFeature;
    expect(checkedElements([feature]).sort()).toEqual(
      [
        'Observation.code: CodeableConcept',
        'Observation.code.coding: Coding[]',
        'Observation.code.coding.system: uri',
        'Observation.effectiveDateTime: dateTime',
        'Observation.status: code',
        'Observation.valueQuantity: Quantity',
        'Observation.valueQuantity.value: decimal',
      ].sort()
    );
  });

  it('is compiled once per mapping', () => {
    expect(recordCheck(ukCore)).toBe(recordCheck(ukCore));
  });
});

describe('a patient with a malformed element', () => {
  const evaluate = featureEvaluator(ukCore, AS_OF);

  const reasonFor = (data: PatientRecord): string => {
    try {
      evaluate(data);
    } catch (err) {
      expect(err).toBeInstanceOf(FeatureEvaluationError);
      return (err as FeatureEvaluationError).message;
    }
    throw new Error('expected the patient to be skipped');
  };

  it.each([
    ['a deceasedDateTime that is no date', record({ deceasedDateTime: 'garbage' }), 'Patient/p1: deceasedDateTime'],
    ['a birthDate that is no date', record({ birthDate: 'garbage' }), 'Patient/p1: birthDate is not a valid date'],
    ['a birthDate that is no calendar day', record({ birthDate: '1950-02-30' }), 'Patient/p1: birthDate'],
    ['active as a string', record({ active: 'yes' }), 'Patient/p1: active is not a valid boolean'],
    [
      'an Encounter.period.start that is no dateTime',
      record({}, [admission({ period: { start: 'garbage' } })]),
      'Encounter/e1: period.start is not a valid dateTime',
    ],
    [
      'an Encounter.class sent as a string',
      record({}, [admission({ class: 'IMP' })]),
      'Encounter/e1: class is not a Coding',
    ],
    [
      'an Encounter.type that is not a list',
      record({}, [admission({ type: { coding: [{ code: 'x' }] } })]),
      'Encounter/e1: type is not a list of CodeableConcept',
    ],
    [
      'an admission method code with spaces around it',
      record({}, [
        admission({
          extension: [
            {
              url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod',
              valueCodeableConcept: { coding: [{ code: ' 21 ' }] },
            },
          ],
        }),
      ]),
      'Encounter/e1: extension.valueCodeableConcept.coding.code is not a valid code',
    ],
    ['a status that is not a code', record({}, [admission({ status: 7 })]), 'Encounter/e1: status'],
    ['a resource with no id', record({}, [admission({ id: undefined })]), 'Encounter with no valid id'],
  ])('%s is skipped, naming the resource and the element', (_name, data, reason) => {
    const message = reasonFor(data);
    expect(message).toContain(reason);
    expect(message).not.toMatch(/garbage|yes|IMP| 21 /);
  });

  it('names the feature that reads the element', () => {
    expect(reasonFor(record({ deceasedDateTime: 'garbage' }))).toMatch(/^feature deceased: /);
  });
});

describe('well-formed data', () => {
  const evaluate = featureEvaluator(ukCore, AS_OF);

  it.each([
    ['partial dates', record({ birthDate: '1950', deceasedDateTime: '2026-03' })],
    [
      'a dateTime with no time zone (a London local time)',
      record({}, [admission({ period: { start: '2026-03-02T10:00:00' } })]),
    ],
    [
      'fractional seconds and a summer offset',
      record({}, [admission({ period: { start: '2026-06-02T10:00:00.123+01:00' } })]),
    ],
    ['elements no feature reads, however odd', record({ name: 'not a list', gender: 42 }, [admission({ text: 'x' })])],
    ['absent elements', record({ birthDate: undefined, active: undefined }, [admission({ period: undefined })])],
  ])('is evaluated: %s', (_name, data) => {
    expect(() => evaluate(data)).not.toThrow();
  });

  it('gives the same features as before the check', () => {
    expect(evaluate(record({})).facts).toMatchObject({ unplannedAdmissions: 1, age: 76, deceased: false });
  });

  it('holds for the whole synthetic population: nobody is skipped', () => {
    const check = recordCheck(ukCore);
    const problems = [];
    for (const { resources } of generatePatients({ patients: 300, seed: 5, asOf: AS_OF })) {
      const patient = resources.find((r): r is Patient => r.resourceType === 'Patient') as Patient;
      const byType: PatientRecord['resources'] = {};
      resources
        .filter((r) => r !== patient)
        .forEach((r) => ((byType[r.resourceType as 'Encounter'] ??= []) as Resource[]).push(r));
      problems.push(check({ patient, resources: byType }));
    }
    expect(problems.filter(Boolean)).toEqual([]);
  });
});

describe('Appointments (gp-record reads them as GP contacts)', () => {
  const gpRecord = loadMapping('gp-record');
  const evaluate = featureEvaluator(gpRecord, AS_OF);

  function appointment(changes: Record<string, unknown> = {}): Resource {
    return {
      resourceType: 'Appointment',
      id: 'a1',
      status: 'fulfilled',
      serviceCategory: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/service-category', code: '17' }] }],
      start: '2026-03-02T10:00:00+00:00',
      end: '2026-03-02T10:10:00+00:00',
      participant: [{ actor: { reference: 'Patient/p1' }, status: 'accepted' }],
      ...changes,
    } as Resource;
  }
  const withAppointments = (...appointments: Resource[]): PatientRecord => ({
    patient,
    resources: { Appointment: appointments },
  });

  it('checks the Appointment elements the feature reads, and its status', () => {
    expect(checkedElements(gpRecord.features)).toEqual(
      expect.arrayContaining([
        'Appointment.status: code',
        'Appointment.start: instant',
        'Appointment.serviceCategory: CodeableConcept[]',
        'Appointment.serviceCategory.coding.code: code',
        'Appointment.serviceType: CodeableConcept[]',
        'Encounter.appointment: Reference[]',
        'Encounter.appointment.reference: string',
      ])
    );
  });

  it.each([
    ['a start that is no instant', appointment({ start: 'garbage' }), 'Appointment/a1: start is not a valid instant'],
    ['a start that is a day, not an instant', appointment({ start: '2026-03-02' }), 'Appointment/a1: start'],
    ['a status that is not a code', appointment({ status: 7 }), 'Appointment/a1: status is not a valid code'],
    [
      'a serviceType that is not a list',
      appointment({ serviceType: { coding: [{ code: 'x' }] } }),
      'Appointment/a1: serviceType is not a list of CodeableConcept',
    ],
    ['an Appointment with no id', appointment({ id: undefined }), 'Appointment with no valid id'],
  ])('%s: the patient is skipped, naming the element', (_name, data, reason) => {
    expect(() => evaluate(withAppointments(data))).toThrow(FeatureEvaluationError);
    try {
      evaluate(withAppointments(data));
    } catch (err) {
      expect((err as Error).message).toContain(reason);
      expect((err as Error).message).toMatch(/^feature gpEncounters: /);
    }
  });

  it('evaluates well-formed appointments, and ignores what no feature reads (the participants aside)', () => {
    const odd = appointment({ id: 'a2', comment: 42, description: ['not a string'] });
    expect(evaluate(withAppointments(appointment(), odd)).facts.gpEncounters).toBe(2);
  });
});
