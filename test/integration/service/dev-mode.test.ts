import { readFileSync } from 'node:fs';
import path from 'node:path';
import { londonToday } from '../../../src/dates';
import { synthesizePractice } from '../../../src/synth';
import { Browser, formFields } from '../../helpers/oidc';
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

      // The MDT workspace: the development sign-in as a demo MDT member, the worklist, a review and a decision,
      // so that the log check below covers the pages too.
      const workspace = /MDT workspace: (http:\/\/\S+)\/mdt\/worklist {3}\(development sign-in/.exec(stdout)?.[1];
      expect(workspace).toBe(api);
      const browser = new Browser();
      const signIn = await browser.follow(`${workspace}/`);
      expect(signIn.url).toBe(`${workspace}/mdt/auth/sign-in?returnTo=%2Fmdt%2Fworklist`);
      const worklist = await browser.post(`${workspace}/mdt/auth/sign-in`, {
        ...formFields(signIn.body).fields,
        subject: 'demo-mdt',
      });
      expect(worklist.body).toContain(`/mdt/patients/${first}`);
      const review = await browser.follow(`${workspace}/mdt/patients/${first}`);
      expect(review.res.status).toBe(200);
      const deferred = await browser.post(`${workspace}/mdt/patients/${first}/decision`, {
        ...formFields(review.body, /\/decision$/).fields,
        decision: 'defer',
        note: 'Discussed at the meeting',
      });
      expect(deferred.url).toBe(`${workspace}/mdt/patients/${first}?decided=defer`);
    } finally {
      child.kill('SIGTERM');
    }
    expect((await done).code).toBe(0);

    // The whole session's output, at debug level, holds nothing that identifies a patient of the practice it served.
    const { resources } = synthesizePractice({ patients: PATIENTS, seed: 1, asOf: londonToday() });
    expect(leakedMarkers(stdout + stderr, patientMarkers(resources), [londonToday()])).toEqual([]);
  });
});
