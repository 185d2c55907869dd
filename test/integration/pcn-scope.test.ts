import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Group, Organization, Patient, Resource } from '@medplum/fhirtypes';
import { configSchema } from '../../src/config';
import { FhirClient } from '../../src/fhir';
import type { RunningFhirServer } from '../../src/server';
import { startFhirServer } from '../../src/server';
import { synthesizePractice } from '../../src/synth';
import { MANAGED_TAG, NHS_SYSTEM, token } from '../../src/vocabulary';
import { runCli } from './helpers/cli';
import { AS_OF } from './helpers/server';

/** Three practices on one endpoint; the PCN is the first two. */
const PRACTICES = ['Y90001', 'Y90002', 'Y90003'];
const PATIENTS = 100;
/** A lower repeat-medicines threshold than the programme's: candidates in each practice, few patients as they are. */
const PARAMETERS = { repeatItems: 1 };

let server: RunningFhirServer;
beforeAll(async () => {
  const resources = PRACTICES.flatMap(
    (odsCode, i) =>
      synthesizePractice({ patients: PATIENTS, seed: 11 + i, asOf: AS_OF, odsCode, nhsNumberOffset: i * PATIENTS })
        .resources
  );
  server = await startFhirServer({ resources });
});
afterAll(() => server.stop());

interface Report {
  population: number;
  proposed: string[];
  waitlisted: string[];
}

async function run(
  scope: Record<string, unknown>,
  dryRun = true,
  on: { server: RunningFhirServer; env?: Record<string, string> } = { server }
): Promise<Report> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'hfu-pcn-')), 'config.json');
  writeFileSync(file, JSON.stringify({ scope, programme: { parameters: PARAMETERS } }));
  const { code, stdout, stderr } = await runCli(
    ['run', '--json', '--now', AS_OF, '--config', file, ...(dryRun ? ['--dry-run'] : [])],
    { HFU_FHIR__BASE_URL: on.server.baseUrl, ...on.env }
  );
  expect({ code, stderr: code ? stderr.slice(-2000) : '' }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(stdout) as Report;
}

const candidates = (r: Report) => [...r.proposed, ...r.waitlisted].sort();

describe('a PCN scope of several practices', () => {
  it('reads exactly the patients of its practices, and finds the union of what each practice alone finds', async () => {
    const pcn = await run({ type: 'practices', ods: ['Y90001', 'Y90002'], name: 'pcn-north' });
    const [one, two] = await Promise.all([
      run({ type: 'practice', ods: 'Y90001' }),
      run({ type: 'practice', ods: 'Y90002' }),
    ]);
    expect(pcn.population).toBe(2 * PATIENTS);
    expect(one.population).toBe(PATIENTS);
    expect(Math.min(candidates(one).length, candidates(two).length)).toBeGreaterThan(0);
    expect(candidates(pcn).length).toBeLessThan(pcn.population);
    expect(candidates(pcn)).toEqual([...candidates(one), ...candidates(two)].sort());
    expect(candidates(pcn).some((p) => p.startsWith('Patient/y90003'))).toBe(false);
  });

  it('keeps one cohort Group for the PCN, named by the scope', async () => {
    await run({ type: 'practices', ods: ['Y90002', 'Y90001'], name: 'pcn-north' }, false);
    const client = FhirClient.fromConfig({ ...configSchema.parse({}).fhir, baseUrl: server.baseUrl });
    const groups = await client.searchAll<Group>('Group', { _tag: token(MANAGED_TAG) });
    expect(groups).toHaveLength(1);
    expect(groups[0]?.identifier?.[0]?.value).toMatch(/practices-pcn-north$/);
  });

  it('refuses a scope naming a practice the endpoint does not hold', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'hfu-pcn-')), 'config.json');
    writeFileSync(file, JSON.stringify({ scope: { type: 'practices', ods: ['Y90001', 'Y99999'] } }));
    const { code, stderr } = await runCli(['run', '--json', '--dry-run', '--config', file], {
      HFU_FHIR__BASE_URL: server.baseUrl,
    });
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/expected one Organization with ODS code Y99999, found 0/);
  });
});

describe('a PCN scope on a server without comma OR lists (--behave minimal, extract.subjectSearch per-patient)', () => {
  let minimal: RunningFhirServer;
  let resources: Resource[];
  const perPatient = () => ({ server: minimal, env: { HFU_EXTRACT__SUBJECT_SEARCH: 'per-patient' } });

  beforeAll(async () => {
    resources = PRACTICES.flatMap(
      (odsCode, i) =>
        synthesizePractice({ patients: PATIENTS, seed: 11 + i, asOf: AS_OF, odsCode, nhsNumberOffset: i * PATIENTS })
          .resources
    );
    // One patient of the second practice is registered with the first as well: the PCN must read them once.
    const second = resources.find(
      (r): r is Patient => r.resourceType === 'Patient' && (r.id ?? '').startsWith('y90002')
    );
    second?.generalPractitioner?.push({ reference: `Organization/${organizationOf('Y90001')}` });
    minimal = await startFhirServer({ resources, behave: 'minimal' });
  });
  afterAll(() => minimal.stop());

  const organizationOf = (ods: string): string | undefined =>
    resources.find(
      (r): r is Organization =>
        r.resourceType === 'Organization' &&
        (r.identifier ?? []).some((i) => i.system === NHS_SYSTEM.ods && i.value === ods)
    )?.id;
  /** Patients registered with any of the practices, counted from the resources as loaded. */
  const registeredWith = (ods: string[]): number => {
    const orgs = new Set(ods.map((code) => `Organization/${organizationOf(code)}`));
    return resources.filter(
      (r) => r.resourceType === 'Patient' && (r.generalPractitioner ?? []).some((gp) => orgs.has(gp.reference ?? ''))
    ).length;
  };

  it('reads each patient of the practices once, and finds the union of what each practice alone finds', async () => {
    const pcn = await run({ type: 'practices', ods: ['Y90001', 'Y90002'], name: 'pcn-north' }, true, perPatient());
    const [one, two] = await Promise.all([
      run({ type: 'practice', ods: 'Y90001' }, true, perPatient()),
      run({ type: 'practice', ods: 'Y90002' }, true, perPatient()),
    ]);
    expect(registeredWith(['Y90001', 'Y90002'])).toBeLessThan(registeredWith(['Y90001']) + registeredWith(['Y90002']));
    expect(pcn.population).toBe(registeredWith(['Y90001', 'Y90002']));
    expect(one.population).toBe(registeredWith(['Y90001']));
    expect(Math.min(candidates(one).length, candidates(two).length)).toBeGreaterThan(0);
    expect(candidates(pcn).length).toBeLessThan(pcn.population);
    expect(candidates(pcn)).toEqual([...new Set([...candidates(one), ...candidates(two)])].sort());
    expect(candidates(pcn).some((p) => p.startsWith('Patient/y90003'))).toBe(false);
  });

  it('is refused by the server as one comma OR list (or-list), so per-patient is what makes it readable', async () => {
    const client = FhirClient.fromConfig({ ...configSchema.parse({}).fhir, baseUrl: minimal.baseUrl });
    const orgs = ['Y90001', 'Y90002'].map((ods) => `Organization/${organizationOf(ods)}`).join(',');
    await expect(client.searchAll('Patient', { 'general-practitioner': orgs })).rejects.toThrow(/400/);
  });
});
