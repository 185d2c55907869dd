import type { Server } from 'node:net';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { main } from '../../src/cli/main';
import { startFhirServer } from '../../src/server';
import { synthesizePractice } from '../../src/synth';
import { captureIo } from '../helpers/io';
import { spawnCli } from './helpers/cli';

/** A port on 127.0.0.1 held by something else for the test's duration. */
async function holdPort(): Promise<{ port: number; release: () => Promise<void> }> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    release: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('a port already in use', () => {
  let held: { port: number; release: () => Promise<void> };
  beforeAll(async () => (held = await holdPort()));
  afterAll(() => held.release());

  const inUse = (what: string, change: string) =>
    `hfu: ${what} cannot listen on 127.0.0.1:${held.port}: the port is already in use (another hfu, or another ` +
    `program). Stop what holds it, or choose another port with ${change} (0: any free port)\n`;
  const embedded = '--port, or embedded.port (HFU_EMBEDDED__PORT)';

  it('fhir-server says so and names --port and embedded.port', async () => {
    const io = captureIo();
    expect(await main(['fhir-server', '--port', String(held.port), '--seed-practice', '0'], io)).toBe(2);
    expect(io.err()).toBe(inUse('the embedded FHIR server', embedded));
  });

  it('demo says so, whether the port came from --port or the configuration', async () => {
    const flag = captureIo();
    expect(await main(['demo', '--port', String(held.port)], flag)).toBe(2);
    expect(flag.err()).toBe(inUse('the embedded FHIR server', embedded));
    const env = captureIo({ HFU_EMBEDDED__PORT: String(held.port) });
    expect(await main(['demo'], env)).toBe(2);
    expect(env.err()).toBe(inUse('the embedded FHIR server', embedded));
  });

  it('serve (npm start) says which of its two ports is taken and what changes each', async () => {
    const fhir = captureIo({ HFU_EMBEDDED__PORT: String(held.port), HFU_SERVICE__PORT: '0' });
    expect(await main(['serve'], fhir)).toBe(2);
    expect(fhir.err()).toBe(inUse('the embedded FHIR server', 'embedded.port (HFU_EMBEDDED__PORT)'));
    const api = captureIo({ HFU_EMBEDDED__PORT: '0', HFU_EMBEDDED__SEED_PRACTICE: '0', HFU_LOG__LEVEL: 'error' });
    expect(await main(['serve', '--port', String(held.port)], api)).toBe(2);
    expect(api.err()).toBe(inUse('the API', '--port, or service.port (HFU_SERVICE__PORT)'));
  });

  it('npm start, as a process, exits 2 with that line instead of a TypeError', async () => {
    const result = await spawnCli(['serve'], { HFU_EMBEDDED__PORT: String(held.port), HFU_LOG__LEVEL: 'error' }).done;
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(inUse('the embedded FHIR server', 'embedded.port (HFU_EMBEDDED__PORT)'));
  });
});

describe('hfu demo', () => {
  // A process: what is on trial is that nothing (a server, a socket, a timer) keeps it alive after the summary.
  it('prints its summary and exits 0 by itself, the embedded server stopped, top candidates by priority', async () => {
    const started = Date.now();
    const result = await spawnCli(['demo'], {
      HFU_EMBEDDED__PORT: '0',
      HFU_EMBEDDED__SEED_PRACTICE: '600',
      HFU_LOG__LEVEL: 'error',
    }).done;
    const seconds = (Date.now() - started) / 1000;
    expect(result.code).toBe(0);
    expect(seconds).toBeLessThan(90);
    expect(result.stdout).toContain('Evaluated 600 patients');
    expect(result.stdout).toMatch(/Written: \d+ created/);
    expect(result.stdout).toContain('The embedded server has stopped: `npx hfu demo --keep` keeps it up to explore.');
    expect(result.stdout).not.toContain('Ctrl-C');

    const baseUrl = /Embedded FHIR R4 server: (\S+)/.exec(result.stdout)?.[1] as string;
    await expect(fetch(`${baseUrl}/metadata`)).rejects.toThrow();

    // The lines shown are in the programme's order: tier first, then its rankBy features (admissions, then repeat
    // medicines, for the default programme), most first.
    const programme = parseYaml(readFileSync(path.join(__dirname, '../../programmes/nhse-hfu-2022.yaml'), 'utf8')) as {
      rankBy: string[];
      tiers: { title: string }[];
    };
    expect(programme.rankBy.slice(0, 2)).toEqual(['unplannedAdmissions', 'repeatMedications']);
    expect(result.stdout).toContain("candidates, in the programme's priority order (");
    const tiers = programme.tiers.map((t) => t.title);
    const shown = [...result.stdout.matchAll(/^ {2}Patient\/\S+ {2}([^:]+): (.*)$/gm)].map((m) => ({
      tier: tiers.indexOf(m[1] as string),
      admissions: Number(/(\d+) unplanned admissions?\b/.exec(m[2] as string)?.[1]),
      items: Number(/(\d+) repeat medicines?\b/.exec(m[2] as string)?.[1]),
    }));
    expect(shown.every((s) => s.tier >= 0 && s.admissions >= 0 && s.items >= 0)).toBe(true);
    expect(shown.length).toBeGreaterThan(1);
    for (let i = 1; i < shown.length; i++) {
      const [a, b] = [shown[i - 1], shown[i]] as [(typeof shown)[number], (typeof shown)[number]];
      const ordered =
        a.tier < b.tier ||
        (a.tier === b.tier && (a.admissions > b.admissions || (a.admissions === b.admissions && a.items >= b.items)));
      expect({ i, a, b, ordered }).toEqual({ i, a, b, ordered: true });
    }
  });
});

describe('Ctrl-C or SIGTERM during a run', () => {
  it('stops `hfu run` at its first safe point: nothing written, reported as stopped, exit 1', async () => {
    const { resources } = synthesizePractice({ patients: 200, seed: 3, asOf: '2026-12-01' });
    const server = await startFhirServer({ port: 0, resources });
    try {
      const io = captureIo();
      io.stop();
      expect(await main(['run', '--fhir-base-url', server.baseUrl, '--now', '2026-12-01'], io)).toBe(1);
      expect(io.out()).toContain('(STOPPED on request before the end: run it again to finish)');
      const tasks = (await (await fetch(`${server.baseUrl}/Task?_summary=count`)).json()) as { total: number };
      expect(tasks.total).toBe(0);
    } finally {
      await server.stop();
    }
  });

  it('stops `hfu demo` too, which then exits 1 instead of waiting for the run to finish', async () => {
    const io = captureIo({ HFU_EMBEDDED__PORT: '0', HFU_EMBEDDED__SEED_PRACTICE: '200', HFU_LOG__LEVEL: 'error' });
    io.stop();
    expect(await main(['demo', '--keep'], io)).toBe(1);
    expect(io.out()).toContain('(STOPPED on request before the end: run it again to finish)');
    expect(io.out()).toContain('The embedded server has stopped');
  });
});
