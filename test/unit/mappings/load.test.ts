import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Patient } from '@medplum/fhirtypes';
import { FeatureEvaluationError, featureEvaluator, loadMapping, MappingError } from '../../../src/mappings';

function mappingDir(yaml: string, valueSets: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'hfu-mapping-'));
  mkdirSync(path.join(dir, 'valuesets'));
  writeFileSync(path.join(dir, 'mapping.yaml'), yaml);
  for (const [id, vs] of Object.entries(valueSets)) {
    writeFileSync(path.join(dir, 'valuesets', `${id}.json`), JSON.stringify(vs));
  }
  return path.join(dir, 'mapping.yaml');
}

const header = 'name: test\ndescription: test\nsearch:\n  Encounter: { subject: subject }\nfeatures:\n';
const feature = (name: string, body: string) => `  ${name}:\n    description: x\n    resource: Encounter\n${body}`;

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

describe('a broken mapping fails at load, naming the file, the feature and the problem', () => {
  it('reports a parser error with the parser message', () => {
    const file = mappingDir(
      header + feature('admissions', "    where: class.code = 'IMP' and (\n    aggregate: count\n")
    );
    const found = problems(file);
    expect(found[0]).toMatch(/^features\.admissions\.where: .*line: 1/);
    try {
      loadMapping(file);
    } catch (err) {
      expect((err as Error).message).toContain(file);
    }
  });

  it('reports unknown functions and variables, and value sets that do not exist', () => {
    const file = mappingDir(
      header +
        feature('a', '    where: class.code.nosuch()\n    aggregate: count\n') +
        feature('b', '    where: class.code = %missing\n    aggregate: count\n') +
        feature('c', "    where: type.inValueSet('no-such-list')\n    aggregate: count\n")
    );
    expect(problems(file)).toEqual([
      'features.a.where: unknown function nosuch()',
      expect.stringMatching(/^features\.b\.where: unknown variable %missing/),
      "features.c: no value set 'no-such-list' in valuesets/",
    ]);
  });

  it('reports schema problems by key', () => {
    const file = mappingDir(header + feature('a', '    window: 12 months\n    aggregate: average\n'));
    const found = problems(file);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^features\.a\.window: must be an ISO 8601 duration/),
        expect.stringMatching(/^features\.a\.aggregate: must be count/),
      ])
    );
  });

  it('refuses value sets without explicit codes', () => {
    const file = mappingDir(header + feature('a', '    aggregate: count\n'), {
      bad: {
        resourceType: 'ValueSet',
        id: 'bad',
        compose: { include: [{ system: 'http://snomed.info/sct', filter: [{}] }] },
      },
    });
    expect(problems(file)[0]).toMatch(/bad\.json: each compose\.include needs a system and explicit concepts/);
  });
});

describe('malformed data', () => {
  it('fails one patient with a reason that carries no data values', () => {
    const file = mappingDir(
      header.replace('Encounter: { subject: subject }', 'Encounter: { subject: subject }') +
        feature('n', '    aggregate: sum(period.start + 1)\n')
    );
    const mapping = loadMapping(file);
    const evaluate = featureEvaluator(mapping, '2026-11-23');
    const patient: Patient = { resourceType: 'Patient', id: 'p' };
    const record = {
      patient,
      resources: {
        Encounter: [
          {
            resourceType: 'Encounter' as const,
            id: 'e',
            status: 'finished' as const,
            class: { code: 'AMB' },
            period: { start: 'not-a-date' },
          },
        ],
      },
    };
    let error: unknown;
    try {
      evaluate(record);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(FeatureEvaluationError);
    expect((error as FeatureEvaluationError).feature).toBe('n');
    expect((error as Error).message).not.toContain('not-a-date');
  });
});
