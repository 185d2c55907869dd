import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Bundle, CarePlan, Encounter, PractitionerRole, Resource, Task } from '@medplum/fhirtypes';
import { configSchema } from '../../src/config';
import { addMonths } from '../../src/dates';
import { FhirClient } from '../../src/fhir';
import type { RunningFhirServer } from '../../src/server';
import { startFhirServer } from '../../src/server';
import { generatePatients, practiceResources } from '../../src/synth';
import { MANAGED_TAG, token } from '../../src/vocabulary';
import { runCli } from './helpers/cli';

/**
 * The multi-year practice through the real lifecycle: a run proposes, the MDT accepts, a run enrols (CarePlans
 * written by the connector); then `hfu synth --follow-up-from --until --record` reads those enrolments from the
 * record and writes the follow-up year with and without a programme effect.
 */
const AS_OF = '2026-11-23';
const UNTIL = addMonths(AS_OF, 12);
// 1,200 patients: some ten candidates enrolled, a few of them with an emergency admission in the follow-up year.
const PATIENTS = 1200;
const PRACTICE = ['--patients', String(PATIENTS), '--seed', '1', '--years', '3', '--as-of', AS_OF];
const dir = mkdtempSync(path.join(tmpdir(), 'hfu-synth-follow-up-'));

let server: RunningFhirServer;
let client: FhirClient;
let configFile: string;

beforeAll(async () => {
  const options = { patients: PATIENTS, seed: 1, asOf: AS_OF, historyYears: 3 };
  const team: PractitionerRole[] = ['gp-1', 'coach-1'].map((id) => ({ resourceType: 'PractitionerRole', id }));
  server = await startFhirServer({ resources: [...practiceResources(options), ...team] });
  for (const patient of generatePatients(options)) {
    await server.repo.load(patient.resources);
  }
  client = FhirClient.fromConfig({ ...configSchema.parse({}).fhir, baseUrl: server.baseUrl });
  configFile = path.join(dir, 'config.json');
  const workforce = [
    { reference: 'PractitionerRole/gp-1', role: 'gp', caseload: 500 },
    { reference: 'PractitionerRole/coach-1', role: 'health-and-wellbeing-coach', caseload: 500 },
  ];
  writeFileSync(configFile, JSON.stringify({ allocation: { workforce } }));
});
afterAll(() => server.stop());

async function hfu(args: string[]): Promise<string> {
  const { code, stdout, stderr } = await runCli(args, { HFU_FHIR__BASE_URL: server.baseUrl });
  expect({ code, stderr: code ? stderr.slice(-2000) : '' }).toEqual({ code: 0, stderr: '' });
  return stdout;
}

const ndjson = (file: string): Resource[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Resource);

const isEmergencyAdmission = (e: Encounter): boolean =>
  e.class.code === 'IMP' &&
  [...(e.hospitalization?.extension ?? []), ...(e.extension ?? [])].some((x) =>
    /^2/.test(x.valueCodeableConcept?.coding?.[0]?.code ?? '')
  );

describe('follow-up of a practice enrolled through the lifecycle', () => {
  let enrolled: Set<string>;

  it('enrols the candidates the MDT accepts', async () => {
    await hfu(['run', '--json', '--now', AS_OF, '--config', configFile]);
    const reviews = await client.searchAll<Task>('Task', { _tag: token(MANAGED_TAG) });
    expect(reviews.length).toBeGreaterThan(5);
    const decided = new Date().toISOString();
    for (const review of reviews) {
      await client.update<Task>({ ...review, status: 'accepted', lastModified: decided });
    }
    await hfu(['run', '--json', '--now', AS_OF, '--config', configFile]);
    const plans = await client.searchAll<CarePlan>('CarePlan', { _tag: token(MANAGED_TAG) });
    expect(plans).toHaveLength(reviews.length);
    expect(plans.every((p) => p.period?.start === AS_OF)).toBe(true);
    enrolled = new Set(plans.map((p) => p.subject.reference?.replace('Patient/', '') ?? ''));
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: plans.map((resource) => ({ resource })),
    };
    writeFileSync(path.join(dir, 'record.json'), JSON.stringify(bundle, null, 2));
  });

  it('writes the follow-up year, taking every emergency admission of the enrolled away at effect -1', async () => {
    const followUp = ['--follow-up-from', AS_OF, '--until', UNTIL, '--record', path.join(dir, 'record.json')];
    const none = path.join(dir, 'none.ndjson');
    const all = path.join(dir, 'all.ndjson');
    await hfu(['synth', ...PRACTICE, ...followUp, '--programme-effect', '0', '--out', none]);
    await hfu(['synth', ...PRACTICE, ...followUp, '--programme-effect', '-1', '--out', all]);
    const [before, after] = [ndjson(none), ndjson(all)] as [Encounter[], Encounter[]];
    expect(before.every((e) => e.resourceType === 'Encounter')).toBe(true);
    const days = before.map((e) => e.period?.start?.slice(0, 10) ?? '');
    expect(days.every((d) => d > AS_OF && d <= UNTIL)).toBe(true);
    const patientOf = (e: Encounter) => e.subject?.reference?.replace('Patient/', '') ?? '';
    const enrolledAdmissions = (list: Encounter[]) =>
      list.filter((e) => isEmergencyAdmission(e) && enrolled.has(patientOf(e)));
    expect(enrolledAdmissions(before).length).toBeGreaterThan(0);
    expect(enrolledAdmissions(after)).toEqual([]);
    const kept = new Set(after.map((e) => JSON.stringify(e)));
    const lost = before.filter((e) => !kept.has(JSON.stringify(e)));
    expect(lost.map((e) => e.id).sort()).toEqual(
      enrolledAdmissions(before)
        .map((e) => e.id)
        .sort()
    );
  });
});
