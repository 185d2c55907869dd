import type { Patient, Resource } from '@medplum/fhirtypes';
import { rulesFrom } from '../../../src/cohort';
import { ConfigError, configSchema } from '../../../src/config';
import type { FhirConfig } from '../../../src/config';
import { FhirClient, FhirError } from '../../../src/fhir';
import type { SubjectSearch } from '../../../src/read';
import { checkSubjectSearch, readChunk } from '../../../src/read';
import type { ServerBehaviour } from '../../../src/server';
import { startFaultyProxy } from '../../integration/helpers/proxy';
import type { SeededServer } from '../../integration/helpers/server';
import { AS_OF, startSeededServer } from '../../integration/helpers/server';

// Each way of searching a chunk's data, against the real embedded server behaving as itself, like HAPI and minimal.
// The oracle is computed from the seeded resources: every resource of a type the mapping reads whose subject (or
// patient) is one of the chunk's patients.

const config = configSchema.parse({});
const { mapping } = rulesFrom(config);
const servers = new Map<ServerBehaviour, SeededServer>();

beforeAll(async () => {
  for (const behave of ['default', 'hapi', 'minimal'] as const) {
    servers.set(behave, await startSeededServer(30, 6, { behave }));
  }
});
afterAll(async () => {
  for (const server of servers.values()) {
    await server.stop();
  }
});

const serverOf = (behave: ServerBehaviour) => servers.get(behave) as SeededServer;

function clientOf(behave: ServerBehaviour, fhir: Partial<FhirConfig> = {}, seen?: string[]): FhirClient {
  const counting: typeof fetch = (input, init) => {
    seen?.push(String(input));
    return fetch(input, init);
  };
  const baseUrl = serverOf(behave).baseUrl;
  return FhirClient.fromConfig({ ...config.fhir, baseUrl, maxAttempts: 1, ...fhir }, { fetch: counting });
}

function patientsOf(behave: ServerBehaviour, n: number): Patient[] {
  return serverOf(behave)
    .resources.filter((r): r is Patient => r.resourceType === 'Patient')
    .slice(0, n);
}

/** Type → patient → sorted ids, from the seeded resources. */
function expected(behave: ServerBehaviour, patients: readonly Patient[]): Record<string, Record<string, string[]>> {
  const wanted = new Set(patients.map((p) => `Patient/${p.id}`));
  const out: Record<string, Record<string, string[]>> = {};
  for (const resource of serverOf(behave).resources) {
    const about = resource as { subject?: { reference?: string }; patient?: { reference?: string } };
    const reference = about.subject?.reference ?? about.patient?.reference ?? '';
    if (mapping.resourceTypes.includes(resource.resourceType as never) && wanted.has(reference)) {
      ((out[resource.resourceType] ??= {})[reference.slice(8)] ??= []).push(resource.id as string);
    }
  }
  Object.values(out).forEach((byPatient) => Object.values(byPatient).forEach((ids) => ids.sort()));
  return out;
}

function found(records: { patient: Patient; resources: Partial<Record<string, Resource[]>> }[]) {
  const out: Record<string, Record<string, string[]>> = {};
  for (const { patient, resources } of records) {
    for (const [type, list] of Object.entries(resources)) {
      if (list?.length) {
        (out[type] ??= {})[patient.id as string] = list.map((r) => r.id as string).sort();
      }
    }
  }
  return out;
}

async function readWith(client: FhirClient, patients: Patient[], subjectSearch: SubjectSearch) {
  return readChunk(client, mapping, patients, AS_OF, { dateBounds: false, subjectSearch });
}

describe.each([
  ['default', ['or-list', 'per-patient', 'everything']],
  ['hapi', ['or-list', 'per-patient', 'everything']],
  ['minimal', ['per-patient']],
] as const)('on a %s server', (behave, ways) => {
  it.each(ways)('%s reads exactly the patients’ resources of the mapped types', async (way) => {
    const patients = patientsOf(behave, 12);
    const { records, unattributed } = await readWith(clientOf(behave), patients, way);
    expect(records.map((r) => r.patient.id)).toEqual(patients.map((p) => p.id));
    expect(found(records)).toEqual(expected(behave, patients));
    expect(unattributed).toBe(0);
  });
});

