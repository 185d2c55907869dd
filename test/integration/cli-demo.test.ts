import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

const BIN = path.join(__dirname, '../../bin/hfu.js');

describe('hfu demo --keep', () => {
  it('seeds the embedded server, runs the programme, writes back and prints a summary', async () => {
    const child = spawn(process.execPath, [BIN, 'demo', '--keep'], {
      env: { ...process.env, HFU_EMBEDDED__PORT: '0', HFU_EMBEDDED__SEED_PRACTICE: '1500', HFU_LOG__LEVEL: 'error' },
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no summary: ${stdout}`)), 90_000);
      child.stdout.on('data', () => {
        if (stdout.includes('(Ctrl-C to stop)')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    expect(stdout).toContain('Evaluated 1500 patients');
    expect(stdout).toMatch(/first priority:\s+\d+/);
    expect(stdout).toMatch(/Written: \d+ created/);
    const taskUrl = /The MDT review Tasks: (\S+)/.exec(stdout)?.[1] as string;
    const tasks = (await (await fetch(taskUrl.replace('code=mdt-review', '_summary=count'))).json()) as {
      total: number;
    };
    expect(tasks.total).toBeGreaterThan(0);
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });
});
