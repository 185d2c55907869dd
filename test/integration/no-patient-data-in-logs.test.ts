import { londonToday } from '../../src/dates';
import { spawnCli } from './helpers/cli';
import { leakedMarkers, patientMarkers } from './helpers/leaks';
import type { SeededServer } from './helpers/server';
import { AS_OF, startSeededServer } from './helpers/server';

let server: SeededServer;
beforeAll(async () => {
  server = await startSeededServer(1500, 7);
});
afterAll(() => server.stop());

describe('logs at debug level on the synthetic population', () => {
  it('carry ids, counts and timings, never an NHS number, name, birth date or address from the data', async () => {
    const markers = patientMarkers(server.resources);
    expect(markers.nhsNumbers.length).toBe(1500);
    expect(markers.names.length).toBeGreaterThan(10);
    expect(markers.birthDates.length).toBeGreaterThan(1000);
    const patient = server.resources.find((r) => r.resourceType === 'Patient');
    expect(leakedMarkers(JSON.stringify(patient), markers, []).length).toBeGreaterThanOrEqual(5); // the check can fail

    // A subprocess, not main() in-process: the claim is about everything the process prints, including what a
    // dependency might write to stdout or stderr directly rather than through the CLI's streams.
    const { code, stdout, stderr } = await spawnCli(['run', '--json', '--now', AS_OF], {
      HFU_FHIR__BASE_URL: server.baseUrl,
      HFU_LOG__LEVEL: 'debug',
    }).done;
    expect(code).toBe(0);
    const lines = stderr.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.filter((l) => JSON.parse(l).level === 'debug').length).toBeGreaterThan(0);
    expect(JSON.parse(stdout).proposed.length).toBeGreaterThan(0);
    expect(leakedMarkers(stdout + stderr, markers, [AS_OF, londonToday()])).toEqual([]);
  });
});
