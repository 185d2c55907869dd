import { runCli, startCliInProcess } from './helpers/cli';
import { waitFor } from './helpers/wait';

describe('hfu fhir-server --behave', () => {
  it('starts the server behaving as asked: read-only refuses a create with 405', async () => {
    const { io, done } = startCliInProcess([
      'fhir-server',
      '--port',
      '0',
      '--seed-practice',
      '5',
      '--behave',
      'read-only',
    ]);
    const baseUrl = await waitFor(
      () => (io.out().includes('behaving like') ? /listening at (\S+)/.exec(io.out())?.[1] : undefined),
      'the URL'
    );
    expect(io.out()).toContain(`behaving like a 'read-only' server`);
    const count = (await (await fetch(`${baseUrl}/Patient?_summary=count`)).json()) as { total: number };
    expect(count.total).toBe(5);
    const create = await fetch(`${baseUrl}/Patient`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient' }),
    });
    expect(create.status).toBe(405);
    await create.arrayBuffer();
    io.stop(); // what SIGTERM resolves in the process (the serve tests send the real signal)
    expect((await done).code).toBe(0);
  });

  it('refuses a profile it does not know, naming the ones it does (exit code 2)', async () => {
    const { code, stderr, stdout } = await runCli(['fhir-server', '--port', '0', '--behave', 'azure']);
    expect(code).toBe(2);
    expect(stderr + stdout).toMatch(/--behave takes one of default, hapi, read-only, minimal, not 'azure'/);
  });
});