describe('what each way costs in requests', () => {
  const types = mapping.resourceTypes.filter((t) => mapping.search[t]).length;

  it('or-list: one search per type; per-patient: one per patient and type; everything: one per patient', async () => {
    const patients = patientsOf('default', 12);
    const counts: Record<string, number> = {};
    for (const way of ['or-list', 'per-patient', 'everything'] as const) {
      const seen: string[] = [];
      await readWith(clientOf('default', {}, seen), patients, way);
      counts[way] = seen.length;
    }
    expect(counts).toEqual({ 'or-list': types, 'per-patient': types * 12, everything: 12 });
  });

  it('everything follows the opaque _getpages links of a server like HAPI to the last page', async () => {
    const patients = patientsOf('hapi', 6);
    const seen: string[] = [];
    const { records } = await readWith(clientOf('hapi', { pageSize: 3 }, seen), patients, 'everything');
    const wanted = expected('hapi', patients);
    expect(found(records)).toEqual(wanted);
    // pages of 3: the Patient and their resources, each patient's split over as many pages as that takes
    const held = (id: string) => Object.values(wanted).reduce((n, byPatient) => n + (byPatient[id]?.length ?? 0), 0);
    const pages = patients.reduce((n, p) => n + Math.ceil((1 + held(p.id as string)) / 3), 0);
    expect(pages).toBeGreaterThan(patients.length);
    expect(seen).toHaveLength(pages);
    expect(seen.filter((url) => url.includes('?_getpages='))).toHaveLength(pages - patients.length);
  });
});

describe('a server that takes one reference per search (minimal)', () => {
  it('refuses or-list with 400, which fails the chunk', async () => {
    const err = await readWith(clientOf('minimal'), patientsOf('minimal', 3), 'or-list').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FhirError);
    expect((err as FhirError).status).toBe(400);
  });

  it('does not declare $everything, so a run set to it stops with a configuration error naming the key', async () => {
    const check = checkSubjectSearch(clientOf('minimal'), 'everything');
    await expect(check).rejects.toThrow(ConfigError);
    await expect(check).rejects.toThrow(/extract\.subjectSearch: everything needs Patient\/\[id\]\/\$everything/);
    await expect(checkSubjectSearch(clientOf('hapi'), 'everything')).resolves.toBe('everything');
    await expect(checkSubjectSearch(clientOf('minimal'), 'per-patient')).resolves.toBe('per-patient');
  });
});

describe('a server that answers a search about one patient with another’s resource', () => {
  it('per-patient: counts it unattributed rather than filing it twice', async () => {
    const patients = patientsOf('default', 4);
    const [first, second] = patients.map((p) => p.id as string);
    const stray = {
      resourceType: 'Encounter',
      id: 'stray',
      status: 'finished',
      subject: { reference: `Patient/${second}` },
    };
    const proxy = await startFaultyProxy(serverOf('default').baseUrl, ({ url }) =>
      url.includes('/Encounter?') && url.includes(`Patient%2F${first}`)
        ? { status: 200, body: { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: stray }] } }
        : undefined
    );
    try {
      const client = FhirClient.fromConfig({ ...config.fhir, baseUrl: proxy.baseUrl, maxAttempts: 1 });
      const { records, unattributed } = await readWith(client, patients, 'per-patient');
      expect(unattributed).toBe(1);
      const wanted = expected('default', patients);
      const encounters = records.find((r) => r.patient.id === second)?.resources.Encounter ?? [];
      expect(encounters.map((e) => e.id).sort()).toEqual(wanted.Encounter?.[second as string] ?? []);
    } finally {
      await proxy.stop();
    }
  });
});
