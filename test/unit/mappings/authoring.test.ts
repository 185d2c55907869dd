import type { Encounter, Extension } from '@medplum/fhirtypes';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { featureEvaluator, loadMapping, runMappingTests } from '../../../src/mappings';
import type { SurveyFindings } from '../../../src/mappings/authoring';
import { fingerprint } from '../../helpers/recode';
import {
  applyPlan,
  copyMappingFolder,
  parseAssignment,
  scaffoldMapping,
  suggestChanges,
  SuggestionError,
} from '../../../src/mappings/authoring';

const METHOD_SYSTEM = 'https://fhir.hl7.org.uk/CodeSystem/UKCore-AdmissionMethodEngland';
const UKCORE_URL = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod';
const LOCAL_URL = 'https://trust.example.nhs.uk/fhir/StructureDefinition/admission-method';
const METHOD_LISTS = ['elective-admission-methods', 'emergency-admission-methods', 'other-admission-methods'];
const ukCore = loadMapping('uk-core');

/** A survey of a feed with a local code 2E on hospitalization and the other methods on a local Encounter extension. */
function recodedSurvey(): SurveyFindings {
  const entry = (field: string, code: string, count: number) => ({
    field,
    value: `${METHOD_SYSTEM}|${code}`,
    count,
    features: ['unplannedAdmissions'],
    lists: METHOD_LISTS,
  });
  return {
    unrecognised: [
      entry('Encounter.hospitalization.extension:admissionMethod', '2E', 14),
      entry('Encounter.extension:localAdmissionMethod', '22', 9),
      entry('Encounter.extension:localAdmissionMethod', '11', 30),
      entry('Encounter.extension:localAdmissionMethod', '9Z', 2),
      {
        field: 'Encounter.class',
        value: 'https://trust.example.nhs.uk/class|DAY',
        count: 5,
        features: ['edAttendances'],
        lists: [],
      },
    ],
    unusedExtensions: [
      { resource: 'Encounter', path: 'Encounter.extension', url: LOCAL_URL, count: 41 },
      { resource: 'Patient', path: 'Patient.extension', url: 'https://example.org/ethnic-category', count: 100 },
    ],
  };
}

function encounter(id: string, code: string, where: 'hospitalization' | 'encounter', url = UKCORE_URL): Encounter {
  const extension: Extension[] = [{ url, valueCodeableConcept: { coding: [{ system: METHOD_SYSTEM, code }] } }];
  return {
    resourceType: 'Encounter',
    id,
    status: 'finished',
    class: { code: 'IMP' },
    subject: { reference: 'Patient/p1' },
    period: { start: '2026-03-02T10:00:00+00:00' },
    ...(where === 'hospitalization' ? { hospitalization: { extension } } : { extension }),
  };
}

function unplanned(file: string, encounters: Encounter[]): number | boolean | string | null | undefined {
  const evaluate = featureEvaluator(loadMapping(file), '2026-11-23');
  const { facts } = evaluate({ patient: { resourceType: 'Patient', id: 'p1' }, resources: { Encounter: encounters } });
  return facts.unplannedAdmissions;
}

const tmp = () => mkdtempSync(path.join(tmpdir(), 'hfu-authoring-'));

