import type { ChildProcess } from 'node:child_process';
import type { Resource } from '@medplum/fhirtypes';
import { ConfigError, configSchema } from '../../src/config';
import { FhirClient } from '../../src/fhir';
import type { WriteStrategy } from '../../src/writeback';
import { resolveStrategy } from '../../src/writeback';
import { spawnCli } from './helpers/cli';
import type { RunJson } from './helpers/programme';
import { AS_OF, mdtDecides, ProgrammePractice, recordContent } from './helpers/programme';
import type { FaultyProxy } from './helpers/proxy';
import { startFaultyProxy } from './helpers/proxy';
import { startSeededServer } from './helpers/server';

const clientFor = (baseUrl: string) => FhirClient.fromConfig({ ...configSchema.parse({}).fhir, baseUrl });

/**
 * The twin every other writer is compared with: the practice on the default server, written by the default
 * (transaction) strategy with no proxy between, through the same two stages (proposed; the MDT's decisions enrolled).
 * Its reports and its record at each stage are kept, and nothing writes to it after.
 */
const twin = {} as {
  proposing: RunJson;
  proposed: Map<string, unknown>;
  enrolling: RunJson;
  enrolled: Map<string, unknown>;
};
beforeAll(async () => {
  const practice = await ProgrammePractice.start();
  try {
    const first = await practice.run(AS_OF);
    expect(first.code).toBe(0);
    twin.proposing = first.json;
    twin.proposed = await recordContent(practice);
    await mdtDecides(practice);
    const second = await practice.run(AS_OF);
    expect(second.code).toBe(0);
    twin.enrolling = second.json;
    twin.enrolled = await recordContent(practice);
  } finally {
    await practice.stop();
  }
});

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

  it('refuses a read-only server, naming the setting', async () => {
    const server = await startSeededServer(1, 1, { behave: 'read-only' });
    try {
      const chosen = resolveStrategy(clientFor(server.baseUrl), 'auto');
      await expect(chosen).rejects.toThrow(ConfigError);
      await expect(chosen).rejects.toThrow(/writeback\.strategy.*create or update of Task/s);
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
  let practice: ProgrammePractice;
  const proxies: FaultyProxy[] = [];
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.stop()));
    await practice?.stop();
  });

  it('proposes, and enrols once the MDT accepts, writing what a transaction writes', async () => {
    practice = await ProgrammePractice.start();
    const proxy = await startFaultyProxy(practice.server.baseUrl, () => undefined);
    proxies.push(proxy);
    const run = () => practice.run(AS_OF, { baseUrl: proxy.baseUrl, env: strategyEnv(strategy) });
    const first = await run();
    expect(first.code).toBe(0);
    expect(first.json.proposed).toEqual(twin.proposing.proposed);
    expect(first.json.writes).toEqual(twin.proposing.writes);
    expect(await recordContent(practice)).toEqual(twin.proposed);

    await mdtDecides(practice);
    const second = await run();
    expect(second.code).toBe(0);
    expect(second.json.actions).toEqual(twin.enrolling.actions);
    expect(second.json.actions.enrol).toBeGreaterThan(0);
    // individual: a request per resource, never a Bundle; batch: Bundles, and each Provenance on its own, last.
    const writes = proxy.seen.filter((s) => isWrite({ method: s.split(' ')[0] as string, url: s }));
    const bundles = writes.filter((s) => /^POST \/fhir\/R4\/?$/.test(s));
    expect(bundles.length > 0).toBe(strategy === 'batch');
    const others = writes.filter((s) => !bundles.includes(s));
    expect(others.every((s) => s.startsWith('PUT /fhir/R4/Provenance/'))).toBe(strategy === 'batch');
    expect(second.json.writes).toEqual(twin.enrolling.writes);
    expect(second.json.writeFailures).toEqual([]);
    // Provenance included: the same changes give the same Provenance, naming the same targets.
    expect(await recordContent(practice)).toEqual(twin.enrolled);

    const again = await run();
    expect(again.json.writes).toEqual(expect.objectContaining({ created: 0, updated: 0, provenance: 0 }));
  });
});

