import { once } from 'node:events';
import { runCli, startCli } from './helpers/cli';

describe('hfu fhir-server --behave', () => {
  it('starts the server behaving as asked: read-only refuses a create with 405', async () => {
    const { child, done } = startCli(['fhir-server', '--port', '0', '--seed-practice', '5', '--behave', 'read-only']);
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const baseUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed: ${stdout}`)), 30_000);
      child.stdout?.on('data', () => {
        const match = /listening at (\S+)/.exec(stdout);
        if (match && stdout.includes('behaving like')) {
          clearTimeout(timer);
          resolve(match[1] as string);
        }
      });
    });
    expect(stdout).toContain(`behaving like a 'read-only' server`);
    const count = (await (await fetch(`${baseUrl}/Patient?_summary=count`)).json()) as { total: number };
    expect(count.total).toBe(5);
    const create = await fetch(`${baseUrl}/Patient`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient' }),
    });
    expect(create.status).toBe(405);
    child.kill('SIGTERM');
    await once(child, 'exit');
    expect((await done).code).toBe(0);
  });

  it('refuses a profile it does not know, naming the ones it does (exit code 2)', async () => {
    const { code, stderr, stdout } = await runCli(['fhir-server', '--port', '0', '--behave', 'azure']);
    expect(code).toBe(2);
    expect(stderr + stdout).toMatch(/--behave takes one of default, hapi, read-only, minimal, not 'azure'/);
  });
});
