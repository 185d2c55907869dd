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
