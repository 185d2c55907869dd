import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CarePlan, CareTeam, Flag, Group, PractitionerRole, Provenance, Resource, Task } from '@medplum/fhirtypes';
import type { Config } from '../../../src/config';
import { configSchema } from '../../../src/config';
import { londonToday } from '../../../src/dates';
import { FhirClient } from '../../../src/fhir';
import type { RunningFhirServer, ServerBehaviour } from '../../../src/server';
import { startFhirServer } from '../../../src/server';
import { BUSINESS_STATUS, IDENTIFIER, MANAGED_TAG, token } from '../../../src/vocabulary';
import { runCli } from './cli';
import type { PatientSpec } from './practice';
import { handMadePractice } from './practice';

/**
 * Today, in London: the connector stamps what it writes with the wall clock (authoredOn, created), and what the MDT
 * records comes after that, so the story starts today. Later stages move the evaluation date on with `--now`.
 */
export const AS_OF = londonToday();
const PROGRAMME = 'nhse-hfu-2022';

/**
 * The practice, patient by patient (admissions in the last 12 months, repeat items). Eight qualify:
 * a, d, e first priority (2 admissions); b, c, f, g, h second (1 admission); all with 10 or more repeats.
 */
export const SPECS: PatientSpec[] = [
  { id: 'hfu-a', admissionsDaysAgo: [20, 50], repeats: 12, longTermConditions: 2, mentalHealth: true },
  { id: 'hfu-b', admissionsDaysAgo: [30], repeats: 11 },
  { id: 'hfu-c', admissionsDaysAgo: [40], repeats: 10 },
  { id: 'hfu-d', admissionsDaysAgo: [25, 45], repeats: 10 },
  { id: 'hfu-e', admissionsDaysAgo: [15, 35], repeats: 13, mentalHealth: true, carer: true },
  { id: 'hfu-f', admissionsDaysAgo: [55], repeats: 10 },
  { id: 'hfu-g', admissionsDaysAgo: [60], repeats: 12 },
  { id: 'hfu-h', admissionsDaysAgo: [10], repeats: 10, mentalHealth: true, carer: true },
  { id: 'other-1', admissionsDaysAgo: [], repeats: 12 },
  { id: 'other-2', admissionsDaysAgo: [5, 15, 25], repeats: 4 },
  { id: 'other-3', admissionsDaysAgo: [], repeats: 0 },
];
export const CANDIDATES = SPECS.filter((s) => s.id.startsWith('hfu-')).length;

/** The workforce (one health and wellbeing coach with room for one patient) and the MDT that reviews the list. */
const TEAM: Resource[] = [
  ...(['gp-1', 'pharm-1', 'coach-1'] as const).map((id): PractitionerRole => ({
    resourceType: 'PractitionerRole',
    id,
    active: true,
    organization: { reference: 'Organization/practice-y99001' },
  })),
  { resourceType: 'CareTeam', id: 'pcn-mdt', name: 'PCN HFU multidisciplinary team', status: 'active' } as CareTeam,
];
const CONFIG = {
  writeback: { reviewOwner: 'CareTeam/pcn-mdt' },
  allocation: {
    workforce: [
      { reference: 'PractitionerRole/gp-1', role: 'gp', caseload: 5 },
      { reference: 'PractitionerRole/pharm-1', role: 'pharmacist', caseload: 5 },
      // The coach signs in to the workspace as the test issuer's `coach-user` (test/helpers/oidc-provider.mjs).
      {
        reference: 'PractitionerRole/coach-1',
        role: 'health-and-wellbeing-coach',
        caseload: 1,
        signInSubjects: ['coach-user'],
      },
    ],
  },
};

export interface Writes {
  created: number;
  updated: number;
  unchanged: number;
  provenance: number;
}

export interface RunJson {
  complete: boolean;
  proposed: string[];
  awaitingCapacity: { patient: string; risk: string }[];
  actions: Record<string, number>;
  skipped: { patient: string; reason: string }[];
  writes: Writes;
  writeFailures: unknown[];
  conflicts: unknown[];
  unprocessable: { task: string; reason: string }[];
}

export interface PracticeOptions {
  /** How the source (the practice's server) behaves. */
  behave?: ServerBehaviour;
  /** The programme's record on a second, plain embedded server (`writeback.fhir`), apart from the source. */
  separateTarget?: boolean;
  /**
   * What the source holds at the start, from another practice's `snapshot()` (a story's earlier stages, run once for
   * several tests), instead of the hand-made practice and its team.
   */
  resources?: readonly Resource[];
}

/**
 * The hand-made practice and its team on a real embedded FHIR server, the connector's configuration, and what a
 * test needs to look at the programme's record and to act in it as the MDT and clinicians do. With a separate
 * target, `client` is the target's (the record, where the MDT acts) and the source's data change in its own store.
 */
export class ProgrammePractice {
  private constructor(
    /** The source: the practice's patients and their clinical data. */
    readonly server: RunningFhirServer,
    /** The programme's record: the target when separate, else the source. */
    readonly client: FhirClient,
    readonly configFile: string,
    readonly target?: RunningFhirServer
  ) {}

