import { createHash } from 'node:crypto';
import { runCli } from '../helpers/cli';

describe('hfu api-key', () => {
  it('prints a new key once and the configuration entry holding only its hash', async () => {
    const { code, stdout } = await runCli(['api-key', '--name', 'scr-platform', '--role', 'operate']);
    expect(code).toBe(0);
    const key = /^key: (hfu_[A-Za-z0-9_-]{43})$/m.exec(stdout)?.[1] as string;
    const hash = createHash('sha256').update(key).digest('hex');
    expect(stdout).toContain(`- { name: scr-platform, role: operate, sha256: ${hash} }`);
    expect(stdout.split(key)).toHaveLength(2); // the key appears once; the entry carries the hash alone
    const again = await runCli(['api-key']);
    expect(again.stdout).not.toContain(key);
    expect(again.stdout).toMatch(/role: read/);
  });

  it('refuses a role that does not exist', async () => {
    const { code, stderr } = await runCli(['api-key', '--role', 'admin']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--role must be read or operate/);
  });
});
