import type { Bundle } from '@medplum/fhirtypes';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { configSchema } from '../../src/config';
import { FhirClient } from '../../src/fhir';
import type { RunningFhirServer } from '../../src/server';
import { startFhirServer } from '../../src/server';
import { runCli } from './helpers/cli';

const FIXTURES = path.join(__dirname, '../fixtures/synthea');
let server: RunningFhirServer;
let parkerId: string;

beforeAll(async () => {
  server = await startFhirServer();
  const client = FhirClient.fromConfig({ ...configSchema.parse({}).fhir, baseUrl: server.baseUrl });
  for (const file of readdirSync(FIXTURES)) {
    const bundle = JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as Bundle;
    const response = await client.transaction(bundle); // Synthea's own transaction bundles, over HTTP
    if (file.startsWith('Parker')) {
      parkerId = (response.entry?.[0]?.response?.location ?? '').split('/')[1] as string;
    }
  }
});
afterAll(() => server.stop());

describe('hfu run --mapping synthea on Synthea bundles', () => {
  it('proposes the patient with an emergency stay and 12 active medicines, and excludes the dead', async () => {
    const result = await runCli(['run', '--mapping', 'synthea', '--now', '2021-02-20', '--json', '--dry-run'], {
      HFU_FHIR__BASE_URL: server.baseUrl,
    });
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as {
      population: number;
      candidates: { patient: string; tier: string; features: Record<string, unknown> }[];
      excluded: Record<string, number>;
    };
    expect(json.population).toBe(7);
    expect(json.candidates).toHaveLength(1);
    expect(json.candidates[0]).toMatchObject({
      patient: `Patient/${parkerId}`,
      tier: 'second',
      features: { unplannedAdmissions: 1, repeatMedications: 12, deceased: false },
    });
    expect(json.excluded.deceased).toBe(2);
  });
});
