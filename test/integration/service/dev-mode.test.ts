import { readFileSync } from 'node:fs';
import path from 'node:path';
import { londonToday } from '../../../src/dates';
import { synthesizePractice } from '../../../src/synth';
import { spawnCli } from '../helpers/cli';
import { leakedMarkers, patientMarkers } from '../helpers/leaks';
import { waitFor } from '../helpers/wait';

const PATIENTS = 800;

describe('npm start with no configuration', () => {
  it('serves the API beside the embedded synthetic practice, refreshes at start-up, prints the URLs and a token', async () => {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '../../../package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.start).toBe('node bin/hfu.js serve');

    const { child, done } = spawnCli(['serve'], {
      HFU_SERVICE__PORT: '0',
      HFU_EMBEDDED__PORT: '0',
      HFU_EMBEDDED__SEED_PRACTICE: String(PATIENTS),
      HFU_LOG__LEVEL: 'debug',
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const token = await waitFor(() => /Development token[^:]*: (hfu_\S+)/.exec(stdout)?.[1], 'the token');
      const api = /hfu-connector API: (http:\/\/\S+)/.exec(stdout)?.[1] as string;
      const fhir = /FHIR R4 endpoint: (http:\/\/\S+)/.exec(stdout)?.[1] as string;
      const metadata = await fetch(`${fhir}/metadata`);
      expect(metadata.status).toBe(200);
      await metadata.arrayBuffer(); // read to the end: a large body left unread holds its socket open after the test
      const get = async (route: string) => {
        const res = await fetch(`${api}${route}`, { headers: { Authorization: `Bearer ${token}` } });
        expect({ route, status: res.status }).toEqual({ route, status: 200 });
        return res.json() as Promise<Record<string, unknown>>;
      };
      expect((await fetch(`${api}/cohort`)).status).toBe(401);

      const run = await waitFor(async () => {
        const { runs } = (await get('/runs')) as {
          runs: { trigger: string; status: string; counts?: { proposed: number } }[];
        };
        return runs.find((r) => r.trigger === 'startup' && r.status !== 'running');
      }, 'the start-up refresh');
      expect(run.status).toBe('succeeded');
      const cohort = (await get('/cohort')) as { total: number; entries: { patient: string }[] };
      expect(cohort.total).toBe(run.counts?.proposed);
      expect(cohort.total).toBeGreaterThan(0);
      const first = cohort.entries[0]?.patient.replace('Patient/', '');
      expect(await get(`/patients/${first}/explain`)).toMatchObject({ candidate: true });
    } finally {
      child.kill('SIGTERM');
    }
    expect((await done).code).toBe(0);

    // The whole session's output, at debug level, holds nothing that identifies a patient of the practice it served.
    const { resources } = synthesizePractice({ patients: PATIENTS, seed: 1, asOf: londonToday() });
    expect(leakedMarkers(stdout + stderr, patientMarkers(resources), [londonToday()])).toEqual([]);
  });
});