  static async start(
    extraConfig: Record<string, unknown> = {},
    options: PracticeOptions = {}
  ): Promise<ProgrammePractice> {
    const resources = options.resources ?? [...handMadePractice(AS_OF, SPECS), ...TEAM];
    const server = await startFhirServer({ resources, behave: options.behave });
    const target = options.separateTarget ? await startFhirServer() : undefined;
    const record = target ?? server;
    const client = FhirClient.fromConfig({ ...configSchema.parse({}).fhir, baseUrl: record.baseUrl });
    const configFile = path.join(mkdtempSync(path.join(tmpdir(), 'hfu-lifecycle-')), 'config.json');
    writeFileSync(configFile, JSON.stringify({ ...CONFIG, ...extraConfig }));
    return new ProgrammePractice(server, client, configFile, target);
  }

  async stop(): Promise<void> {
    await Promise.all([this.server.stop(), this.target?.stop()]);
  }

  /** Every resource the source holds now, type by type in the order created: to start another practice from. */
  async snapshot(): Promise<Resource[]> {
    if (this.target) {
      throw new Error('a snapshot of the source alone would leave out the record on the separate target');
    }
    const repo = this.server.repo;
    const types = Object.keys(repo.countsByType());
    return Promise.all(types.flatMap((type) => repo.idsOf(type).map((id) => repo.readResource(type, id))));
  }

  /** The connector's configuration as a run here reads it: the file, on the source and the separate target if any. */
  config(): Config {
    const file = JSON.parse(readFileSync(this.configFile, 'utf8')) as Record<string, unknown>;
    return configSchema.parse({
      ...file,
      fhir: { baseUrl: this.server.baseUrl },
      writeback: {
        ...(file.writeback as object),
        ...(this.target ? { fhir: { baseUrl: this.target.baseUrl } } : {}),
      },
    });
  }

  /** A source resource as the record refers to it: absolute on the source's base when the record is apart. */
  sourceRef(reference: string): string {
    return this.target ? `${this.server.baseUrl}/${reference}` : reference;
  }

  /** A change the source system records (a death, a deregistration, a coding corrected), in its own store. */
  async changeClinical<T extends Resource>(type: T['resourceType'], id: string, changes: Partial<T>): Promise<T> {
    const current = await this.server.repo.readResource<T>(type, id);
    return this.server.repo.updateResource<T>({ ...current, ...changes });
  }

  /** A resource the source system adds (a new admission), in its own store. */
  addClinical<T extends Resource>(resource: T): Promise<T> {
    return this.server.repo.createResource<T>(resource);
  }

  /** The arguments and environment of `hfu run --json` for this practice. */
  runCommand(
    asOf: string,
    options: { baseUrl?: string; env?: Record<string, string> } = {}
  ): [string[], Record<string, string>] {
    return [
      ['run', '--json', '--now', asOf, '--config', this.configFile],
      {
        HFU_FHIR__BASE_URL: options.baseUrl ?? this.server.baseUrl,
        ...(this.target ? { HFU_WRITEBACK__FHIR__BASE_URL: this.target.baseUrl } : {}),
        ...options.env,
      },
    ];
  }

  /** `hfu run --json` in-process, against this server or (through a proxy) `baseUrl`. */
  async run(
    asOf: string,
    options: { baseUrl?: string; env?: Record<string, string> } = {}
  ): Promise<{ code: number; json: RunJson; stderr: string }> {
    const { code, stdout, stderr } = await runCli(...this.runCommand(asOf, options));
    if (!stdout) {
      throw new Error(`hfu run exited ${code} with no report: ${stderr.slice(-2000)}`);
    }
    return { code, json: JSON.parse(stdout) as RunJson, stderr };
  }

  /**
   * A run of everyone, then the same run again: each succeeds with no failed writes or conflicts, and the second finds
   * everything in place and writes nothing. The first run's report.
   */
  async runTwice(asOf: string = AS_OF): Promise<RunJson> {
    const runs: RunJson[] = [];
    for (const _ of [1, 2]) {
      const { code, json, stderr } = await this.run(asOf);
      expect({ code, stderr: code ? stderr.slice(-2000) : '' }).toEqual({ code: 0, stderr: '' });
      expect([json.writeFailures, json.conflicts]).toEqual([[], []]);
      runs.push(json);
    }
    expect(runs[1]?.writes).toMatchObject({ created: 0, updated: 0, provenance: 0 });
    return runs[0] as RunJson;
  }

  tagged<T extends Resource>(type: T['resourceType']): Promise<T[]> {
    return this.client.searchAll<T>(type, { _tag: token(MANAGED_TAG) });
  }

  /** Everything the connector wrote. */
  async written(): Promise<Resource[]> {
    const types = ['Task', 'Flag', 'CarePlan', 'Group', 'Provenance'] as const;
    return (await Promise.all(types.map((t) => this.tagged(t)))).flat();
  }

