import type { Resource } from '@medplum/fhirtypes';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main';
import { loadMapping } from '../../src/mappings';
import type { RunningFhirServer } from '../../src/server';
import { startFhirServer } from '../../src/server';
import type { SurveyReport } from '../../src/survey';
import { codes, synthesizePractice } from '../../src/synth';
import { captureIo } from '../helpers/io';
import { admissionExtensions, fingerprint, LOCAL_ADMISSION_URL, recodeAdmissionMethod } from '../helpers/recode';
import { AS_OF } from './helpers/server';

interface RunCandidate {
  patient: string;
  tier: string;
  features: Record<string, unknown>;
}

async function hfu(server: RunningFhirServer, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo({ HFU_FHIR__BASE_URL: server.baseUrl, HFU_LOG__LEVEL: 'error' });
  const code = await main(args, io);
  return { code, out: io.out(), err: io.err() };
}

async function dryRunCandidates(server: RunningFhirServer, mapping: string): Promise<RunCandidate[]> {
  const result = await hfu(server, ['run', '--dry-run', '--json', '--now', AS_OF, '--mapping', mapping]);
  expect(result.code).toBe(0);
  const candidates = (JSON.parse(result.out) as { candidates: RunCandidate[] }).candidates;
  return candidates
    .map(({ patient, tier, features }) => ({ patient, tier, features }))
    .sort((a, b) => a.patient.localeCompare(b.patient));
}

/**
 * The two differences `mapping suggest` can fix (as in the survey test): emergency admissions from A&E (21) recorded
 * with a local code 2E, and every other admission method on a local extension on Encounter. Medicines as
 * MedicationStatement need the mapping language to read them (issue 11, section 2, third bullet), so stay as they are.
 */
function recode(resource: Resource): Resource {
  return resource.resourceType === 'Encounter' ? recodeAdmissionMethod(resource) : resource;
}

