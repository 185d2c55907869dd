import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../../src/cli/main';
import { captureIo } from '../../helpers/io';

describe('hfu validate-config', () => {
  it('exits 0 and summarises a valid configuration', async () => {
    const io = captureIo({ HFU_FHIR__BASE_URL: 'https://fhir.test/R4' });
    expect(await main(['validate-config'], io)).toBe(0);
    expect(io.out()).toContain('https://fhir.test/R4');
  });

  it('names the separate endpoint the programme record is written to', async () => {
    const io = captureIo({
      HFU_FHIR__BASE_URL: 'https://shared-record.test/R4',
      HFU_WRITEBACK__FHIR__BASE_URL: 'https://care-plans.test/fhir',
      HFU_WRITEBACK__FHIR__AUTH__TYPE: 'bearer',
      HFU_WRITEBACK__FHIR__AUTH__TOKEN: 'a-token',
    });
    expect(await main(['validate-config'], io)).toBe(0);
    expect(io.out()).toContain('programme record written to: https://care-plans.test/fhir (auth: bearer;');
    expect(io.out()).not.toContain('a-token');
  });

  it('exits 2 naming a bad key of the separate endpoint', async () => {
    const io = captureIo({ HFU_WRITEBACK__FHIR__AUTH__TYPE: 'bearer' });
    expect(await main(['validate-config'], io)).toBe(2);
    expect(io.err()).toContain('writeback.fhir.baseUrl');
    expect(io.err()).toContain('writeback.fhir.auth.token');
  });

  it('exits 2 naming every bad key', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'hfu-cli-')), 'c.yaml');
    writeFileSync(file, 'fhir:\n  concurrency: lots\n  unknownThing: 1\n');
    const io = captureIo();
    expect(await main(['--config', file, 'validate-config'], io)).toBe(2);
    expect(io.err()).toContain('fhir.concurrency');
    expect(io.err()).toContain('fhir.unknownThing: unknown key');
  });
});

describe('usage errors', () => {
  it('exits 2 for an unknown command or a malformed flag', async () => {
    expect(await main(['no-such-command'], captureIo())).toBe(2);
    const io = captureIo();
    expect(await main(['synth', '--patients', 'ten'], io)).toBe(2);
    expect(io.err()).toContain('--patients takes a whole number');
  });

  it('exits 2 for a tune parameter the programme lacks, before reading anything', async () => {
    const io = captureIo({ HFU_FHIR__BASE_URL: 'http://127.0.0.1:1/fhir/R4' });
    expect(await main(['tune', '--rows', 'firstAdmissionz=1-3'], io)).toBe(2);
    expect(io.err()).toMatch(/^hfu: --rows: firstAdmissionz is not a parameter of nhse-hfu-2022 \(.*firstAdmissions/);
  });
});

describe('a FHIR endpoint that cannot be reached', () => {
  it('exits 1, the line naming the endpoint and the request', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const io = captureIo({ HFU_FHIR__MAX_ATTEMPTS: '1', HFU_LOG__LEVEL: 'error' });
    const argv = ['run', '--dry-run', '--fhir-base-url', `http://127.0.0.1:${port}/fhir/R4`];
    expect(await main(argv, io)).toBe(1);
    expect(io.err()).toMatch(/^hfu: FHIR endpoint: GET \w+/m);
  });
});

describe('hfu synth', () => {
  it('writes one valid JSON resource per line, the same for the same seed', async () => {
    const first = captureIo();
    const second = captureIo();
    expect(await main(['synth', '--patients', '3', '--seed', '9', '--as-of', '2026-11-23'], first)).toBe(0);
    await main(['synth', '--patients', '3', '--seed', '9', '--as-of', '2026-11-23'], second);
    const lines = first.out().trim().split('\n');
    const types = new Set(lines.map((line) => (JSON.parse(line) as { resourceType: string }).resourceType));
    expect(types.has('Patient')).toBe(true);
    expect(types.has('Organization')).toBe(true);
    expect(first.out()).toBe(second.out());
  });

  it('writes the multi-year practice with its GPs, and refuses its options without --years or out of range', async () => {
    const io = captureIo();
    expect(await main(['synth', '--patients', '2', '--years', '3', '--as-of', '2026-11-23'], io)).toBe(0);
    const types = io
      .out()
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { resourceType: string }).resourceType);
    expect(types.filter((t) => t === 'Practitioner')).toHaveLength(12);
    const refused = async (args: string[], message: string) => {
      const err = captureIo();
      expect(await main(['synth', '--patients', '2', ...args], err)).toBe(2);
      expect(err.err()).toContain(message);
    };
    await refused(['--programme-effect', '-0.2'], 'need --years');
    await refused(['--years', '3', '--programme-effect', '0.5'], '--programme-effect takes a fraction from -1 to 0');
    await refused(['--years', '3', '--follow-up-from', '2026-11-23'], '--follow-up-from and --until go together');
    const followUp = ['--follow-up-from', '2026-10-01', '--until', '2027-01-01'];
    await refused(['--years', '3', '--as-of', '2026-11-23', ...followUp], 'at or after --as-of');
  });
});

describe('hfu validate-config with a broken mapping', () => {
  it('exits 2 naming the file, the feature and the parser message', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hfu-map-'));
    const file = path.join(dir, 'mapping.yaml');
    writeFileSync(
      file,
      [
        'name: broken',
        'description: a mapping with a typo',
        'search: { Encounter: { subject: subject } }',
        'features:',
        '  unplannedAdmissions:',
        '    description: x',
        '    resource: Encounter',
        "    where: class.code = 'IMP' and",
        '    aggregate: count',
      ].join('\n')
    );
    const io = captureIo();
    expect(await main(['validate-config', '--mapping', file], io)).toBe(2);
    expect(io.err()).toContain(file);
    expect(io.err()).toMatch(/features\.unplannedAdmissions\.where: .*line: 1/);
  });

  it('validates the built-in mappings and programme', async () => {
    for (const mapping of ['uk-core', 'synthea', 'gp-record']) {
      const io = captureIo();
      expect(await main(['validate-config', '--mapping', mapping], io)).toBe(0);
      expect(io.out()).toContain(`mapping: ${mapping}`);
    }
  });
});
