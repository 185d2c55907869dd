import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Encounter, Group } from '@medplum/fhirtypes';
import { configSchema } from '../../src/config';
import { addDays } from '../../src/dates';
import { FhirClient } from '../../src/fhir';
import { DATA_READ_UP_TO_URL } from '../../src/writeback';
import { MANAGED_TAG, token } from '../../src/vocabulary';
import { runCli } from './helpers/cli';
import { emergencyAdmission } from './helpers/practice';
import type { SeededServer } from './helpers/server';
import { AS_OF, startSeededServer } from './helpers/server';

const PATIENTS = 500;

let server: SeededServer;
let client: FhirClient;
let configFile: string;

interface Report {
  complete: boolean;
  mode: string;
  changedSince?: string;
  population: number;
  proposed: string[];
  candidates: { patient: string }[];
  writes: { created: number; updated: number };
}

async function run(...extra: string[]): Promise<Report> {
  const { code, stdout, stderr } = await runCli(['run', '--json', '--now', AS_OF, '--config', configFile, ...extra], {
    HFU_FHIR__BASE_URL: server.baseUrl,
  });
  expect({ code, stderr: code ? stderr.slice(-1500) : '' }).toEqual({ code: 0, stderr: '' });
  return JSON.parse(stdout) as Report;
}

async function watermark(): Promise<string | undefined> {
  const [group] = await client.searchAll<Group>('Group', { _tag: token(MANAGED_TAG) });
  return group?.extension?.find((e) => e.url === DATA_READ_UP_TO_URL)?.valueDateTime;
}

describe.each(['search', 'bulk'] as const)('incremental refresh, extract.mode %s', (mode) => {
  beforeAll(async () => {
    server = await startSeededServer(PATIENTS, 5);
    client = FhirClient.fromConfig({ ...configSchema.parse({}).fhir, baseUrl: server.baseUrl });
    configFile = path.join(mkdtempSync(path.join(tmpdir(), 'hfu-incremental-')), 'config.json');
    writeFileSync(configFile, JSON.stringify({ extract: { mode, incremental: true, incrementalOverlapSeconds: 0 } }));
  });
  afterAll(() => server.stop());

  it('reads everyone first, then only what changed and who is in the programme, and finds a new candidate', async () => {
    const first = await run();
    expect(first).toMatchObject({ mode: 'full', population: PATIENTS, complete: true });
    const inProgramme = first.proposed.length;
    expect(inProgramme).toBeGreaterThan(2);
    const mark = await watermark();
    expect(Date.parse(mark ?? '')).toBeGreaterThan(0);

    // Nothing changed: the programme's patients (and those whose newest data sits exactly on the watermark, which
    // `ge` re-reads rather than risk a miss), nothing written, the watermark where it was.
    const quiet = await run();
    expect(quiet).toMatchObject({ mode: 'incremental', changedSince: mark, proposed: [] });
    expect(quiet.population).toBeGreaterThanOrEqual(inProgramme);
    expect(quiet.population).toBeLessThan(inProgramme + 5);
    expect(quiet.writes).toMatchObject({ created: 0, updated: 0 });
    expect(await watermark()).toBe(mark);

    // A patient on ten or more repeats with no admission is admitted as an emergency: now second priority.
    const newcomer = server.truth.find(
      (t) => t.repeatMedications >= 12 && t.emergencyAdmissions === 0 && t.active && !t.deceased && !t.optedOut
    );
    expect(newcomer).toBeDefined();
    const admission = emergencyAdmission('x', newcomer?.patientId as string, addDays(AS_OF, -3));
    const { id: _id, ...unsaved } = admission;
    await client.create<Encounter>(unsaved as Encounter);

    const after = await run();
    expect(after.mode).toBe('incremental');
    expect(after.population).toBeGreaterThan(inProgramme);
    expect(after.population).toBeLessThan(inProgramme + 5);
    expect(after.proposed).toEqual([`Patient/${newcomer?.patientId}`]);
    expect(Date.parse((await watermark()) ?? '')).toBeGreaterThan(Date.parse(mark ?? ''));

    // What the increments found is what reading everyone finds.
    const full = await run('--full', '--dry-run');
    expect(full.mode).toBe('full');
    expect(full.population).toBe(PATIENTS);
    expect(full.proposed).toEqual([]);
    expect(full.candidates.map((c) => c.patient).sort()).toEqual(after.candidates.map((c) => c.patient).sort());
  });
});
