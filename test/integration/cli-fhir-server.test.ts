import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

const BIN = path.join(__dirname, '../../bin/hfu.js');

describe('hfu fhir-server', () => {
  it('serves a seeded practice over HTTP and stops cleanly on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'fhir-server', '--port', '0', '--seed-practice', '60', '--as-of', '2026-11-23'],
      {
        env: { ...process.env, HFU_LOG__FORMAT: 'json' },
      }
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const baseUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed: ${stdout}`)), 30_000);
      child.stdout.on('data', () => {
        const match = /listening at (\S+)/.exec(stdout);
        if (match) {
          clearTimeout(timer);
          resolve(match[1] as string);
        }
      });
    });
    const count = (await (await fetch(`${baseUrl}/Patient?_summary=count`)).json()) as { total: number };
    expect(count.total).toBe(60);
    expect(stdout).toContain('holding 60 synthetic patients');
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });
});