  /** One of the programme's resources by its business identifier (never more than one). */
  async managed<T extends Task | Flag | CarePlan>(
    type: T['resourceType'],
    patientId: string,
    kind: string,
    episode = 1,
    n?: number
  ): Promise<T | undefined> {
    const system = type === 'Flag' ? IDENTIFIER.flag : type === 'CarePlan' ? IDENTIFIER.carePlan : IDENTIFIER.task;
    const value = `${PROGRAMME}/Patient/${patientId}/${kind}/${episode}${n === undefined ? '' : `/${n}`}`;
    const found = await this.client.searchAll<T>(type, { identifier: `${system}|${value}` });
    if (found.length > 1) {
      throw new Error(`${found.length} resources share the identifier ${value}`);
    }
    return found[0];
  }

  async must<T extends Task | Flag | CarePlan>(
    type: T['resourceType'],
    patientId: string,
    kind: string,
    episode = 1,
    n?: number
  ): Promise<T> {
    const resource = await this.managed<T>(type, patientId, kind, episode, n);
    if (!resource) {
      throw new Error(`expected ${type} ${kind} ${episode}${n ? `/${n}` : ''} of Patient/${patientId}`);
    }
    return resource;
  }

  /** What the MDT or a clinician records: an update to a resource, as their system would make it. */
  record<T extends Resource>(resource: T, changes: Partial<T>): Promise<T> {
    return this.client.update<T>({ ...resource, ...changes });
  }

  async provenanceFor(target: Resource): Promise<Provenance[]> {
    return (await this.tagged<Provenance>('Provenance')).filter((p) =>
      p.target.some((t) => t.reference === `${target.resourceType}/${target.id}`)
    );
  }

  async membersFor(patientId: string): Promise<NonNullable<Group['member']>> {
    const [group] = await this.tagged<Group>('Group');
    return group?.member?.filter((m) => m.entity.reference === this.sourceRef(`Patient/${patientId}`)) ?? [];
  }
}

/** The MDT's decisions after the first run: four patients to enrol (one of whom waits for capacity), one declined. */
export async function mdtDecides(practice: ProgrammePractice): Promise<void> {
  const decided = { lastModified: new Date().toISOString() };
  const review = (id: string) => practice.must<Task>('Task', id, 'mdt-review');
  await practice.record(await review('hfu-a'), {
    ...decided,
    status: 'accepted',
    owner: { reference: 'PractitionerRole/gp-1' },
  });
  await practice.record(await review('hfu-b'), {
    ...decided,
    status: 'completed',
    businessStatus: { coding: [BUSINESS_STATUS.enrol] },
  });
  await practice.record(await review('hfu-c'), { ...decided, status: 'rejected' });
  await practice.record(await review('hfu-e'), { ...decided, status: 'accepted' });
  await practice.record(await review('hfu-h'), { ...decided, status: 'accepted' });
}

export async function proposedAndDecided(): Promise<ProgrammePractice> {
  const practice = await ProgrammePractice.start();
  const { code } = await practice.run(AS_OF);
  expect(code).toBe(0);
  await mdtDecides(practice);
  return practice;
}

/**
 * The record as content, comparable across servers: server ids and versions dropped, references among the
 * connector's own resources replaced by their business identifiers, wall-clock stamps dropped. Provenance ids are
 * derived from the event they record, so they compare as they are.
 */
export async function recordContent(practice: ProgrammePractice): Promise<Map<string, unknown>> {
  const written = await practice.written();
  const keyOf = new Map<string, string>();
  for (const resource of written) {
    const identifier = (resource as { identifier?: { value?: string }[] }).identifier?.[0]?.value;
    keyOf.set(
      `${resource.resourceType}/${resource.id}`,
      identifier ? `${resource.resourceType}#${identifier}` : `${resource.resourceType}/${resource.id}`
    );
  }
  const content = new Map<string, unknown>();
  for (const resource of written) {
    const key = keyOf.get(`${resource.resourceType}/${resource.id}`) as string;
    expect(content.has(key)).toBe(false); // no duplicates
    content.set(key, normalise(resource, keyOf));
  }
  return content;
}

const WALL_CLOCK = new Set(['authoredOn', 'created', 'recorded', 'lastModified']);

function normalise(resource: Resource, keyOf: ReadonlyMap<string, string>): unknown {
  const walk = (value: unknown, field?: string): unknown => {
    if (Array.isArray(value)) {
      return value.map((v) => walk(v));
    }
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value as Record<string, unknown>)
          .filter(([k]) => !WALL_CLOCK.has(k) && k !== 'valueDateTime')
          .map(([k, v]) => [k, walk(v, k)])
      );
    }
    return field === 'reference' && typeof value === 'string' ? (keyOf.get(value) ?? value) : value;
  };
  const { id: _id, meta, ...rest } = resource;
  return walk({ ...rest, meta: { tag: meta?.tag, profile: meta?.profile } });
}