describe('hfu mapping suggest on a recoded population', () => {
  const { resources: original } = synthesizePractice({ patients: 1000, seed: 21, asOf: AS_OF });
  const recoded = original.map((r) => recode(structuredClone(r)));
  const work = mkdtempSync(path.join(tmpdir(), 'hfu-suggest-'));
  const builtIn = path.dirname(loadMapping('uk-core').file);
  let before: RunningFhirServer;
  let after: RunningFhirServer;
  // The survey of the recoded feed, once for the tests that read it (nothing here writes to the servers).
  let surveyed: { code: number; out: string; err: string };
  const surveyFile = path.join(work, 'survey.json');

  beforeAll(async () => {
    before = await startFhirServer({ resources: original });
    after = await startFhirServer({ resources: recoded });
    surveyed = await hfu(after, ['survey', '--json', '--now', AS_OF, '--sample', '1000']);
    writeFileSync(surveyFile, surveyed.out);
  });
  afterAll(async () => {
    await before.stop();
    await after.stop();
  });

  it('proposes the changes in a copy, and the copy finds the cohort uk-core found before the recoding', async () => {
    const builtInBefore = fingerprint(builtIn);
    const expected = await dryRunCandidates(before, 'uk-core');
    expect(expected.filter((c) => Number(c.features.unplannedAdmissions) > 0).length).toBeGreaterThan(5);
    // The recoding matters: uk-core on the recoded feed misses admissions.
    const missed = await dryRunCandidates(after, 'uk-core');
    expect(missed).not.toEqual(expected);

    expect(surveyed.code).toBe(0);
    const report = JSON.parse(surveyed.out) as SurveyReport;
    expect(report.unrecognised.map((u) => u.value)).toContain(`${codes.SYSTEM.admissionMethod}|2E`);

    const copy = path.join(work, 'trust-mapping');
    const suggested = await hfu(after, [
      'mapping',
      'suggest',
      '--survey',
      surveyFile,
      '--out',
      copy,
      '--assign',
      '2E=emergency-admission-methods',
    ]);
    expect(suggested.err).toBe('');
    expect(suggested.code).toBe(0);
    const local2E = recoded.filter(
      (r) =>
        r.resourceType === 'Encounter' && admissionExtensions(r)[0]?.valueCodeableConcept?.coding?.[0]?.code === '2E'
    ).length;
    const moved = recoded.filter(
      (r) => r.resourceType === 'Encounter' && r.extension?.some((x) => x.url === LOCAL_ADMISSION_URL)
    ).length;
    expect(suggested.out).toContain(`Proposed changes (2):`);
    expect(suggested.out).toContain(
      `valuesets (emergency-admission-methods): add ${codes.SYSTEM.admissionMethod}|2E to emergency-admission-methods`
    );
    expect(suggested.out).toContain(`seen ${local2E} times`);
    expect(suggested.out).toContain(
      `mapping.yaml: features.unplannedAdmissions.where: also read ${LOCAL_ADMISSION_URL}`
    );
    expect(suggested.out).toContain(`${moved} resources carry the local extension`);
    expect(fingerprint(builtIn)).toEqual(builtInBefore);

    expect(await dryRunCandidates(after, copy)).toEqual(expected);

    const tested = await hfu(after, ['mapping', 'test', '--mapping', copy]);
    expect(tested.code).toBe(0);
    expect(tested.out).toMatch(/\d+ passed, 0 failed \(uk-core: /);

    // Surveyed again with the copy, the feed holds nothing the mapping cannot place.
    const again = await hfu(after, ['survey', '--json', '--now', AS_OF, '--sample', '1000', '--mapping', copy]);
    expect((JSON.parse(again.out) as SurveyReport).unrecognised).toEqual([]);
  });

  it('without an assignment, changes no list and says what is left to decide', async () => {
    expect(surveyed.code).toBe(0);
    const copy = path.join(work, 'undecided');
    const suggested = await hfu(after, ['mapping', 'suggest', '--survey', surveyFile, '--out', copy]);
    expect(suggested.code).toBe(0);
    expect(suggested.out).toContain('Proposed changes (1):');
    expect(suggested.out).toMatch(/Not changed, for you to decide \(1\):\n {2}\S+\|2E seen \d+ times/);
    expect(suggested.out).toContain('--assign 2E=<list>');
    expect(readFileSync(path.join(copy, 'valuesets', 'emergency-admission-methods.json'), 'utf8')).toEqual(
      readFileSync(path.join(builtIn, 'valuesets', 'emergency-admission-methods.json'), 'utf8')
    );
  });

  it('refuses a survey file that is not a survey, and an output folder that is in use, with exit code 2', async () => {
    const notSurvey = path.join(work, 'not-a-survey.json');
    writeFileSync(notSurvey, '{"resourceType":"Bundle"}');
    const bad = await hfu(after, ['mapping', 'suggest', '--survey', notSurvey, '--out', path.join(work, 'x')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('not the JSON of hfu survey --json');
    const empty = path.join(work, 'empty-survey.json');
    writeFileSync(empty, JSON.stringify({ unrecognised: [], unusedExtensions: [] }));
    const inUse = await hfu(after, ['mapping', 'suggest', '--survey', empty, '--out', work]);
    expect(inUse.code).toBe(2);
    expect(inUse.err).toContain('already exists and is not empty');
  });
});

describe('hfu mapping new', () => {
  it('scaffolds a folder from uk-core whose own tests pass under hfu mapping test', async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'hfu-new-')), 'north-icb');
    const io = captureIo({ HFU_LOG__LEVEL: 'error' });
    expect(await main(['mapping', 'new', 'north-icb', '--out', out], io)).toBe(0);
    expect(io.out()).toContain(`Mapping north-icb written to ${out}, from uk-core, with its tests.`);
    const test = captureIo({ HFU_LOG__LEVEL: 'error' });
    expect(await main(['mapping', 'test', '--mapping', out], test)).toBe(0);
    expect(test.out()).toMatch(new RegExp(`\\d+ passed, 0 failed \\(north-icb: ${out}/mapping.yaml\\)`));
    const again = captureIo({ HFU_LOG__LEVEL: 'error' });
    expect(await main(['mapping', 'new', 'north-icb', '--out', out], again)).toBe(2);
  });
});
