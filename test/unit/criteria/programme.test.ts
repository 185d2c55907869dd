import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Decision } from '../../../src/criteria';
import {
  applyCapacity,
  decide,
  explainDecision,
  loadProgramme,
  ProgrammeError,
  tierLimits,
  tune,
} from '../../../src/criteria';
import type { FactValue } from '../../../src/mappings';

const programme = loadProgramme();

const facts = (overrides: Record<string, FactValue> = {}): Record<string, FactValue> => ({
  unplannedAdmissions: 0,
  repeatMedications: 0,
  edAttendances: 0,
  calls999: 0,
  calls111: 0,
  gpEncounters: 0,
  longTermConditions: 0,
  mentalHealth: false,
  carer: false,
  frailty: false,
  age: 60,
  deceased: false,
  registered: true,
  optOutConsent: false,
  objectionRecorded: false,
  ...overrides,
});
const decideFor = (id: string, f: Record<string, FactValue>, coolingOff = false): Decision =>
  decide(programme, id, { facts: f, evidence: {} }, () => ({ coolingOff }));

describe('nhse-hfu-2022 tiers', () => {
  it.each([
    [2, 10, 'first'],
    [5, 14, 'first'],
    [1, 10, 'second'],
    [1, 9, undefined],
    [2, 9, undefined],
    [0, 25, undefined],
  ])('%i unplanned admissions and %i repeat items → %s', (admissions, items, tier) => {
    expect(decideFor('p', facts({ unplannedAdmissions: admissions, repeatMedications: items })).tier).toBe(tier);
  });

  it('takes its thresholds from configuration, not code', () => {
    const lowered = loadProgramme({ parameters: { repeatItems: 8 } });
    const d = decide(lowered, 'p', { facts: facts({ unplannedAdmissions: 2, repeatMedications: 8 }), evidence: {} });
    expect(d.tier).toBe('first');
  });
});

describe('exclusions and risk factors', () => {
  const firstTier = { unplannedAdmissions: 3, repeatMedications: 12 };

  it.each([
    ['deceased', { deceased: true }],
    ['not-registered', { registered: false }],
    ['opted-out', { optOutConsent: true }],
    ['opted-out', { objectionRecorded: true }],
  ])('%s excludes a patient who would qualify', (exclusion, override) => {
    const d = decideFor('p', facts({ ...firstTier, ...override }));
    expect(d.qualifyingTier).toBe('first');
    expect(d.tier).toBeUndefined();
    expect(d.excludedBy).toEqual([exclusion]);
  });

  it('excludes during a cool-off', () => {
    expect(decideFor('p', facts(firstTier), true).excludedBy).toEqual(['cool-off']);
  });

  it('reports risk factors without letting them decide', () => {
    const d = decideFor(
      'p',
      facts({ ...firstTier, age: 80, calls999: 2, calls111: 1, longTermConditions: 4, carer: true })
    );
    expect(d.tier).toBe('first');
    expect(d.riskFactors).toEqual(['older-age', 'frequent-urgent-contacts', 'multiple-conditions', 'carer']);
    const notCandidate = decideFor('q', facts({ age: 90, longTermConditions: 6, frailty: true }));
    expect(notCandidate.tier).toBeUndefined();
    expect(notCandidate.riskFactors.length).toBe(3);
  });

  it('treats a rule that is empty (missing data) as not holding', () => {
    const d = decideFor('p', facts({ ...firstTier, age: null, deceased: null }));
    expect(d.riskFactors).not.toContain('older-age');
    expect(d.excludedBy).toEqual([]);
  });

  it('explains every rule with the thresholds in force and the values it read', () => {
    const d = decideFor('p', facts({ unplannedAdmissions: 1, repeatMedications: 9 }));
    const explanation = explainDecision(programme, d, { coolingOff: false });
    expect(explanation.tiers?.[0]).toMatchObject({
      id: 'first',
      holds: false,
      when: '%f.unplannedAdmissions >= 2 and %f.repeatMedications >= 10',
      values: { unplannedAdmissions: 1, repeatMedications: 9 },
    });
  });
});

describe('capacity', () => {
  const candidates = [
    decideFor('a', facts({ unplannedAdmissions: 2, repeatMedications: 10 })),
    decideFor('b', facts({ unplannedAdmissions: 4, repeatMedications: 10 })),
    decideFor('c', facts({ unplannedAdmissions: 2, repeatMedications: 15 })),
    decideFor('d', facts({ unplannedAdmissions: 2, repeatMedications: 10, age: 80, carer: true })),
    decideFor('e', facts({ unplannedAdmissions: 1, repeatMedications: 11 })),
  ];

  it('proposes everyone when no capacity is set', () => {
    const { proposed, waitlisted } = applyCapacity(programme, candidates, tierLimits(undefined, 5000));
    expect(proposed.map((d) => d.patientId)).toEqual(['b', 'c', 'd', 'a', 'e']);
    expect(waitlisted).toEqual([]);
  });

  it('ranks within a tier by severity and waitlists the rest', () => {
    const { proposed, waitlisted } = applyCapacity(programme, candidates, tierLimits({ first: 2, second: 0 }, 5000));
    expect(proposed.map((d) => d.patientId)).toEqual(['b', 'c']);
    expect(waitlisted.map((d) => d.patientId)).toEqual(['d', 'a', 'e']);
  });

  it('sets limits per 1,000 patients', () => {
    expect(tierLimits({ perThousand: { first: 1, second: 6 } }, 5000)).toEqual({ first: 5, second: 30 });
    expect(tierLimits({ perThousand: { first: 1 } }, 300)).toEqual({ first: 1, second: undefined });
  });
});

describe('tuning', () => {
  it('counts the tier for each pair of thresholds', () => {
    const population = [
      facts({ unplannedAdmissions: 1, repeatMedications: 6 }),
      facts({ unplannedAdmissions: 2, repeatMedications: 10 }),
      facts({ unplannedAdmissions: 3, repeatMedications: 12 }),
    ];
    const result = tune(programme, 'first', population, 3, {
      rowParameter: 'firstAdmissions',
      columnParameter: 'repeatItems',
      rows: [1, 2, 3],
      columns: [5, 10, 12],
    });
    expect(result.counts).toEqual([
      [3, 2, 1],
      [2, 2, 1],
      [1, 1, 1],
    ]);
  });
});

describe('loading', () => {
  it('names unknown parameters and features the mapping lacks', () => {
    try {
      loadProgramme({ parameters: { repeatItemz: 9 }, features: ['unplannedAdmissions'] });
      throw new Error('expected a ProgrammeError');
    } catch (err) {
      expect(err).toBeInstanceOf(ProgrammeError);
      const problems = (err as ProgrammeError).problems.join('\n');
      expect(problems).toContain('programme.parameters.repeatItemz: not a parameter of nhse-hfu-2022');
      expect(problems).toContain("reads feature 'repeatMedications', which the mapping does not provide");
    }
  });

  it('reports a broken rule expression', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'hfu-prog-')), 'p.yaml');
    writeFileSync(
      file,
      "id: p\nversion: '1'\ntitle: t\nflag: { code: p, display: P }\nparameters: { x: 1 }\ntiers:\n  - { id: first, title: F, when: '%f.a >= %p.x and (' }\n"
    );
    expect(() => loadProgramme({ ref: file })).toThrow(/tiers\[0\] \(first\)\.when: .*line: 1/);
  });
});
