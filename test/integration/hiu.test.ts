import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CarePlan, Encounter, Flag, Group, Task } from '@medplum/fhirtypes';
import { main } from '../../src/cli/main';
import { configSchema } from '../../src/config';
import { londonToday, longDate } from '../../src/dates';
import { FhirClient } from '../../src/fhir';
import type { RunningFhirServer } from '../../src/server';
import { startFhirServer } from '../../src/server';
import { BUSINESS_STATUS, CODE_SYSTEM, IDENTIFIER, TASK_CODE, TASK_INPUT } from '../../src/vocabulary';
import { expectedHiuTier, HIU_SPECS, hiuPractice } from '../helpers/hiu-practice';
import { captureIo } from '../helpers/io';

/** Today in London: what the MDT records comes after what the connector wrote (stamped with the wall clock). */
const AS_OF = londonToday();
const expected = new Map(
  HIU_SPECS.flatMap((s) => {
    const tier = expectedHiuTier(s, AS_OF);
    return tier ? [[s.id, tier] as const] : [];
  })
);

interface RunJson {
  complete: boolean;
  tiers: { first: number; second: number };
  proposed: string[];
  candidates: { patient: string; tier: string }[];
  excluded: Record<string, number>;
  writes: { created: number; updated: number; unchanged: number };
  writeFailures: unknown[];
}

let server: RunningFhirServer;
let client: FhirClient;
let configFile: string;

beforeAll(async () => {
  server = await startFhirServer({ resources: hiuPractice(AS_OF) });
  client = FhirClient.fromConfig({ ...configSchema.parse({}).fhir, baseUrl: server.baseUrl });
  configFile = path.join(mkdtempSync(path.join(tmpdir(), 'hfu-hiu-')), 'config.yaml');
  // The programme is chosen in configuration (programme.file), like any other setting.
  writeFileSync(configFile, 'programme:\n  file: nhse-hiu\nwriteback:\n  reviewOwner: CareTeam/hiu-lead\n');
});
afterAll(() => server.stop());

async function hfu(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo({ HFU_FHIR__BASE_URL: server.baseUrl, HFU_LOG__LEVEL: 'error' });
  const code = await main(['--config', configFile, ...args], io);
  return { code, out: io.out(), err: io.err() };
}

const review = async (patientId: string): Promise<Task | undefined> =>
  (
    await client.searchAll<Task>('Task', {
      identifier: `${IDENTIFIER.task}|nhse-hiu/Patient/${patientId}/mdt-review/1`,
    })
  )[0];

