import { explainPatient, rulesFrom, runCohort, runSettingsFrom } from '../../../src/cohort';
import type { RunDeps, RunSettings } from '../../../src/cohort';
import { configSchema } from '../../../src/config';
import { FhirClient } from '../../../src/fhir';
import { silentLogger } from '../../../src/logging';
import { expectedTiers } from '../../helpers/tiers';
import { startFaultyProxy } from '../../integration/helpers/proxy';
import type { SeededServer } from '../../integration/helpers/server';
import { AS_OF, startSeededServer } from '../../integration/helpers/server';

const config = configSchema.parse({
  allocation: {
    workforce: [
      { reference: 'PractitionerRole/gp-1', role: 'gp', caseload: 500 },
      { reference: 'PractitionerRole/coach-1', role: 'health-and-wellbeing-coach', caseload: 500 },
    ],
  },
});
const rules = rulesFrom(config);
let server: SeededServer;
let expected: Map<string, 'first' | 'second'>;

beforeAll(async () => {
  server = await startSeededServer(600, 8);
  expected = expectedTiers(server.resources, AS_OF);
});
afterAll(() => server.stop());

const deps = (baseUrl = server.baseUrl, mapping = rules.mapping): RunDeps => {
  const client = FhirClient.fromConfig({ ...config.fhir, baseUrl });
  return { source: client, record: client, logger: silentLogger(), mapping, programme: rules.programme };
};
const settings = (extra: Partial<RunSettings> = {}): RunSettings => ({
  ...runSettingsFrom(config, { asOf: AS_OF, dryRun: false }),
  ...extra,
});

describe('a run, in process', () => {
  it('proposes exactly the cohort, then finds nothing to do, and reports the stages once written', async () => {
    const first = await runCohort(deps(), settings());
    expect(first).toMatchObject({ complete: true, stopped: false, mode: 'full', population: 600 });
    expect(new Map(first.candidates.map((d) => [d.patientId, d.tier]))).toEqual(expected);
    expect(first.proposed.sort()).toEqual([...expected.keys()].sort());
    expect(first.stages).toEqual({ 'under-review': expected.size });
    expect(first.writes).toMatchObject({ created: expected.size + 1, updated: 0, failures: [] });

    const second = await runCohort(deps(), settings());
    expect(second.writes).toMatchObject({ created: 0, updated: 0, unchanged: expected.size + 1 });
    expect(second.proposed).toEqual([]);
    expect(second.stages).toEqual({ 'under-review': expected.size });
  });

  it('targeted: reads only the named patient, proposes nobody new', async () => {
    const [id] = [...expected.keys()];
    const result = await runCohort(deps(), settings({ patients: [id as string], dryRun: true }));
    expect(result).toMatchObject({ mode: 'targeted', population: 1, proposed: [], complete: true });
    expect(result.candidates.map((d) => d.patientId)).toEqual([id]);
  });

  it('reads again at the end a chunk that failed after its retries, and is complete when that succeeds', async () => {
    const [candidate] = [...expected.keys()];
    let faults = 0;
    const proxy = await startFaultyProxy(server.baseUrl, ({ method, url }) =>
      method === 'GET' &&
      /\/Encounter\?/.test(url) &&
      decodeURIComponent(url).includes(`Patient/${candidate}`) &&
      !faults++
        ? { status: 503 }
        : undefined
    );
    try {
      const client = FhirClient.fromConfig({ ...config.fhir, baseUrl: proxy.baseUrl, maxAttempts: 1 });
      const result = await runCohort({ ...deps(), source: client, record: client }, settings({ dryRun: true }));
      expect(faults).toBe(2); // the fault, then the request that went through
      expect(result).toMatchObject({ complete: true, skipped: [], population: 600 });
      expect(new Map(result.candidates.map((d) => [d.patientId, d.tier]))).toEqual(expected);
    } finally {
      await proxy.stop();
    }
  });

  it('warns when a feature matched no resource in the whole population', async () => {
    const feature = rules.mapping.features.find((f) => f.select && f.resource !== 'Patient');
    expect(feature).toBeDefined();
    const blind = {
      ...rules.mapping,
      features: rules.mapping.features.map((f) => (f === feature ? { ...f, select: () => [] } : f)),
    };
    const result = await runCohort(deps(server.baseUrl, blind), settings({ dryRun: true, keepAllDecisions: true }));
    // The oracle: the features with no evidence for anybody (the blinded one, and any this population lacks).
    const unmatched = rules.mapping.features
      .map((f) => f.name)
      .filter((name) => result.decisions?.every((d) => !d.evidence[name]?.length))
      .sort();
    expect(unmatched).toContain(feature?.name);
    expect(result.warnings).toEqual(
      unmatched.map(
        (name) =>
          `feature ${name} matched no resource in 600 patients: if some should have it, check its expression in the mapping`
      )
    );
    const targeted = await runCohort(deps(server.baseUrl, blind), settings({ dryRun: true, patients: ['x'] }));
    expect(targeted.warnings).toEqual([]); // a few patients say nothing about the mapping
  });
});

describe('explaining one patient', () => {
  it('reads that patient and their own programme resources, and says where they stand', async () => {
    const [id] = [...expected.keys()].sort();
    const proxy = await startFaultyProxy(server.baseUrl, () => undefined);
    try {
      const outcome = await explainPatient(deps(proxy.baseUrl), settings(), id as string);
      if ('skipped' in outcome) {
        throw new Error(outcome.skipped);
      }
      const { explanation } = outcome;
      expect(explanation).toMatchObject({
        patient: `Patient/${id}`,
        candidate: true,
        tier: expected.get(id as string),
      });
      expect(explanation.programme).toMatchObject({ stage: 'under-review', episode: 1 });
      expect(explanation.programme.dominantRisk).toMatch(/^(clinical|psychosocial)$/);
      expect(explanation.programme.owner).toEqual({
        reference:
          explanation.programme.dominantRisk === 'clinical' ? 'PractitionerRole/gp-1' : 'PractitionerRole/coach-1',
        status: 'proposed',
      });
      const programmeSearches = proxy.seen.filter((s) => /^GET \S*\/(Task|Flag|CarePlan|Group)\?/.test(s));
      expect(programmeSearches).toHaveLength(3);
      for (const search of programmeSearches) {
        expect(decodeURIComponent(search)).toContain(`subject=Patient/${id}`);
      }
    } finally {
      await proxy.stop();
    }
  });

  it('of a patient outside the programme says so, and one the endpoint does not hold is skipped', async () => {
    const outsider = server.truth.find((t) => !expected.has(t.patientId))?.patientId as string;
    const outcome = await explainPatient(deps(), settings(), outsider);
    expect('explanation' in outcome && outcome.explanation.programme.stage).toBe(undefined);
    expect('explanation' in outcome && outcome.explanation.candidate).toBe(false);
    await expect(explainPatient(deps(), settings(), 'nobody')).resolves.toEqual({
      skipped: 'not found on the endpoint',
    });
  });
});
