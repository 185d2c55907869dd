import type { ChildProcess } from 'node:child_process';
import type { Resource } from '@medplum/fhirtypes';
import { configSchema } from '../../src/config';
import { FhirClient } from '../../src/fhir';
import type { WriteStrategy } from '../../src/writeback';
import { resolveStrategy } from '../../src/writeback';
import { startCli } from './helpers/cli';
import { AS_OF, mdtDecides, ProgrammePractice, recordContent } from './helpers/programme';
import { startFaultyProxy } from './helpers/proxy';
import { startSeededServer } from './helpers/server';

const clientFor = (baseUrl: string) => FhirClient.fromConfig({ ...configSchema.parse({}).fhir, baseUrl });

describe('writeback.strategy auto', () => {
  it.each([
    ['default', 'transaction'],
    ['hapi', 'transaction'],
    ['minimal', 'individual'],
  ] as const)('picks from what a %s server declares: %s', async (behave, expected) => {
    const server = await startSeededServer(1, 1, { behave });
    try {
      expect(await resolveStrategy(clientFor(server.baseUrl), 'auto')).toBe(expected);
    } finally {
      await server.stop();
    }
  });
});

/** Requests that write: every PUT, and every POST but a search. */
const isWrite = ({ method, url }: { method: string; url: string }) =>
  method === 'PUT' || (method === 'POST' && !url.includes('/_search'));

const strategyEnv = (strategy: WriteStrategy) => ({ HFU_WRITEBACK__STRATEGY: strategy });

/** The record without Provenance: what the programme holds, whichever writer's Provenance is there. */
const withoutProvenance = (content: Map<string, unknown>) =>
  new Map([...content].filter(([key]) => !key.startsWith('Provenance')));

describe.each(['batch', 'individual'] as const)('the %s write strategy', (strategy) => {
  let twin: ProgrammePractice;
  let practice: ProgrammePractice;
  afterAll(async () => {
    await twin?.stop();
    await practice?.stop();
  });

  it('proposes, and enrols once the MDT accepts, writing what a transaction writes', async () => {
    [twin, practice] = await Promise.all([ProgrammePractice.start(), ProgrammePractice.start()]);
    const first = await Promise.all([twin.run(AS_OF), practice.run(AS_OF, { env: strategyEnv(strategy) })]);
    expect(first.map((r) => r.code)).toEqual([0, 0]);
    expect(first[1].json.proposed).toEqual(first[0].json.proposed);
    expect(first[1].json.writes).toEqual(first[0].json.writes);
    expect(await recordContent(practice)).toEqual(await recordContent(twin));

    await Promise.all([mdtDecides(twin), mdtDecides(practice)]);
    const second = await Promise.all([twin.run(AS_OF), practice.run(AS_OF, { env: strategyEnv(strategy) })]);
    expect(second.map((r) => r.code)).toEqual([0, 0]);
    expect(second[1].json.actions).toEqual(second[0].json.actions);
    expect(second[1].json.actions.enrol).toBeGreaterThan(0);
    expect(second[1].json.writes).toEqual(second[0].json.writes);
    expect(second[1].json.writeFailures).toEqual([]);
    // Provenance included: the same changes give the same Provenance, naming the same targets.
    expect(await recordContent(practice)).toEqual(await recordContent(twin));

    const again = await practice.run(AS_OF, { env: strategyEnv(strategy) });
    expect(again.json.writes).toEqual(expect.objectContaining({ created: 0, updated: 0, provenance: 0 }));
  });
});

describe('a writer killed part-way through a patient', () => {
  let twin: ProgrammePractice;
  afterAll(() => twin?.stop());

  beforeAll(async () => {
    twin = await ProgrammePractice.start();
    expect((await twin.run(AS_OF)).code).toBe(0);
    await mdtDecides(twin);
    expect((await twin.run(AS_OF)).code).toBe(0);
  });

  // The k-th write of the enrolling run never reaches the server: k = 2 and 3 fall inside the first enrolment
  // (flag, care plan without its conversation, conversation Task, care plan completed, Provenance).
  it.each([
    ['individual', 2],
    ['individual', 3],
    ['individual', 4],
    ['batch', 2],
    ['batch', 3],
    ['transaction', 2],
  ] as const)('%s, killed at write %i, re-runs to the uninterrupted record', async (strategy, k) => {
    const killed = await ProgrammePractice.start();
    try {
      expect((await killed.run(AS_OF, { env: strategyEnv(strategy) })).code).toBe(0);
      await mdtDecides(killed);
      let writer: ChildProcess | undefined;
      let writes = 0;
      const proxy = await startFaultyProxy(killed.server.baseUrl, (req) => {
        if (isWrite(req) && ++writes === k) {
          writer?.kill('SIGKILL');
          return 'drop';
        }
        return undefined;
      });
      try {
        const { child, done } = startCli(
          ...killed.runCommand(AS_OF, { baseUrl: proxy.baseUrl, env: strategyEnv(strategy) })
        );
        writer = child;
        expect((await done).signal).toBe('SIGKILL');
      } finally {
        await proxy.stop();
      }
      const rerun = await killed.run(AS_OF, { env: strategyEnv(strategy) });
      expect(rerun.code).toBe(0);
      expect(rerun.json.writeFailures).toEqual([]);
      const content = await recordContent(killed); // every resource exactly once
      expect(withoutProvenance(content)).toEqual(withoutProvenance(await recordContent(twin)));
      const again = await killed.run(AS_OF, { env: strategyEnv(strategy) });
      expect(again.json.writes).toEqual(expect.objectContaining({ created: 0, updated: 0, provenance: 0 }));
      expect(noDuplicateIdentifiers(await killed.written())).toBe(true);
    } finally {
      await killed.stop();
    }
  });
});

function noDuplicateIdentifiers(resources: readonly Resource[]): boolean {
  const keys = resources.flatMap((r) =>
    ((r as { identifier?: { system?: string; value?: string }[] }).identifier ?? []).map(
      (i) => `${r.resourceType}|${i.system}|${i.value}`
    )
  );
  return new Set(keys).size === keys.length;
}
