import type { CapabilityStatement } from '@medplum/fhirtypes';
import { loadMapping } from '../../../src/mappings';
import { loadR4Definitions } from '../../../src/server';
import { capabilityStatement } from '../../../src/server/capability';
import type { CapabilitySurvey } from '../../../src/survey/report';
import { capabilitySurvey } from '../../../src/survey/capability';

const ukCore = loadMapping('uk-core');
const gpRecord = loadMapping('gp-record');
const SOFTWARE = { name: 'test', version: '0' };
const none = { refusedPatientLists: [] };

beforeAll(() => loadR4Definitions());

const embedded = (behave: 'default' | 'hapi' | 'read-only' | 'minimal'): CapabilityStatement =>
  capabilityStatement('http://127.0.0.1/fhir/R4', SOFTWARE, behave);
const advice = (survey: CapabilitySurvey): Record<string, string> =>
  Object.fromEntries(survey.settings.map((s) => [s.setting, s.value]));
const why = (survey: CapabilitySurvey, setting: string): string =>
  survey.settings.find((s) => s.setting === setting)?.because ?? '';

/** The embedded server's statement, changed as another server's would be. */
function edited(change: (rest: NonNullable<CapabilityStatement['rest']>[number]) => void): CapabilityStatement {
  const statement = structuredClone(embedded('default'));
  change(statement.rest?.[0] as NonNullable<CapabilityStatement['rest']>[number]);
  return statement;
}