describe('suggestChanges', () => {
  it('never puts a local code in a list on its own: it asks the engineer, naming the lists it could go in', () => {
    const plan = suggestChanges(recodedSurvey(), ukCore);
    expect(plan.proposals.filter((p) => p.kind === 'add-code')).toEqual([]);
    const local = plan.decisions.find((d) => d.value === `${METHOD_SYSTEM}|2E`);
    expect(local).toMatchObject({ count: 14, lists: METHOD_LISTS });
    expect(local?.reason).toContain('--assign 2E=<list>');
    expect(plan.decisions.find((d) => d.value.endsWith('|DAY'))?.reason).toContain('no list for this code system');
  });

  it('lists record types the mapping does not read, for a mapping author, and changes nothing for them', () => {
    const survey = { ...recodedSurvey(), unreadTypes: [{ resourceType: 'MedicationStatement', count: 120 }] };
    const plan = suggestChanges(survey, ukCore);
    expect(plan.decisions).toContainEqual(
      expect.objectContaining({ value: 'MedicationStatement', count: 120, reason: expect.stringContaining('by hand') })
    );
    expect(plan.proposals).toEqual(suggestChanges(recodedSurvey(), ukCore).proposals);
  });

  it('adds an assigned code to the list the engineer named', () => {
    const plan = suggestChanges(recodedSurvey(), ukCore, [parseAssignment('2E=emergency-admission-methods')]);
    expect(plan.proposals).toContainEqual({
      kind: 'add-code',
      valueSet: 'emergency-admission-methods',
      system: METHOD_SYSTEM,
      code: '2E',
      count: 14,
      fields: ['Encounter.hospitalization.extension:admissionMethod'],
    });
    expect(plan.decisions.map((d) => d.value)).not.toContain(`${METHOD_SYSTEM}|2E`);
  });

  it('proposes reading a local admission-method extension where the mapping reads UK Core’s, with the codes it places', () => {
    const plan = suggestChanges(recodedSurvey(), ukCore);
    const reads = plan.proposals.filter((p) => p.kind === 'read-extension');
    expect(reads).toEqual([
      {
        kind: 'read-extension',
        feature: 'unplannedAdmissions',
        clause: 1,
        standardUrl: UKCORE_URL,
        localUrl: LOCAL_URL,
        count: 41,
        placed: [
          { value: `${METHOD_SYSTEM}|22`, count: 9, lists: ['emergency-admission-methods'] },
          { value: `${METHOD_SYSTEM}|11`, count: 30, lists: ['elective-admission-methods'] },
        ],
      },
    ]);
    // A code in the local extension that no list holds still needs a decision; other extensions are not guessed at.
    expect(plan.decisions.map((d) => d.value)).toContain(`${METHOD_SYSTEM}|9Z`);
    expect(JSON.stringify(plan)).not.toContain('ethnic-category');
  });

  it('refuses an assignment to a list of another code system, to an unknown list, or of a code not surveyed', () => {
    expect(() => suggestChanges(recodedSurvey(), ukCore, [parseAssignment('2E=ltc-asthma')])).toThrow(
      /ltc-asthma is not one of the mapping's lists for .*AdmissionMethodEngland \(elective-admission-methods/
    );
    expect(() => suggestChanges(recodedSurvey(), ukCore, [parseAssignment('7Q=emergency-admission-methods')])).toThrow(
      /--assign 7Q: not a code the survey found unrecognised/
    );
    expect(() => parseAssignment('2E')).toThrow(SuggestionError);
    expect(() => parseAssignment('2E=Emergency Methods')).toThrow(/expected CODE=LIST/);
  });

  it('asks for system|code when a bare code is unrecognised in two code systems', () => {
    const survey = recodedSurvey();
    survey.unrecognised.push({ ...survey.unrecognised[0]!, value: 'https://trust.example.nhs.uk/method|2E' });
    expect(() => suggestChanges(survey, ukCore, [parseAssignment('2E=emergency-admission-methods')])).toThrow(
      /give system\|code/
    );
    const plan = suggestChanges(survey, ukCore, [parseAssignment(`${METHOD_SYSTEM}|2E=emergency-admission-methods`)]);
    expect(plan.proposals.filter((p) => p.kind === 'add-code')).toHaveLength(1);
  });
});

describe('suggestions for a mapping with a single where clause, or none on the extension', () => {
  function mappingWith(where: string): string {
    const dir = path.join(tmp(), 'm');
    scaffoldMapping('m', dir);
    const file = path.join(dir, 'mapping.yaml');
    const text = readFileSync(file, 'utf8').replace(/features:\n[\s\S]*$/, '');
    writeFileSync(
      file,
      text +
        [
          'features:',
          '  admissions:',
          '    description: admissions',
          '    resource: Encounter',
          `    where: "${where}"`,
          '    aggregate: count',
          '',
        ].join('\n')
    );
    return file;
  }

  it('rewrites a single clause in place', () => {
    const file = mappingWith(`extension('${UKCORE_URL}').value.inValueSet('emergency-admission-methods')`);
    const plan = suggestChanges(recodedSurvey(), loadMapping(file));
    expect(plan.proposals).toMatchObject([{ kind: 'read-extension', feature: 'admissions', clause: 0 }]);
    const copy = copyMappingFolder(file, path.join(tmp(), 'copy'));
    applyPlan(copy, plan, 'survey.json');
    const count = featureEvaluator(
      loadMapping(copy),
      '2026-11-23'
    )({
      patient: { resourceType: 'Patient', id: 'p1' },
      resources: { Encounter: [encounter('e1', '22', 'encounter', LOCAL_URL), encounter('e2', '23', 'encounter')] },
    }).facts.admissions;
    expect(count).toBe(2);
  });

  it('asks about the local extension’s codes when no clause of the mapping reads the standard extension', () => {
    const plan = suggestChanges(recodedSurvey(), loadMapping(mappingWith("class.code = 'IMP'")));
    expect(plan.proposals).toEqual([]);
    expect(plan.decisions.map((d) => d.value)).toEqual(
      expect.arrayContaining([`${METHOD_SYSTEM}|22`, `${METHOD_SYSTEM}|11`])
    );
  });
});

