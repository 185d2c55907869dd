import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, envNameToPath, loadConfig, pathToEnvName } from '../../../src/config';

const dir = mkdtempSync(path.join(tmpdir(), 'hfu-config-'));
const file = (name: string, text: string): string => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) {
      return [...err.problems];
    }
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loading', () => {
  it('gives defaults with no file', () => {
    const config = loadConfig({ env: {} });
    expect(config.fhir.baseUrl).toBeUndefined();
    expect(config.fhir).toMatchObject({ auth: { type: 'none' }, timeoutMs: 30_000, concurrency: 4, chunkSize: 100 });
    expect(config.embedded.port).toBe(8103);
  });

  it('reads YAML and JSON files', () => {
    const yaml = file('a.yaml', 'fhir:\n  baseUrl: https://fhir.test/R4\n  auth: { type: bearer, token: abc }\n');
    const json = file('a.json', JSON.stringify({ fhir: { baseUrl: 'https://fhir.test/R4', chunkSize: 50 } }));
    expect(loadConfig({ file: yaml }).fhir.auth).toEqual({ type: 'bearer', token: 'abc' });
    expect(loadConfig({ file: json }).fhir.chunkSize).toBe(50);
  });

  it('lets HFU_* variables override the file, coercing numbers', () => {
    const yaml = file('b.yaml', 'fhir:\n  baseUrl: https://fhir.test/R4\n  timeoutMs: 1000\n');
    const config = loadConfig({
      file: yaml,
      env: { HFU_FHIR__TIMEOUT_MS: '5000', HFU_FHIR__AUTH: '{"type":"bearer","token":"t"}', HFU_CONFIG: yaml },
    });
    expect(config.fhir.timeoutMs).toBe(5000);
    expect(config.fhir.auth).toEqual({ type: 'bearer', token: 't' });
  });

  it('maps key paths to variable names and back', () => {
    expect(pathToEnvName('fhir.auth.clientSecret')).toBe('HFU_FHIR__AUTH__CLIENT_SECRET');
    expect(envNameToPath('HFU_FHIR__AUTH__CLIENT_SECRET')).toEqual(['fhir', 'auth', 'clientSecret']);
  });
});

describe('errors', () => {
  it('reports every bad key at once, each by name', () => {
    const bad = file('bad.yaml', 'fhir:\n  baseUrl: ftp://x\n  timeoutMs: soon\n  colour: blue\nlog:\n  level: loud\n');
    const found = problems(() => loadConfig({ file: bad, env: { HFU_FHIR__CONCURRENCY: 'many' } }));
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^fhir\.baseUrl: must be an http\(s\) URL/),
        expect.stringMatching(/^fhir\.timeoutMs: .*number/),
        expect.stringMatching(/^fhir\.colour: unknown key/),
        expect.stringMatching(/^log\.level: /),
        expect.stringMatching(/^fhir\.concurrency \(from HFU_FHIR__CONCURRENCY\): /),
      ])
    );
  });

  it('checks a separate write target (writeback.fhir) as it checks the source, naming its keys', () => {
    const bad = file(
      'target.yaml',
      'writeback:\n  fhir:\n    timeoutMs: soon\n    colour: blue\n    auth: { type: bearer }\n'
    );
    const found = problems(() => loadConfig({ file: bad, env: { HFU_WRITEBACK__FHIR__CONCURRENCY: 'many' } }));
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^writeback\.fhir\.baseUrl: /),
        expect.stringMatching(/^writeback\.fhir\.timeoutMs: .*number/),
        expect.stringMatching(/^writeback\.fhir\.colour: unknown key/),
        expect.stringMatching(/^writeback\.fhir\.auth\.token: /),
        expect.stringMatching(/^writeback\.fhir\.concurrency \(from HFU_WRITEBACK__FHIR__CONCURRENCY\): /),
      ])
    );
    expect(problems(() => loadConfig({ env: { HFU_WRITEBACK__FHIR__BASE_URL: 'ftp://x' } }))).toEqual([
      expect.stringMatching(
        /^writeback\.fhir\.baseUrl \(from HFU_WRITEBACK__FHIR__BASE_URL\): must be an http\(s\) URL/
      ),
    ]);
  });

  it('takes a separate write target with the source defaults, and none unless configured', () => {
    expect(loadConfig({ env: {} }).writeback.fhir).toBeUndefined();
    const config = loadConfig({ env: { HFU_WRITEBACK__FHIR__BASE_URL: 'https://care-plans.test/fhir' } });
    expect(config.writeback.fhir).toEqual({ ...config.fhir, baseUrl: 'https://care-plans.test/fhir' });
  });

  it('names the missing credential of the chosen auth type', () => {
    const found = problems(() => loadConfig({ env: { HFU_FHIR__AUTH__TYPE: 'client-credentials' } }));
    expect(found.join('\n')).toMatch(/fhir\.auth\.clientId/);
    expect(found.join('\n')).toMatch(/fhir\.auth\.clientSecret/);
  });

  it('says when the file cannot be read or parsed', () => {
    expect(problems(() => loadConfig({ file: path.join(dir, 'missing.yaml') }))[0]).toMatch(
      /cannot read the file: ENOENT/
    );
    expect(problems(() => loadConfig({ file: file('x.yaml', 'fhir: [unclosed') }))[0]).toMatch(/not valid YAML/);
    expect(problems(() => loadConfig({ file: file('y.yaml', '- a\n- b\n') }))[0]).toMatch(/mapping of keys/);
  });
});

describe('SMART Backend Services scopes', () => {
  it('ask to read every type a mapping may read, Appointment and MedicationStatement among them', () => {
    const config = loadConfig({
      env: {
        HFU_FHIR__AUTH__TYPE: 'smart-backend',
        HFU_FHIR__AUTH__CLIENT_ID: 'hfu',
        HFU_FHIR__AUTH__PRIVATE_KEY: 'key',
        HFU_FHIR__AUTH__KID: 'k1',
      },
    });
    const scopes = (config.fhir.auth as { scope: string }).scope.split(' ');
    expect(scopes).toEqual(
      expect.arrayContaining(['system/Appointment.rs', 'system/MedicationStatement.rs', 'system/Encounter.rs'])
    );
    expect(scopes).toContain('system/Task.crus');
  });
});