describe('a writer killed part-way through a patient', () => {
  /** The practice as it stands before the enrolling run (proposed by the strategy, the MDT decided), per strategy. */
  const decided = new Map<WriteStrategy, Promise<Resource[]>>();
  const decidedUnder = (strategy: WriteStrategy): Promise<Resource[]> => {
    const snapshot =
      decided.get(strategy) ??
      (async () => {
        const practice = await ProgrammePractice.start();
        try {
          expect((await practice.run(AS_OF, { env: strategyEnv(strategy) })).code).toBe(0);
          await mdtDecides(practice);
          return await practice.snapshot();
        } finally {
          await practice.stop();
        }
      })();
    decided.set(strategy, snapshot);
    return snapshot;
  };

  // The k-th write of the enrolling run never reaches the server. Without a transaction the first enrolment is five
  // writes (flag, care plan without its conversation, conversation Task, care plan completed, Provenance; under
  // batch, one Bundle each but the last): k = 1 to 5 stops it after each, k = 6 between two patients.
  it.each([
    ...[1, 2, 3, 4, 5, 6].map((k) => ['individual', k] as const),
    ...[1, 2, 3, 4, 5].map((k) => ['batch', k] as const),
    ['transaction', 2] as const,
  ])('%s, killed at write %i, re-runs to the uninterrupted record', async (strategy, k) => {
    const killed = await ProgrammePractice.start({}, { resources: structuredClone(await decidedUnder(strategy)) });
    try {
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
        const { child, done } = spawnCli(
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
      expect(withoutProvenance(content)).toEqual(withoutProvenance(twin.enrolled));
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

describe('on a server without transactions (minimal), with writeback.strategy auto', () => {
  let practice: ProgrammePractice;
  afterAll(() => practice?.stop());

  // The minimal server takes one reference per search: one search per patient.
  const env = { HFU_WRITEBACK__STRATEGY: 'auto', HFU_EXTRACT__SUBJECT_SEARCH: 'per-patient' };

  it('writes one request at a time, and the lifecycle comes out as on a server with transactions', async () => {
    practice = await ProgrammePractice.start({}, { behave: 'minimal' });
    const proxy = await startFaultyProxy(practice.server.baseUrl, () => undefined);
    try {
      const first = await practice.run(AS_OF, { baseUrl: proxy.baseUrl, env });
      expect(first.code).toBe(0);
      expect(first.json.writes).toEqual(twin.proposing.writes);
      await mdtDecides(practice);
      const second = await practice.run(AS_OF, { baseUrl: proxy.baseUrl, env });
      expect(second.code).toBe(0);
      expect(second.json.actions).toEqual(twin.enrolling.actions);
      expect(second.json.writes).toEqual(twin.enrolling.writes);
      expect(proxy.seen.filter((s) => /^POST \/fhir\/R4\/?$/.test(s))).toEqual([]); // no batch, no transaction
      expect(proxy.seen.filter((s) => s.startsWith('GET /fhir/R4/metadata'))).toHaveLength(2); // once a run
    } finally {
      await proxy.stop();
    }
    expect(await recordContent(practice)).toEqual(twin.enrolled);
  });
});

describe('on a server like HAPI, with writeback.strategy auto', () => {
  let practice: ProgrammePractice;
  afterAll(() => practice?.stop());

  it('writes in transactions, and the lifecycle comes out as on the default server', async () => {
    practice = await ProgrammePractice.start({}, { behave: 'hapi' });
    const env = { HFU_WRITEBACK__STRATEGY: 'auto' };
    expect((await practice.run(AS_OF, { env })).code).toBe(0);
    await mdtDecides(practice);
    const second = await practice.run(AS_OF, { env });
    expect(second.code).toBe(0);
    expect(second.json.actions).toEqual(twin.enrolling.actions);
    expect(second.json.writes).toEqual(twin.enrolling.writes);
    expect(await recordContent(practice)).toEqual(twin.enrolled);
  });
});
