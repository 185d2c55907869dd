import { startCliInProcess } from './helpers/cli';
import { waitFor } from './helpers/wait';

describe('hfu fhir-server', () => {
  it('serves a seeded practice over HTTP and stops cleanly when asked to stop', async () => {
    const { io, done } = startCliInProcess([
      'fhir-server',
      '--port',
      '0',
      '--seed-practice',
      '60',
      '--as-of',
      '2026-11-23',
    ]);
    const baseUrl = await waitFor(() => /listening at (\S+)/.exec(io.out())?.[1], 'the URL');
    const count = (await (await fetch(`${baseUrl}/Patient?_summary=count`)).json()) as { total: number };
    expect(count.total).toBe(60);
    expect(io.out()).toContain('holding 60 synthetic patients');
    io.stop(); // what SIGTERM resolves in the process (the serve tests send the real signal)
    expect((await done).code).toBe(0);
    await expect(fetch(`${baseUrl}/metadata`)).rejects.toThrow(); // no longer listening
  });
});