describe('applying suggestions to a copy', () => {
  it('writes a copy that counts the local code and the local extension, and leaves the original as it was', () => {
    const original = path.dirname(ukCore.file);
    const before = fingerprint(original);
    const out = path.join(tmp(), 'trust');
    const plan = suggestChanges(recodedSurvey(), ukCore, [parseAssignment('2E=emergency-admission-methods')]);
    const copy = copyMappingFolder(ukCore.file, out);
    applyPlan(copy, plan, 'survey.json');
    expect(fingerprint(original)).toEqual(before);

    const recoded = [encounter('e1', '2E', 'hospitalization'), encounter('e2', '22', 'encounter', LOCAL_URL)];
    const elective = encounter('e3', '11', 'encounter', LOCAL_URL);
    expect(unplanned(ukCore.file, recoded)).toBe(0);
    expect(unplanned(copy, [...recoded, elective])).toBe(2);
    // What the original counted, the copy still counts.
    expect(unplanned(copy, [encounter('e4', '21', 'hospitalization'), encounter('e5', '23', 'encounter')])).toBe(2);

    const text = readFileSync(copy, 'utf8');
    expect(text).toMatch(/^# PROPOSED by hfu mapping suggest from survey\.json/);
    expect(text).toContain(`# PROPOSED: also read ${LOCAL_URL} (on 41 resources in the survey)`);
    expect(text).toContain('9Z (seen 2 times'); // the undecided code, in the review list
    expect(text).toContain('# UK Core R4 (NHS England)'); // the original's comments are kept
    const emergency = readFileSync(path.join(out, 'valuesets', 'emergency-admission-methods.json'), 'utf8');
    expect(emergency).toContain('"code": "2E"');
    expect(emergency).toContain('PROPOSED by hfu mapping suggest');
    expect(runMappingTests(loadMapping(copy)).filter((r) => !r.passed)).toEqual([]);
  });

  it('never copies over a folder with files in it, nor into the mapping itself', () => {
    const out = tmp();
    writeFileSync(path.join(out, 'mapping.yaml'), 'name: mine\n');
    expect(() => copyMappingFolder(ukCore.file, out)).toThrow(/already exists and is not empty/);
    expect(readFileSync(path.join(out, 'mapping.yaml'), 'utf8')).toBe('name: mine\n');
    expect(() => copyMappingFolder(ukCore.file, path.join(path.dirname(ukCore.file), 'copy'))).toThrow(
      /outside the mapping's own folder/
    );
  });
});

describe('scaffoldMapping', () => {
  it('writes a renamed copy of uk-core whose tests pass, loadable by folder', () => {
    const out = path.join(tmp(), 'north-icb');
    scaffoldMapping('north-icb', out);
    const mapping = loadMapping(out);
    expect(mapping.name).toBe('north-icb');
    expect(mapping.file).toBe(path.join(out, 'mapping.yaml'));
    expect(mapping.features.map((f) => f.name)).toEqual(ukCore.features.map((f) => f.name));
    const results = runMappingTests(mapping);
    expect(results.length).toBeGreaterThan(5);
    expect(results.filter((r) => !r.passed)).toEqual([]);
    expect(readFileSync(path.join(out, 'tests.yaml'), 'utf8')).toContain(`--mapping ${out}`);
    expect(() => scaffoldMapping('North ICB', path.join(tmp(), 'x'))).toThrow(/lower-case letters/);
  });
});
