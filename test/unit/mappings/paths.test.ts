import { elementPathProblems } from '../../../src/mappings/paths';

describe('element paths of mapping expressions against the R4 definitions', () => {
  it.each([
    ['Encounter', "class.code = 'IMP'"],
    ['Encounter', 'period.start'],
    ['Encounter', "type.combine(serviceType).inValueSet('gp-services')"],
    [
      'Encounter',
      "hospitalization.extension('https://x/ext').combine(extension('https://x/ext')).value.inValueSet('a')",
    ],
    ['Encounter', 'hospitalization.admitSource.coding.code'],
    ['MedicationRequest', "medication.ofType(CodeableConcept).coding.where(system = 'https://dmd.nhs.uk').code"],
    ['MedicationRequest', 'medication.ofType(Reference).reference'],
    ['MedicationRequest', 'medicationCodeableConcept.coding.code'],
    ['Observation', 'effective.ofType(dateTime) | effective.ofType(Period).start | issued'],
    ['Observation', '(effective as Period).end'],
    ['Observation', 'value.ofType(Quantity).value > 3 and valueQuantity.unit.exists()'],
    ['Patient', 'deceased.ofType(boolean).where($this = true).exists()'],
    ['Patient', 'birthDate.ageOn(%asOfDate)'],
    ['Patient', 'Patient.name.given.first()'],
    ['Patient', '%resource.gender'],
    ['Condition', "clinicalStatus.coding.where(code in ('active' | 'recurrence')).exists()"],
    ['Condition', 'subject.resolve().ofType(Patient).birthDate'],
    ['Condition', 'subject.resolve().anything.at.all'],
    ['Condition', 'contained.whatever'],
    ['Condition', 'contained.ofType(Patient).birthDate'],
    ['Consent', "provision.type = 'deny' and provision.provision.actor.role.exists()"],
    ['Encounter', 'iif(class.exists(), class, type.coding).code'],
    ['Encounter', 'extension.url'],
    ['Encounter', 'select(period).start'],
    ['Condition', 'onset.ofType(Quantity).value | onset.ofType(Age).unit'],
    ['Condition', 'code.coding.code.ofType(string)'],
    ['Encounter', 'hospitalization.ofType(BackboneElement).admitSource'],
    // fhirpath.js takes FHIRPath's own type names too: DateTime keeps a dateTime, String a code.
    ['Observation', 'effective.ofType(DateTime).toString() | effective.ofType(FHIR.Period).start'],
    ['Patient', 'gender.ofType(String)'],
  ])('accepts %s: %s', (type, expression) => {
    expect(elementPathProblems(expression, type)).toEqual([]);
  });

  it.each([
    ['Encounter', "class.cod = 'IMP'", "Encounter.class.cod: Coding has no element 'cod' (nearest: 'code')"],
    ['Encounter', 'period.strat', "Encounter.period.strat: Period has no element 'strat' (nearest: 'start')"],
    ['Encounter', "clas.code = 'IMP'", "Encounter.clas: Encounter has no element 'clas' (nearest: 'class')"],
    [
      'Encounter',
      'hospitalization.admitSorce.exists()',
      "Encounter.hospitalization.admitSorce: Encounter.hospitalization has no element 'admitSorce' (nearest: 'admitSource')",
    ],
    [
      'Encounter',
      "where(status = 'finished').perod.start",
      "Encounter.perod: Encounter has no element 'perod' (nearest: 'period')",
    ],
    [
      'Condition',
      "clinicalStatus.coding.where(cod = 'active').exists()",
      "Condition.clinicalStatus.coding.cod: Coding has no element 'cod' (nearest: 'code')",
    ],
    [
      'Observation',
      'effective.ofType(Datetime)',
      "Observation.effective.ofType(Datetime): no FHIR type 'Datetime' (nearest: 'dateTime')",
    ],
    [
      'Observation',
      'effective.ofType(Period).begin',
      "Observation.effectivePeriod.begin: Period has no element 'begin'",
    ],
    [
      'Observation',
      'effective.ofType(Quantity).value',
      'Observation.effective.ofType(Quantity): never a Quantity here (it is dateTime, Period, Timing, instant)',
    ],
    ['Condition', 'onsetQuantity.value', "Condition.onsetQuantity: Condition has no element 'onsetQuantity'"],
    [
      'Patient',
      'deceasedDate.exists()',
      "Patient.deceasedDate: Patient has no element 'deceasedDate' (nearest: 'deceasedDateTime')",
    ],
    [
      'MedicationRequest',
      "medication.ofType(CodeableConcept).coding.where(system = 'x').cod",
      "MedicationRequest.medicationCodeableConcept.coding.cod: Coding has no element 'cod' (nearest: 'code')",
    ],
    [
      'Encounter',
      "type.combine(servicType).inValueSet('x')",
      "Encounter.servicType: Encounter has no element 'servicType' (nearest: 'serviceType')",
    ],
  ])('rejects %s: %s', (type, expression, problem) => {
    expect(elementPathProblems(expression, type)).toEqual([problem]);
  });

  it('takes a path over several types when one of them has it, not when none does', () => {
    const medicines = ['MedicationRequest', 'MedicationStatement'];
    expect(elementPathProblems('authoredOn | dateAsserted', medicines)).toEqual([]);
    expect(elementPathProblems("resourceType = 'MedicationRequest' and status = 'active'", medicines)).toEqual([]);
    expect(elementPathProblems('medication.ofType(CodeableConcept).coding.code', medicines)).toEqual([]);
    expect(elementPathProblems('authoredOnn | dateAsserted', medicines)).toEqual([
      "MedicationRequest.authoredOnn: MedicationRequest has no element 'authoredOnn' (nearest: 'authoredOn')",
    ]);
    expect(elementPathProblems('authoredOn.strat', medicines)).toEqual([
      "MedicationRequest.authoredOn.strat: dateTime has no element 'strat'",
    ]);
  });
});
