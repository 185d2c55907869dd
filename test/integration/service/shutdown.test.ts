import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Flag } from '@medplum/fhirtypes';
import { spawnCli } from '../helpers/cli';
import type { ProgrammePractice } from '../helpers/programme';
import { AS_OF, proposedAndDecided, recordContent } from '../helpers/programme';
import { startFaultyProxy } from '../helpers/proxy';
import { testKeys } from '../helpers/service';
import { waitFor } from '../helpers/wait';

/** `hfu serve` on a free port over `baseUrl`, with the practice's configuration and the test's API keys. */
function serveConfig(practice: ProgrammePractice, keys: ReturnType<typeof testKeys>): string {
  const config = JSON.parse(readFileSync(practice.configFile, 'utf8')) as Record<string, unknown>;
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'hfu-serve-')), 'config.json');
  writeFileSync(file, JSON.stringify({ ...config, service: { port: 0, auth: { apiKeys: keys.entries } } }));
  return file;
}

describe('hfu serve, sent SIGTERM in the middle of a run', () => {
  let clean: ProgrammePractice;
  let stopped: ProgrammePractice;
  afterAll(async () => {
    await clean?.stop();
    await stopped?.stop();
  });

  it('stops taking requests, finishes the transaction in flight, exits 0; a re-run then loses and duplicates nothing', async () => {
    [clean, stopped] = await Promise.all([proposedAndDecided(), proposedAndDecided()]);
    expect((await clean.run(AS_OF)).code).toBe(0);

    // The service's second write transaction is held at the proxy: SIGTERM arrives while it is in flight.
    const transactionPath = new URL(stopped.server.baseUrl).pathname.replace(/\/$/, '');
    let transactions = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let inFlight!: () => void;
    const secondInFlight = new Promise<void>((resolve) => (inFlight = resolve));
    const proxy = await startFaultyProxy(
      stopped.server.baseUrl,
      () => undefined,
      ({ method, url }) => {
        if (method === 'POST' && url.replace(/\/$/, '') === transactionPath && ++transactions === 2) {
          inFlight();
          return released;
        }
        return undefined;
      }
    );
    const keys = testKeys();
    try {
      const { child, done } = spawnCli(['serve', '--config', serveConfig(stopped, keys)], {
        HFU_FHIR__BASE_URL: proxy.baseUrl,
      });
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const url = await waitFor(() => /hfu-connector API: (http:\/\/\S+)/.exec(stdout)?.[1], 'the API URL');

      const started = await fetch(`${url}/runs`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${keys.operate}`, 'Content-Type': 'application/json' },
        body: '{}',
      });
      expect(started.status).toBe(202);
      const { id: runId } = (await started.json()) as { id: string };
      await secondInFlight;

      child.kill('SIGTERM');
      await waitFor(() => /"message":"service stopping"/.exec(stderr) ?? undefined, 'the shutdown to begin');
      await expect(fetch(`${url}/health`)).rejects.toThrow(); // no longer listening
      expect(child.exitCode).toBeNull(); // still finishing the transaction in flight
      release();

      const result = await done;
      expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: undefined });
      const logs = stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(logs).toContainEqual(expect.objectContaining({ message: 'run ended', status: 'stopped', runId }));
      expect(logs.at(-1)).toMatchObject({ message: 'service stopped' });
    } finally {
      release();
      await proxy.stop();
    }
    // The transaction in flight completed (hfu-b's enrolment is whole); nothing after it was started.
    expect(transactions).toBe(2);
    expect(await stopped.managed<Flag>('Flag', 'hfu-b', 'flag')).toBeDefined();
    expect(await stopped.managed<Flag>('Flag', 'hfu-e', 'flag')).toBeUndefined();

    const rerun = await stopped.run(AS_OF);
    expect(rerun.code).toBe(0);
    expect(await recordContent(stopped)).toEqual(await recordContent(clean));
  });
});
