import { readFileSync } from 'node:fs';
import { loadMapping, mappingTestsFile, runMappingTests } from '../../../src/mappings';

// Every case in mappings/<name>/tests.yaml is a test here: the traps (elective vs emergency, entered-in-error, the
// window's edges in winter and summer, duplicate prescriptions, acute vs repeat, deceased and inactive patients).
describe.each(['uk-core', 'synthea', 'gp-record'])('mapping %s', (name) => {
  const mapping = loadMapping(name);
  const results = runMappingTests(mapping);

  it('has test cases', () => {
    expect(results.length).toBeGreaterThan(5);
  });

  it.each(results.map((r) => [r.name, r] as const))('%s', (_name, result) => {
    expect(result.failures).toEqual([]);
  });

  it('checks every feature in at least one case', () => {
    const text = readFileSync(mappingTestsFile(mapping), 'utf8');
    const untested = mapping.features.map((f) => f.name).filter((f) => !new RegExp(`\\b${f}:`).test(text));
    expect(untested).toEqual([]);
  });
});
