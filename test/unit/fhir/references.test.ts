import { patientIdOf, patientIdOfReference } from '../../../src/fhir';

describe('patientIdOfReference', () => {
  it.each([
    ['Patient/abc-1', 'abc-1'],
    ['https://fhir.example.org/R4/Patient/abc.2', 'abc.2'],
  ])('reads the id of %s', (reference, id) => {
    expect(patientIdOfReference(reference)).toBe(id);
  });

  it.each([
    [undefined],
    [''],
    ['Practitioner/abc'],
    ['Patient/'],
    ['Patient/abc/_history/2'],
    ['Patient/has space'],
    [`Patient/${'x'.repeat(65)}`],
  ])('refuses %s', (reference) => {
    expect(patientIdOfReference(reference)).toBeUndefined();
  });
});

describe('patientIdOf', () => {
  it('answers for a Patient itself, and by subject or patient for the rest', () => {
    expect(patientIdOf({ resourceType: 'Patient', id: 'p1' })).toBe('p1');
    expect(
      patientIdOf({ resourceType: 'Encounter', status: 'finished', class: {}, subject: { reference: 'Patient/p2' } })
    ).toBe('p2');
    expect(
      patientIdOf({
        resourceType: 'Consent',
        status: 'active',
        scope: {},
        category: [],
        patient: { reference: 'Patient/p3' },
      })
    ).toBe('p3');
    expect(patientIdOf({ resourceType: 'Observation', status: 'final', code: {} })).toBeUndefined();
  });
});

describe('patientIdOf an Appointment', () => {
  const appointment = (participant: unknown) =>
    ({ resourceType: 'Appointment', status: 'fulfilled', participant }) as never;

  it('is the first participant whose actor is a Patient, wherever it stands in the list', () => {
    expect(
      patientIdOf(
        appointment([
          { actor: { reference: 'Practitioner/gp1' }, status: 'accepted' },
          { actor: { reference: 'Location/surgery' }, status: 'accepted' },
          { actor: { reference: 'https://gp.example.nhs.uk/fhir/R4/Patient/p4' }, status: 'accepted' },
          { actor: { reference: 'Patient/p5' }, status: 'accepted' },
        ])
      )
    ).toBe('p4');
  });

  it.each([
    ['no participants', undefined],
    ['participants that are not a list', { actor: { reference: 'Patient/p1' } }],
    ['no Patient among them', [{ actor: { reference: 'Practitioner/gp1' }, status: 'accepted' }]],
    ['a participant with no actor, or a malformed one', [{ status: 'accepted' }, null, { actor: { reference: 7 } }]],
    ['a versioned patient reference', [{ actor: { reference: 'Patient/p1/_history/2' }, status: 'accepted' }]],
  ])('is undefined with %s', (_name, participant) => {
    expect(patientIdOf(appointment(participant))).toBeUndefined();
  });
});
