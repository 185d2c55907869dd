import { startCliInProcess } from './helpers/cli';
import { waitFor } from './helpers/wait';

describe('hfu demo --keep', () => {
  it('seeds the embedded server, runs the programme, writes back and prints a summary', async () => {
    const { io, done } = startCliInProcess(['demo', '--keep'], {
      HFU_EMBEDDED__PORT: '0',
      HFU_EMBEDDED__SEED_PRACTICE: '600',
      HFU_LOG__LEVEL: 'error',
    });
    const stdout = await waitFor(() => (io.out().includes('(Ctrl-C to stop)') ? io.out() : undefined), 'the summary');
    expect(stdout).toContain('Evaluated 600 patients');
    expect(stdout).toMatch(/first priority:\s+\d+/);
    expect(stdout).toMatch(/Written: \d+ created/);
    const taskUrl = /The MDT review Tasks: (\S+)/.exec(stdout)?.[1] as string;
    const tasks = (await (await fetch(taskUrl.replace('code=mdt-review', '_summary=count'))).json()) as {
      total: number;
    };
    expect(tasks.total).toBeGreaterThan(0);
    io.stop(); // what SIGTERM resolves in the process (the serve tests send the real signal)
    expect((await done).code).toBe(0);
  });
});