describe('the settings that follow from a CapabilityStatement', () => {
  it('a server with transactions and _lastUpdated: the defaults, and incremental reads possible', () => {
    const survey = capabilitySurvey(ukCore, embedded('default'), none);
    expect(advice(survey)).toMatchObject({
      'writeback.strategy': 'transaction (the default)',
      'extract.subjectSearch': 'or-list (the default)',
      'extract.incremental': 'true is possible',
      'fhir.maxUrlLength': '8000 (the default) unless long searches fail',
    });
    expect(advice(survey)['writeback.fhir']).toBeUndefined();
    expect(why(survey, 'extract.subjectSearch')).toContain('cannot be read from metadata');
    expect(survey.settings.filter((s) => s.change)).toEqual([]);
  });

  it('a read-only server: a separate writable target, and no write strategy for it', () => {
    const survey = capabilitySurvey(ukCore, embedded('read-only'), none);
    expect(advice(survey)['writeback.fhir']).toBe('a separate, writable endpoint');
    // Every type a run writes, the care records (goals, referrals, wellbeing scores) among them.
    for (const type of ['Group', 'Task', 'Flag', 'CarePlan', 'Goal', 'ServiceRequest', 'Observation', 'Provenance']) {
      expect(why(survey, 'writeback.fhir')).toContain(type);
    }
    expect(advice(survey)['writeback.strategy']).toBeUndefined();
    expect(survey.checks.find((c) => c.use === 'Task: create')?.declared).toBe(false);
  });

  it('a minimal server: individual writes, no incremental reads by search', () => {
    const survey = capabilitySurvey(gpRecord, embedded('minimal'), none);
    expect(advice(survey)).toMatchObject({
      'writeback.strategy': 'individual',
      'extract.incremental': 'false',
    });
    expect(why(survey, 'extract.incremental')).toContain(
      'does not declare _lastUpdated on Patient, Encounter, MedicationRequest, MedicationStatement, Appointment, Condition, Observation, Consent'
    );
    expect(survey.checks.find((c) => c.use === 'Appointment: _lastUpdated (extract.incremental)')?.declared).toBe(
      false
    );
  });

  it('batches but no transactions: batch', () => {
    const survey = capabilitySurvey(
      ukCore,
      edited((rest) => (rest.interaction = [{ code: 'batch' }])),
      none
    );
    expect(advice(survey)['writeback.strategy']).toBe('batch (or individual)');
    expect(survey.settings.find((s) => s.setting === 'writeback.strategy')?.change).toBe(true);
  });

  it('lists refused in the survey: per-patient, or everything where $everything is declared', () => {
    const refused = { refusedPatientLists: ['Condition', 'Encounter'] };
    expect(advice(capabilitySurvey(ukCore, embedded('minimal'), refused))['extract.subjectSearch']).toBe('per-patient');
    const withEverything = edited((rest) => {
      const patient = rest.resource?.find((r) => r.type === 'Patient');
      (patient as { operation?: unknown[] }).operation = [
        { name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' },
      ];
    });
    const survey = capabilitySurvey(ukCore, withEverything, refused);
    expect(advice(survey)['extract.subjectSearch']).toBe('everything (or per-patient)');
    expect(why(survey, 'extract.subjectSearch')).toContain('(Condition, Encounter)');
    expect(advice(capabilitySurvey(ukCore, withEverything, none))['extract.subjectSearch']).toBe(
      'or-list (the default)'
    );
    expect(why(capabilitySurvey(ukCore, withEverything, none), 'extract.subjectSearch')).toContain(
      'everything is possible'
    );
    expect(
      capabilitySurvey(ukCore, withEverything, none).checks.find((c) => c.use.startsWith('Patient/[id]/$everything'))
        ?.declared
    ).toBe(true);
  });

  it('$export declared: bulk reads, and incremental ones by _since without _lastUpdated', () => {
    const statement = edited((rest) => {
      rest.operation = [{ name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export' }];
      rest.resource?.forEach((r) => (r.searchParam = r.searchParam?.filter((p) => p.name !== '_lastUpdated')));
    });
    const survey = capabilitySurvey(ukCore, statement, none);
    expect(advice(survey)).toMatchObject({
      'extract.mode': 'search, or bulk',
      'extract.incremental': 'false, or true with extract.mode bulk',
    });
  });

  it('no conditional create: a target that has it', () => {
    const statement = edited((rest) =>
      rest.resource?.filter((r) => r.type === 'Task').forEach((r) => (r.conditionalCreate = false))
    );
    const survey = capabilitySurvey(ukCore, statement, none);
    expect(survey.settings).toContainEqual(
      expect.objectContaining({ setting: 'writeback.fhir', value: 'a separate endpoint with conditional create' })
    );
    expect(why(survey, 'writeback.fhir')).toContain('of Task');
  });

  it('a date parameter not declared: date bounds may have to go', () => {
    const statement = edited((rest) => {
      const encounter = rest.resource?.find((r) => r.type === 'Encounter');
      (encounter as { searchParam?: { name: string }[] }).searchParam = encounter?.searchParam?.filter(
        (p) => p.name !== 'date'
      );
    });
    const survey = capabilitySurvey(ukCore, statement, none);
    expect(advice(survey)['extract.dateBounds']).toBe('false, if searches with a date are refused');
    expect(why(survey, 'extract.dateBounds')).toContain('for Encounter');
    expect(advice(capabilitySurvey(ukCore, embedded('default'), none))['extract.dateBounds']).toBeUndefined();
  });

  it('no CapabilityStatement: only what the survey saw', () => {
    const survey = capabilitySurvey(ukCore, undefined, { refusedPatientLists: ['Encounter'] });
    expect(survey.read).toBe(false);
    expect(advice(survey)).toEqual({
      'extract.subjectSearch': 'per-patient',
      'writeback.strategy': 'transaction',
    });
    expect(why(survey, 'writeback.strategy')).toContain('did not answer GET metadata');
  });
});

describe('with a separate write target (writeback.fhir)', () => {
  const target = (statement: CapabilityStatement | undefined) => ({ baseUrl: 'http://target/fhir', statement });

  it('a read-only source writing to a target with transactions: nothing to change, the writes checked there', () => {
    const survey = capabilitySurvey(ukCore, embedded('read-only'), none, target(embedded('default')));
    expect(advice(survey)['writeback.fhir']).toBeUndefined();
    expect(advice(survey)['writeback.strategy']).toBe('transaction (the default)');
    expect(why(survey, 'writeback.strategy')).toContain('the target (writeback.fhir) declares transactions');
    expect(survey.checks.find((c) => c.use === 'Task: create')?.declared).toBe(true);
    expect(survey.checks.find((c) => c.use === 'Encounter: search')?.declared).toBe(true);
    expect(survey.target).toEqual({ endpoint: 'http://target/fhir', read: true });
    expect(survey.settings.filter((s) => s.change)).toEqual([]);
  });

  it('a target without transactions: individual; a read-only target: another one', () => {
    const minimal = capabilitySurvey(ukCore, embedded('read-only'), none, target(embedded('minimal')));
    expect(advice(minimal)['writeback.strategy']).toBe('individual');
    const readOnly = capabilitySurvey(ukCore, embedded('default'), none, target(embedded('read-only')));
    expect(advice(readOnly)['writeback.fhir']).toBe('another, writable endpoint');
    expect(why(readOnly, 'writeback.fhir')).toMatch(/^the target \(writeback\.fhir\) declares no create or update/);
  });

  it('a target that does not answer: nothing can be said of its writes', () => {
    const survey = capabilitySurvey(ukCore, embedded('default'), none, target(undefined));
    expect(survey.target).toEqual({ endpoint: 'http://target/fhir', read: false });
    expect(why(survey, 'writeback.strategy')).toContain('the target (writeback.fhir) did not answer GET metadata');
    expect(survey.checks.find((c) => c.use === 'Task: create')?.declared).toBe(false);
    expect(advice(survey)['extract.incremental']).toBe('true is possible'); // the source's reads still are
  });
});