describe('a run of the High Intensity Use programme on the embedded server', () => {
  it('proposes exactly the patients over NHS England’s thresholds, each with the reason in plain English', async () => {
    expect([...expected.values()].sort()).toEqual(['first', 'first', 'second']);
    const { code, out } = await hfu('run', '--json', '--now', AS_OF);
    expect(code).toBe(0);
    const json = JSON.parse(out) as RunJson;
    expect(json.complete).toBe(true);
    expect(json.writeFailures).toEqual([]);
    expect(Object.fromEntries(json.candidates.map((c) => [c.patient, c.tier]))).toEqual(
      Object.fromEntries([...expected].map(([id, tier]) => [`Patient/${id}`, tier]))
    );
    expect(json.proposed.sort()).toEqual([...expected.keys()].map((id) => `Patient/${id}`).sort());
    expect(json.excluded).toMatchObject({ 'under-18': 1, deceased: 1 });

    const both = await review('hiu-both');
    expect(both?.code?.coding?.[0]?.code).toBe(TASK_CODE.mdtReview.code);
    expect(both?.code?.text).toBe('Review a proposed candidate for the High Intensity Use programme');
    expect(both?.businessStatus?.coding?.[0]?.code).toBe(BUSINESS_STATUS.proposed.code);
    expect(both?.description).toBe(
      `First priority: 7 A&E attendances in the month and 27 A&E attendances in the 12 months to ${longDate(AS_OF)}.`
    );
    // The evidence is the month's attendances (the first tier's feature), each input coded and titled.
    const evidence = (both?.input ?? []).filter((i) => i.type.coding?.[0]?.code === TASK_INPUT.evidence.code);
    const month = await client.searchAll<Encounter>('Encounter', { subject: 'Patient/hiu-both' });
    const inMonth = month
      .filter((e) => (e.period?.start ?? '') >= `${addDaysIso(AS_OF, -28)}`)
      .map((e) => `Encounter/${e.id}`);
    expect(evidence.map((i) => i.valueReference?.reference).sort()).toEqual(inMonth.sort());
    expect(new Set(evidence.map((i) => i.type.text))).toEqual(new Set(['A&E attendances in the last month']));
    expect((await review('hiu-year'))?.description).toBe(
      `Second priority: 3 A&E attendances in the month and 21 A&E attendances in the 12 months to ${longDate(AS_OF)}.`
    );
    for (const id of ['hiu-month-edge', 'hiu-year-edge', 'hiu-child', 'hiu-deceased', 'hiu-long-ago', 'hiu-none']) {
      expect(await review(id)).toBeUndefined();
    }
    const groups = await client.searchAll<Group>('Group', { identifier: `${IDENTIFIER.cohort}|nhse-hiu/all` });
    expect(groups).toHaveLength(1);
    expect(groups[0]?.name).toBe('Cohort: High Intensity Use of emergency departments (NHS England) - all patients');
  });

  it('writes nothing on a second run', async () => {
    const { code, out } = await hfu('run', '--json', '--now', AS_OF);
    expect(code).toBe(0);
    expect((JSON.parse(out) as RunJson).writes).toMatchObject({ created: 0, updated: 0 });
  });

  it('prints its candidates and exclusions in the programme’s words', async () => {
    const { code, out } = await hfu('run', '--dry-run', '--now', AS_OF);
    expect(code).toBe(0);
    expect(out).toContain('High Intensity Use of emergency departments (NHS England)');
    expect(out).toContain(
      `Patient/hiu-year  Second priority: 3 A&E attendances in the month and 21 A&E attendances in the 12 months to ${longDate(AS_OF)}.`
    );
    expect(out).toMatch(/excluded: .*Under 18 1/);
  });

  it('enrols a patient the lead accepts into a care plan worded for the programme', async () => {
    const task = (await review('hiu-month')) as Task;
    await client.update<Task>({ ...task, status: 'accepted' });
    const { code } = await hfu('run', '--json', '--now', AS_OF);
    expect(code).toBe(0);
    const plans = await client.searchAll<CarePlan>('CarePlan', {
      identifier: `${IDENTIFIER.carePlan}|nhse-hiu/Patient/hiu-month/care-plan/1`,
    });
    expect(plans).toHaveLength(1);
    expect(plans[0]?.title).toBe('Personalised care and support plan (High Intensity Use programme)');
    expect(plans[0]?.description).toBe(
      `First priority: 6 A&E attendances in the month and 6 A&E attendances in the 12 months to ${longDate(AS_OF)}.`
    );
    // The conversation falls due within the programme's own conversationWithinDays (7), not the HFU default (14).
    const conversation = (
      await client.searchAll<Task>('Task', {
        identifier: `${IDENTIFIER.task}|nhse-hiu/Patient/hiu-month/what-matters-conversation/1`,
      })
    )[0];
    expect(conversation?.restriction?.period?.end).toBe(addDaysIso(AS_OF, 7));
    // The Flag GP systems show carries the programme's own code (programmes/nhse-hiu.yaml), not the HFU one.
    const flags = await client.searchAll<Flag>('Flag', {
      identifier: `${IDENTIFIER.flag}|nhse-hiu/Patient/hiu-month/flag/1`,
    });
    expect(flags).toHaveLength(1);
    expect(flags[0]?.status).toBe('active');
    expect(flags[0]?.code?.coding).toEqual([
      { system: CODE_SYSTEM.hfu, code: 'hiu', display: 'High Intensity Use - personalised support' },
    ]);
  });

  it('explains a patient in the programme’s words, keeping expressions behind --verbose, and --programme chooses it', async () => {
    const plain = await hfu('explain', 'Patient/hiu-both', '--now', AS_OF);
    expect(plain.code).toBe(0);
    expect(plain.out).toContain(
      `Patient/hiu-both on ${longDate(AS_OF)}: CANDIDATE. First priority: 7 A&E attendances in the month and 27`
    );
    expect(plain.out).toContain('[x] First priority (7 A&E attendances');
    expect(plain.out).toContain('[ ] Under 18 (age 55)');
    expect(plain.out).not.toContain('%f.');
    const verbose = await hfu('explain', 'Patient/hiu-child', '--now', AS_OF, '--verbose');
    expect(verbose.out).toContain('not a candidate: excluded (Under 18)');
    expect(verbose.out).toContain('under-18: %f.age < 18');
    // The same patient under the default programme, chosen on the command line: no tier holds for them there.
    const hfuProgramme = await hfu('explain', 'Patient/hiu-both', '--now', AS_OF, '--programme', 'nhse-hfu-2022');
    expect(hfuProgramme.out).toContain("not a candidate: no tier's criteria are met");
  });
});

function addDaysIso(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}
