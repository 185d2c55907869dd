import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { main } from '../../../src/cli/main';
import {
  addressedEvidence,
  BUILT_IN_PROGRAMMES_DIR,
  decide,
  explainDecision,
  LIFECYCLE_PARAMETERS,
  lifecycleParameters,
  loadProgramme,
  ProgrammeError,
} from '../../../src/criteria';
import { loadMapping } from '../../../src/mappings';
import { captureIo } from '../../helpers/io';

const dir = mkdtempSync(path.join(tmpdir(), 'hfu-programme-data-'));
const builtIn = (id: string): Record<string, unknown> =>
  parseYaml(readFileSync(path.join(BUILT_IN_PROGRAMMES_DIR, `${id}.yaml`), 'utf8')) as Record<string, unknown>;

/** A copy of the default programme with `edit` applied, written to a file. */
function programmeFile(edit: (p: Record<string, unknown>) => void): string {
  const programme = builtIn('nhse-hfu-2022');
  edit(programme);
  const file = path.join(dir, `p-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify(programme));
  return file;
}

function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (err) {
    if (err instanceof ProgrammeError) {
      return [...err.problems];
    }
    throw err;
  }
  throw new Error('expected a ProgrammeError');
}

describe.each(['nhse-hfu-2022', 'nhse-hiu'])('the built-in programme %s', (id) => {
  it('declares every lifecycle parameter with a whole-number default', () => {
    const parameters = builtIn(id).parameters as Record<string, unknown>;
    for (const [name, { min }] of Object.entries(LIFECYCLE_PARAMETERS)) {
      expect(Number.isInteger(parameters[name])).toBe(true);
      expect(parameters[name] as number).toBeGreaterThanOrEqual(min);
    }
    expect(lifecycleParameters(loadProgramme({ ref: id }))).toEqual(
      Object.fromEntries(Object.keys(LIFECYCLE_PARAMETERS).map((name) => [name, parameters[name]]))
    );
  });

  it.each(['uk-core', 'synthea'])('compiles against the %s mapping', (mapping) => {
    expect(() => loadProgramme({ ref: id, features: loadMapping(mapping).features })).not.toThrow();
  });
});

it('names the built-in programmes when asked for one that does not exist', () => {
  expect(problemsOf(() => loadProgramme({ ref: 'nhse-hiux' }))).toEqual([
    'no such programme file (built-in programmes: nhse-hfu-2022, nhse-hiu)',
  ]);
});

describe('lifecycle parameters', () => {
  it('take site overrides', () => {
    const programme = loadProgramme({ parameters: { checkInEveryDays: 7, checkInCount: 12, coolOffDays: 0 } });
    expect(lifecycleParameters(programme)).toEqual({
      conversationWithinDays: 14,
      checkInEveryDays: 7,
      checkInCount: 12,
      coolOffDays: 0,
    });
  });

  it('must be declared by the programme, each named when missing', () => {
    const file = programmeFile((p) => {
      const parameters = p.parameters as Record<string, unknown>;
      delete parameters.checkInEveryDays;
      delete parameters.coolOffDays;
    });
    expect(problemsOf(() => loadProgramme({ ref: file }))).toEqual([
      'parameters.checkInEveryDays: missing (the lifecycle reads it; declare it with its default)',
      'parameters.coolOffDays: missing (the lifecycle reads it; declare it with its default)',
    ]);
  });

  it('are whole numbers of at least their minimum, in the programme and in overrides', () => {
    const file = programmeFile((p) => ((p.parameters as Record<string, unknown>).checkInCount = 2.5));
    expect(problemsOf(() => loadProgramme({ ref: file }))).toEqual([
      'parameters.checkInCount: must be a whole number of at least 0',
    ]);
    expect(
      problemsOf(() => loadProgramme({ parameters: { checkInEveryDays: 0, conversationWithinDays: -3 } }))
    ).toEqual([
      'programme.parameters.conversationWithinDays: must be a whole number of at least 1, not -3',
      'programme.parameters.checkInEveryDays: must be a whole number of at least 1, not 0',
    ]);
  });

  it("let the README's own example pass validate-config, and a wrong value fail it naming the key", async () => {
    const good = path.join(dir, 'good.yaml');
    writeFileSync(
      good,
      stringify({ programme: { parameters: { repeatItems: 10, coolOffDays: 180, checkInEveryDays: 14 } } })
    );
    const io = captureIo({});
    expect(await main(['--config', good, 'validate-config'], io)).toBe(0);
    expect(io.out()).toContain('configuration is valid');
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, stringify({ programme: { parameters: { checkInEveryDays: 0.5 } } }));
    const failed = captureIo({});
    expect(await main(['--config', bad, 'validate-config'], failed)).toBe(2);
    expect(failed.err()).toContain('programme.parameters.checkInEveryDays: must be a whole number of at least 1');
  });
});

describe('what the programme declares for generic code', () => {
  const mapping = loadMapping('uk-core');
  const programme = loadProgramme({ features: mapping.features });

  it('names the care plan conditions: their evidence, once each, nothing else', () => {
    const evidence = {
      unplannedAdmissions: ['Encounter/e1'],
      longTermConditions: ['Condition/c1', 'Condition/c2'],
      mentalHealth: ['Condition/c2', 'Condition/c3'],
    };
    expect(addressedEvidence(programme, { evidence })).toEqual(['Condition/c1', 'Condition/c2', 'Condition/c3']);
    const other = loadProgramme({ ref: programmeFile((p) => (p.carePlanAddresses = ['mentalHealth'])) });
    expect(addressedEvidence(other, { evidence })).toEqual(['Condition/c2', 'Condition/c3']);
  });

  it('marks which exclusions end a patient’s time in the programme, and not the cool-off', () => {
    const facts = { unplannedAdmissions: 3, repeatMedications: 12, deceased: true, registered: true };
    const died = decide(programme, 'p', { facts, evidence: {} });
    expect(died.exitReason).toBe('deceased');
    const coolingOff = decide(programme, 'p', { facts: { ...facts, deceased: false }, evidence: {} }, () => ({
      coolingOff: true,
    }));
    expect(coolingOff.excludedBy).toEqual(['cool-off']);
    expect(coolingOff.exitReason).toBeUndefined();
    // The explanation re-reads the rules with the state the decision saw.
    expect(explainDecision(programme, coolingOff).exclusions?.find((e) => e.id === 'cool-off')?.holds).toBe(true);
    const renamed = loadProgramme({
      ref: programmeFile((p) => {
        const exclusions = p.exclusions as { id: string; exit?: boolean }[];
        exclusions.forEach((e) => (e.id = e.id === 'deceased' ? 'died' : e.id));
      }),
    });
    expect(decide(renamed, 'p', { facts, evidence: {} }).exitReason).toBe('died');
  });

  it('gives `hfu tune` its default grid, of parameters it declares', () => {
    expect(programme.tune).toEqual({ rows: 'firstAdmissions=1-3', columns: 'repeatItems=5-15' });
    const file = programmeFile((p) => (p.tune = { rows: 'firstAdmisions=1-3', columns: 'repeatItems=5-15' }));
    expect(problemsOf(() => loadProgramme({ ref: file }))).toEqual([
      expect.stringMatching(/^tune\.rows: firstAdmisions is not a parameter of nhse-hfu-2022 \(firstAdmissions, /),
    ]);
  });

  it('checks that its headline, care plan and ranking features are the mapping’s', () => {
    const file = programmeFile((p) => {
      p.headline = ['unplannedAdmisions'];
      p.carePlanAddresses = ['conditions'];
      p.rankBy = ['riskFactorCount', 'edVisits'];
    });
    expect(problemsOf(() => loadProgramme({ ref: file, features: mapping.features }))).toEqual([
      "headline: feature 'unplannedAdmisions', which the mapping does not provide",
      "carePlanAddresses: feature 'conditions', which the mapping does not provide",
      "rankBy: feature 'edVisits', which the mapping does not provide",
    ]);
  });

  it('declares the code and display of its Flag, which loading checks', () => {
    expect(programme.flag).toEqual({
      system: 'https://fhir.hfu-connector.org/CodeSystem/hfu',
      code: 'hfu',
      display: 'High Frequency User - proactive personalised care',
      definition: expect.stringContaining('NHS England High Frequency Users model'),
    });
    expect(loadProgramme({ ref: 'nhse-hiu' }).flag).toMatchObject({
      code: 'hiu',
      display: expect.stringMatching(/^High Intensity Use/),
    });
    const missing = programmeFile((p) => delete p.flag);
    expect(problemsOf(() => loadProgramme({ ref: missing }))).toEqual([
      "flag: missing (the code and display of an enrolled patient's Flag)",
    ]);
    const malformed = programmeFile((p) => (p.flag = { code: 'High Frequency', colour: 'red' }));
    expect(problemsOf(() => loadProgramme({ ref: malformed })).sort()).toEqual([
      'flag.code: lower-case letters, digits and hyphens',
      'flag.colour: unknown key',
      'flag.display: Invalid input: expected string, received undefined',
    ]);
    // The flag code shares the project's code system: it may not take one of the project's other codes.
    const taken = programmeFile((p) => (p.flag = { code: 'managed-by-hfu-connector', display: 'Managed' }));
    expect(problemsOf(() => loadProgramme({ ref: taken }))).toEqual([
      expect.stringMatching(/^flag\.code: 'managed-by-hfu-connector' is already a code of the project's code system/),
    ]);
  });
});
