import { loadMapping } from '../../../src/mappings';
import { CODED_FIELDS, mappingVocabulary, namesCodeSystems, placeCode, placeSystem } from '../../../src/survey';

const ukCore = loadMapping('uk-core');
const vocabulary = mappingVocabulary(ukCore);
const field = (id: string) => {
  const found = CODED_FIELDS.find((f) => f.id === id);
  if (!found) {
    throw new Error(`no field ${id}`);
  }
  return found;
};
const ADMISSION_METHOD = 'https://fhir.hl7.org.uk/CodeSystem/UKCore-AdmissionMethodEngland';
const admission = field('Encounter.hospitalization.extension:admissionMethod');

describe('placing coded values against the uk-core mapping', () => {
  it('recognises emergency, elective and other admission methods from the mapping’s lists', () => {
    expect(placeCode(admission, { system: ADMISSION_METHOD, code: '21' }, vocabulary)).toEqual({
      recognised: true,
      note: 'in emergency-admission-methods',
    });
    expect(placeCode(admission, { system: ADMISSION_METHOD, code: '12' }, vocabulary).recognised).toBe(true);
    expect(placeCode(admission, { system: ADMISSION_METHOD, code: '81' }, vocabulary).recognised).toBe(true);
  });

  it('names the lists an unknown admission method is in none of', () => {
    const placed = placeCode(admission, { system: ADMISSION_METHOD, code: '2E' }, vocabulary);
    expect(placed.recognised).toBe(false);
    expect(placed.note).toBe(
      'in none of elective-admission-methods, emergency-admission-methods or other-admission-methods'
    );
  });

  it('says when the mapping has no list for a local code system', () => {
    const placed = placeCode(admission, { system: 'https://trust.example.nhs.uk/admission', code: 'EM' }, vocabulary);
    expect(placed).toEqual({ recognised: false, note: 'the mapping has no list for this code system' });
  });

  it('recognises standard codes and codes the expressions name, and nothing else', () => {
    const cls = field('Encounter.class');
    const actCode = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
    expect(placeCode(cls, { system: actCode, code: 'AMB' }, vocabulary).note).toBe('a FHIR standard code');
    expect(placeCode(cls, { system: actCode, code: 'XYZ' }, vocabulary).recognised).toBe(false);
    expect(placeCode(cls, { system: 'https://local/class', code: 'INPATIENT' }, vocabulary).recognised).toBe(false);
    const status = field('MedicationRequest.status');
    expect(placeCode(status, { code: 'active' }, vocabulary).recognised).toBe(true);
    expect(placeCode(status, { code: 'repeat' }, vocabulary)).toEqual({
      recognised: false,
      note: 'not a code the mapping names',
    });
  });

  it('places code systems: SNOMED CT and dm+d are the mapping’s, Read codes are not', () => {
    const conditions = field('Condition.code');
    const medicines = field('MedicationRequest.medication');
    const reads = () => true;
    expect(placeSystem(conditions, 'http://snomed.info/sct', vocabulary, reads).recognised).toBe(true);
    expect(placeSystem(medicines, 'https://dmd.nhs.uk', vocabulary, reads).recognised).toBe(true);
    expect(placeSystem(conditions, 'http://read.info/ctv3', vocabulary, reads)).toEqual({
      recognised: false,
      note: 'no list of the mapping uses this code system',
    });
  });

  it('collects the extension urls the expressions name', () => {
    expect([...vocabulary.extensionUrls]).toEqual([
      'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod',
      'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-PrescriptionType',
      'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-MedicationRepeatInformation',
    ]);
  });
});

describe('code systems where the mapping reads any code', () => {
  it('accepts any medicine code system when the mapping names none (synthea), not when it names dm+d (uk-core)', () => {
    const synthea = loadMapping('synthea');
    const medicines = field('MedicationRequest.medication');
    const repeats = (m: typeof synthea) => m.features.filter((f) => f.name === 'repeatMedications').map((f) => f.spec);
    expect(namesCodeSystems(repeats(synthea))).toBe(false);
    expect(namesCodeSystems(repeats(ukCore))).toBe(true);
    const rxnorm = 'http://www.nlm.nih.gov/research/umls/rxnorm';
    expect(placeSystem(medicines, rxnorm, mappingVocabulary(synthea), () => true, false)).toEqual({
      recognised: true,
      note: 'the mapping reads codes of any system here',
    });
    expect(placeSystem(medicines, rxnorm, vocabulary, () => true, true).recognised).toBe(false);
  });
});
