import { patientIdOf, patientIdOfReference, SourceReferences } from '../../../src/fhir';

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

describe('patientIdOfReference on a record that names the source', () => {
  const base = 'https://shared-record.example.org/R4';
  it.each([
    ['Patient/abc-1', 'abc-1'],
    [`${base}/Patient/abc.2`, 'abc.2'],
  ])('reads the id of %s', (reference, id) => {
    expect(patientIdOfReference(reference, base)).toBe(id);
    expect(patientIdOfReference(reference, `${base}/`)).toBe(id);
  });

  it.each([
    ['https://care-plans.example.org/fhir/Patient/abc'],
    ['https://shared-record.example.org/R4x/Patient/abc'],
    ['https://shared-record.example.org/Patient/abc'],
    [`${base}/Patient/abc/_history/2`],
    [`${base}/Practitioner/abc`],
    [`${base}/Patient/`],
  ])('refuses %s: another server, or not a patient', (reference) => {
    expect(patientIdOfReference(reference, base)).toBeUndefined();
  });
});

describe('SourceReferences', () => {
  const source = 'https://shared-record.example.org/R4';
  it('writes relative references when the record is on the source', () => {
    const refs = SourceReferences.between(source, `${source}/`);
    expect(refs.absolute).toBe(false);
    expect(refs.patient('p1')).toBe('Patient/p1');
    expect(refs.to('Encounter/e1')).toBe('Encounter/e1');
  });

  it('writes absolute references on the source base when the record is elsewhere, and reads them back', () => {
    const refs = SourceReferences.between(`${source}/`, 'https://care-plans.example.org/fhir');
    expect(refs.patient('p1')).toBe(`${source}/Patient/p1`);
    expect(refs.to('Condition/c1')).toBe(`${source}/Condition/c1`);
    expect(refs.to('MedicationRequest/m1/_history/3')).toBe(`${source}/MedicationRequest/m1/_history/3`);
    expect(refs.patientId(refs.patient('p1'))).toBe('p1');
    expect(refs.patientId('https://elsewhere.example.org/R4/Patient/p1')).toBeUndefined();
  });

  it('leaves what is not a relative reference as it is', () => {
    const refs = SourceReferences.between(source, 'https://care-plans.example.org/fhir');
    for (const reference of ['urn:uuid:0d1f', '#contained', 'https://other.example.org/R4/Encounter/e1']) {
      expect(refs.to(reference)).toBe(reference);
    }
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
