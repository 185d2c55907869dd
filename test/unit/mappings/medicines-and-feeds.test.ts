import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MedicationRequest, MedicationStatement, Patient, Resource } from '@medplum/fhirtypes';
import type { PatientRecord } from '../../../src/mappings';
import { generatePatients } from '../../../src/synth';
import {
  elementChecks,
  FeatureEvaluationError,
  featureEvaluator,
  loadMapping,
  MappingError,
  runMappingTests,
} from '../../../src/mappings';

const AS_OF = '2026-11-23';
const FIXTURES = path.join(__dirname, '../../fixtures');
const patient: Patient = { resourceType: 'Patient', id: 'p1', birthDate: '1950-06-01', active: true };

function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(path.join(FIXTURES, 'ukcore', `${name}.json`), 'utf8')) as T;
}

function record(resources: Resource[]): PatientRecord {
  const byType: PatientRecord['resources'] = {};
  for (const resource of resources) {
    (byType[resource.resourceType as keyof PatientRecord['resources']] ??= []).push(resource);
  }
  return { patient, resources: byType };
}

function mappingFile(yaml: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'hfu-mapping-'));
  mkdirSync(path.join(dir, 'valuesets'));
  writeFileSync(path.join(dir, 'mapping.yaml'), yaml);
  return path.join(dir, 'mapping.yaml');
}

function problems(file: string): string[] {
  try {
    loadMapping(file);
  } catch (err) {
    if (err instanceof MappingError) {
      return [...err.problems];
    }
    throw err;
  }
  throw new Error('expected a MappingError');
}

const medicines = (searches: string, resource: string) => `name: test
description: test
search:
${searches}
features:
  medicines:
    description: x
    resource: ${resource}
    where: status = 'active'
    aggregate: countDistinct(medication.ofType(CodeableConcept).coding.code.first())
`;

describe('a feature over several resource types', () => {
  const both = '  MedicationRequest: { subject: subject }\n  MedicationStatement: { subject: subject }';

  it('reads each type listed, and the run searches each', () => {
    const mapping = loadMapping(mappingFile(medicines(both, '[MedicationRequest, MedicationStatement]')));
    expect(mapping.features[0]?.resources).toEqual(['MedicationRequest', 'MedicationStatement']);
    expect(mapping.features[0]?.resource).toBe('MedicationRequest');
    expect(mapping.resourceTypes).toEqual(['MedicationRequest', 'MedicationStatement']);
  });

  it('needs a search for every type it lists, and cannot list Patient with others', () => {
    expect(
      problems(
        mappingFile(medicines('  MedicationRequest: { subject: subject }', '[MedicationRequest, MedicationStatement]'))
      )
    ).toEqual([expect.stringContaining('search.MedicationStatement.subject')]);
    expect(problems(mappingFile(medicines(both, '[Patient, MedicationRequest]')))).toEqual([
      expect.stringContaining('Patient is the record itself'),
    ]);
  });

  it('counts over one list of both types: a medicine recorded both ways is one', () => {
    const mapping = loadMapping(mappingFile(medicines(both, '[MedicationRequest, MedicationStatement]')));
    const code = (c: string) => ({ coding: [{ system: 'https://dmd.nhs.uk', code: c }] });
    const resources: Resource[] = [
      {
        resourceType: 'MedicationRequest',
        id: 'r1',
        status: 'active',
        intent: 'order',
        subject: { reference: 'Patient/p1' },
        medicationCodeableConcept: code('a'),
      },
      {
        resourceType: 'MedicationStatement',
        id: 's1',
        status: 'active',
        subject: { reference: 'Patient/p1' },
        medicationCodeableConcept: code('a'),
      },
      {
        resourceType: 'MedicationStatement',
        id: 's2',
        status: 'active',
        subject: { reference: 'Patient/p1' },
        medicationCodeableConcept: code('b'),
      },
      {
        resourceType: 'MedicationStatement',
        id: 's3',
        status: 'stopped',
        subject: { reference: 'Patient/p1' },
        medicationCodeableConcept: code('c'),
      },
    ];
    const { facts, evidence } = featureEvaluator(mapping, AS_OF)(record(resources));
    // Independent oracle: distinct codes among the active resources of either type.
    const active = resources.filter((r) => (r as { status?: string }).status === 'active');
    const distinct = new Set(
      active.map((r) => (r as MedicationStatement).medicationCodeableConcept?.coding?.[0]?.code)
    );
    expect(facts.medicines).toBe(distinct.size);
    expect(evidence.medicines?.sort()).toEqual(active.map((r) => `${r.resourceType}/${r.id}`).sort());
  });

  it('checks the elements its expressions read on each type: a malformed statement skips the patient', () => {
    const gp = loadMapping('gp-record');
    const checks = elementChecks(gp);
    expect([...(checks.get('MedicationStatement')?.keys() ?? [])]).toEqual(
      expect.arrayContaining(['status', 'medicationCodeableConcept', 'effectiveDateTime', 'dateAsserted', 'extension'])
    );
    // MedicationRequest-only elements are not looked for on a statement.
    expect(checks.get('MedicationStatement')?.has('intent')).toBe(false);
    expect(checks.get('MedicationStatement')?.has('courseOfTherapyType')).toBe(false);
    const bad = {
      resourceType: 'MedicationStatement',
      id: 's-bad',
      status: 'active',
      subject: { reference: 'Patient/p1' },
      medicationCodeableConcept: '319773006',
    } as unknown as MedicationStatement;
    const evaluate = featureEvaluator(gp, AS_OF);
    expect(() => evaluate(record([bad]))).toThrow(FeatureEvaluationError);
    expect(() => evaluate(record([bad]))).toThrow(
      'MedicationStatement/s-bad: medicationCodeableConcept is not a CodeableConcept'
    );
    const good = {
      ...bad,
      medicationCodeableConcept: { coding: [{ system: 'https://dmd.nhs.uk', code: '319773006' }] },
    };
    expect(evaluate(record([good])).facts.repeatMedications).toBe(1);
  });
});

