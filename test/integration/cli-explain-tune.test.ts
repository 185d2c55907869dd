import { main } from '../../src/cli/main';
import { captureIo } from '../helpers/io';
import type { SeededServer } from './helpers/server';
import { AS_OF, startSeededServer } from './helpers/server';
import { longDate } from '../../src/dates';
import type { PatientTruth } from '../../src/synth';
import { expectedTiers } from '../helpers/tiers';

let server: SeededServer;

let tiers: Map<string, string>;
const expectedTier = (truth: PatientTruth) => tiers.get(truth.patientId);

beforeAll(async () => {
  server = await startSeededServer(1000, 3);
  tiers = expectedTiers(server.resources, AS_OF);
});
afterAll(() => server.stop());

const env = () => ({ HFU_FHIR__BASE_URL: server.baseUrl, HFU_LOG__LEVEL: 'error' });

describe('hfu explain', () => {
  it('shows a candidate with its tier, features, evidence and every rule', async () => {
    const truth = server.truth.find((t) => expectedTier(t) === 'first') ?? server.truth.find((t) => expectedTier(t));
    const io = captureIo(env());
    expect(await main(['explain', `Patient/${truth?.patientId}`, '--now', AS_OF], io)).toBe(0);
    const out = io.out();
    const tierTitle = expectedTier(truth!) === 'first' ? 'First priority' : 'Second priority';
    expect(out).toContain(`Patient/${truth?.patientId} on ${longDate(AS_OF)}: CANDIDATE. ${tierTitle}: `);
    expect(out).toMatch(new RegExp(`Unplanned admissions\\s+${truth?.emergencyAdmissions}\\s+Encounter/`));
    expect(out).toContain(`[x] ${tierTitle} (${truth?.emergencyAdmissions} unplanned admission`);
    expect(out).not.toContain('%f.');
    const verbose = captureIo(env());
    await main(['explain', `Patient/${truth?.patientId}`, '--now', AS_OF, '--verbose'], verbose);
    expect(verbose.out()).toMatch(/ \S+: %f\.unplannedAdmissions >= \d and %f\.repeatMedications >= 10/);
    expect(out).toContain('Exclusions:');
    expect(out).toMatch(/^Programme: not in the programme; dominant risk (clinical|psychosocial)$/m);
  });

  it('says why a non-candidate is not one', async () => {
    const deceased = server.truth.find((t) => t.deceased);
    const io = captureIo(env());
    expect(await main(['explain', `Patient/${deceased?.patientId}`, '--now', AS_OF, '--json'], io)).toBe(0);
    const json = JSON.parse(io.out()) as {
      candidate: boolean;
      reason: string;
      exclusions: { id: string; holds: boolean }[];
    };
    expect(json.candidate).toBe(false);
    expect(json.exclusions.find((e) => e.id === 'deceased')?.holds).toBe(true);
    const ordinary = server.truth.find((t) => !t.deceased && t.active && !t.optedOut && t.emergencyAdmissions === 0);
    const io2 = captureIo(env());
    await main(['explain', `Patient/${ordinary?.patientId}`, '--now', AS_OF], io2);
    expect(io2.out()).toContain("not a candidate: no tier's criteria are met");
  });

  it('fails clearly for a patient the endpoint does not hold', async () => {
    const io = captureIo(env());
    expect(await main(['explain', 'Patient/no-such-patient', '--now', AS_OF], io)).toBe(1);
    expect(io.err()).toContain('Patient/no-such-patient: not found');
  });
});

describe('hfu tune', () => {
  it('prints cohort sizes over the threshold grid, consistent with the tiers', async () => {
    const io = captureIo(env());
    expect(await main(['tune', '--now', AS_OF, '--json'], io)).toBe(0);
    const json = JSON.parse(io.out()) as { grid: { rows: number[]; columns: number[] }; counts: number[][] };
    expect(json.grid.rows).toEqual([1, 2, 3]);
    expect(json.grid.columns).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    const atDefault = json.counts[1]?.[5]; // 2 admissions, 10 items: the first tier
    expect(atDefault).toBe(server.truth.filter((t) => expectedTier(t) === 'first').length);
    const oneAdmission = json.counts[0]?.[5];
    expect(oneAdmission).toBe(server.truth.filter((t) => expectedTier(t)).length);
    for (const row of json.counts) {
      for (let i = 1; i < row.length; i++) {
        expect(row[i]).toBeLessThanOrEqual(row[i - 1] as number); // stricter thresholds never grow the cohort
      }
    }
    const text = captureIo(env());
    await main(['tune', '--now', AS_OF], text);
    expect(text.out()).toMatch(/firstAdmissions \|\s+5\s+6/);
    expect(text.out()).toContain('*');
  });
});