describe("UK Core's repeat markings (definitions in test/fixtures/ukcore)", () => {
  const prescriptionType = fixture<{ url: string; context: { expression: string }[] }>(
    'Extension-UKCore-PrescriptionType'
  );
  const repeatInformation = fixture<{ url: string }>('Extension-UKCore-MedicationRepeatInformation');
  const codeSystem = fixture<{ url: string; concept: { code: string }[] }>('CodeSystem-UKCore-PrescriptionType');
  const example = fixture<MedicationRequest>('Extension-UKCore-RepeatInformation-Example');

  it.each(['uk-core', 'gp-record'])(
    '%s names the extensions by their UK Core urls, and repeat types from its code system',
    (name) => {
      const mapping = loadMapping(name);
      const text = readFileSync(mapping.file, 'utf8');
      expect(prescriptionType.context.map((c) => c.expression)).toContain('MedicationRequest');
      expect(text).toContain(`extension('${prescriptionType.url}')`);
      expect(text).toContain(`extension('${repeatInformation.url}')`);
      const repeatTypes = mapping.valueSets.find((v) => v.id === 'repeat-prescription-types');
      const include = repeatTypes?.compose?.include ?? [];
      expect(include.map((i) => i.system)).toEqual([codeSystem.url]);
      const codes = include.flatMap((i) => (i.concept ?? []).map((c) => c.code));
      expect(codes.every((c) => codeSystem.concept.some((k) => k.code === c))).toBe(true);
      expect(codes.sort()).toEqual(['repeat', 'repeat-dispensing']);
    }
  );

  it.each(['uk-core', 'gp-record'])(
    "%s counts UK Core's own repeat-information example, with or without its course of therapy",
    (name) => {
      const evaluate = featureEvaluator(loadMapping(name), AS_OF);
      const current = {
        ...example,
        status: 'active',
        subject: { reference: 'Patient/p1' },
        medicationCodeableConcept: { coding: [{ system: 'https://dmd.nhs.uk', code: '330834007' }] },
      } as MedicationRequest;
      delete current.medicationReference;
      const withoutCourse = { ...current, id: 'no-course' };
      delete withoutCourse.courseOfTherapyType;
      expect(evaluate(record([current])).facts.repeatMedications).toBe(1);
      expect(evaluate(record([withoutCourse])).facts.repeatMedications).toBe(1);
      const noMarking = { ...withoutCourse, extension: [] };
      expect(evaluate(record([noMarking])).facts.repeatMedications).toBe(0);
    }
  );
});

describe('a feed that is not UK Core is expressible in the mapping language (test/fixtures/mappings/local-feed)', () => {
  const mapping = loadMapping(path.join(FIXTURES, 'mappings/local-feed/mapping.yaml'));
  const results = runMappingTests(mapping);

  it('has a case for each pattern', () => {
    expect(results.map((r) => r.name)).toHaveLength(3);
  });

  it.each(results.map((r) => [r.name, r] as const))('%s', (_name, result) => {
    expect(result.failures).toEqual([]);
  });
});

describe('gp-record on UK Core data', () => {
  it('gives the features uk-core gives on the synthetic practice, where gp-record reads what uk-core reads and more', () => {
    const ukCore = featureEvaluator(loadMapping('uk-core'), AS_OF);
    const gpRecord = featureEvaluator(loadMapping('gp-record'), AS_OF);
    let withRepeats = 0;
    let withAdmissions = 0;
    for (const { resources } of generatePatients({ patients: 300, seed: 7, asOf: AS_OF })) {
      const person = resources.find((r): r is Patient => r.resourceType === 'Patient') as Patient;
      const rest = record(resources.filter((r) => r !== person));
      const patientRecord = { ...rest, patient: person };
      const expected = ukCore(patientRecord).facts;
      expect(gpRecord(patientRecord).facts).toEqual(expected);
      withRepeats += Number(expected.repeatMedications) > 0 ? 1 : 0;
      withAdmissions += Number(expected.unplannedAdmissions) > 0 ? 1 : 0;
    }
    // The comparison means something only if the population has both.
    expect(withRepeats).toBeGreaterThan(0);
    expect(withAdmissions).toBeGreaterThan(0);
  });
});
