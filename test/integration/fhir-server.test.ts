import { MedplumClient } from '@medplum/core';
import type { Bundle, CapabilityStatement, Encounter, Flag, Patient } from '@medplum/fhirtypes';
import { configSchema } from '../../src/config';
import { FhirClient, FhirError } from '../../src/fhir';
import type { SeededServer } from './helpers/server';
import { startSeededServer } from './helpers/server';

let server: SeededServer;
let client: FhirClient;

beforeAll(async () => {
  server = await startSeededServer(300);
  const fhir = configSchema.parse({ fhir: { baseUrl: server.baseUrl, pageSize: 50, chunkSize: 40 } }).fhir;
  client = FhirClient.fromConfig({ ...fhir, baseUrl: server.baseUrl });
});
afterAll(() => server.stop());

const http = (path: string, init?: RequestInit) => fetch(`${server.baseUrl}/${path}`, init);
const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/fhir+json' },
  body: JSON.stringify(body),
});

describe('reading the seeded population', () => {
  it('pages through every patient following next links', async () => {
    let pages = 0;
    const seen = new Set<string>();
    for await (const bundle of client.pages<Patient>('Patient')) {
      pages++;
      bundle.entry?.forEach((e) => seen.add(e.resource?.id as string));
      expect(bundle.link?.find((l) => l.relation === 'self')).toBeDefined();
    }
    expect(seen.size).toBe(300);
    expect(pages).toBe(6);
  });

  it('defaults to 20 results a page and caps a page at 1,000', async () => {
    const small = (await (await http('Patient')).json()) as Bundle;
    expect(small.entry).toHaveLength(20);
    expect(small.link?.find((l) => l.relation === 'next')?.url).toContain('_offset=20');
    const big = (await (await http('Encounter?_count=5000')).json()) as Bundle;
    expect(big.entry).toHaveLength(1000);
    expect(big.total).toBeGreaterThan(1000);
  });

  it('answers subject=Patient/a,Patient/b,... searches with exactly those patients resources', async () => {
    const patientIds = server.truth.slice(0, 90).map((t) => t.patientId);
    const found: string[] = [];
    for await (const chunk of client.searchBySubjects<Encounter>('Encounter', 'subject', patientIds)) {
      found.push(...chunk.resources.map((e) => e.id as string));
    }
    const expected = server.resources
      .filter((r): r is Encounter => r.resourceType === 'Encounter')
      .filter((e) => patientIds.includes(e.subject?.reference?.slice('Patient/'.length) ?? ''))
      .map((e) => e.id as string);
    expect(found.sort()).toEqual(expected.sort());
    expect(found.length).toBeGreaterThan(100);
  });

  it('can be paged by another FHIR client (MedplumClient)', async () => {
    const medplum = new MedplumClient({ baseUrl: new URL(server.baseUrl).origin + '/', fhirUrlPath: 'fhir/R4/' });
    let count = 0;
    for await (const page of medplum.searchResourcePages('Condition', { _count: 100 })) {
      count += page.length;
    }
    expect(count).toBe(server.resources.filter((r) => r.resourceType === 'Condition').length);
  });

  it('describes itself in a real CapabilityStatement', async () => {
    const cs = (await (await http('metadata')).json()) as CapabilityStatement;
    expect(cs.resourceType).toBe('CapabilityStatement');
    expect(cs.fhirVersion).toBe('4.0.1');
    const encounter = cs.rest?.[0]?.resource?.find((r) => r.type === 'Encounter');
    const params = encounter?.searchParam?.map((p) => p.name) ?? [];
    expect(params).toEqual(expect.arrayContaining(['subject', 'date', 'class', 'status', '_lastUpdated']));
    expect(params).not.toContain('length'); // a quantity parameter this server cannot match
    expect(encounter?.conditionalCreate).toBe(true);
  });
});

describe('wrong queries fail loudly', () => {
  it.each([
    ['Encounter?foo=bar', "Unknown search parameter 'foo'"],
    ['Encounter?subject=123', 'Type/id'],
    ['Encounter?subject.name=Smith', 'Chained'],
    ['Encounter?_include=Encounter:subject', 'not supported'],
  ])('%s is a 400 with the reason', async (path, reason) => {
    const response = await http(path);
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toContain(reason);
  });

  it('surfaces the answer through the client as its status and OperationOutcome code, never the server text', async () => {
    const failure = client.searchAll('Encounter', { nonsense: 'x' });
    await expect(failure).rejects.toThrow(/^GET Encounter failed: HTTP 400 \(OperationOutcome: invalid\)$/);
  });
});

describe('writes', () => {
  const flag: Flag = {
    resourceType: 'Flag',
    status: 'active',
    code: { text: 'test flag' },
    subject: { reference: 'Patient/p-write' },
    identifier: [{ system: 'https://id.test/flag', value: 'f-1' }],
  };

  it('validates: an invalid resource is a 400 naming the problem', async () => {
    const response = await http('Flag', json({ resourceType: 'Flag', status: 'active' }));
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toMatch(/Flag\.(code|subject)/);
  });

  it('creates with Location and ETag, and conditional create finds the existing one', async () => {
    const first = await http('Flag', {
      ...json(flag),
      headers: { 'Content-Type': 'application/fhir+json', 'If-None-Exist': 'identifier=https://id.test/flag|f-1' },
    });
    expect(first.status).toBe(201);
    const created = (await first.json()) as { id: string; meta: { versionId: string } };
    expect(first.headers.get('location')).toBe(
      `${server.baseUrl}/Flag/${created.id}/_history/${created.meta.versionId}`
    );
    expect(first.headers.get('etag')).toBe(`W/"${created.meta.versionId}"`);
    const again = await client.create(flag, { ifNoneExist: { identifier: 'https://id.test/flag|f-1' } });
    expect(again).toMatchObject({ created: false, resource: { id: created.id } });
  });

  it('refuses an update with a stale If-Match (412)', async () => {
    const { resource } = await client.create<Flag>({
      ...flag,
      identifier: [{ system: 'https://id.test/flag', value: 'f-2' }],
    });
    const version = resource.meta?.versionId;
    const updated = await client.update<Flag>({ ...resource, status: 'inactive' }, { ifMatch: version });
    expect(updated.status).toBe('inactive');
    const stale = await client
      .update<Flag>({ ...resource, status: 'active' }, { ifMatch: version })
      .catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(FhirError);
    expect((stale as FhirError).status).toBe(412);
  });

  it('conditional update creates once, then updates the same resource', async () => {
    const criteria = { identifier: 'https://id.test/flag|f-3' };
    const body: Flag = { ...flag, identifier: [{ system: 'https://id.test/flag', value: 'f-3' }] };
    const first = await client.conditionalUpdate(body, criteria);
    const second = await client.conditionalUpdate<Flag>({ ...body, status: 'inactive' }, criteria);
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.resource.id).toBe(first.resource.id);
  });

  it('runs a transaction with conditional entries and urn:uuid references', async () => {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:3f1c2a52-9f27-4c8e-9a39-1b7e4ad0c001',
          resource: {
            resourceType: 'Group',
            type: 'person',
            actual: true,
            identifier: [{ system: 'https://id.test/group', value: 'g-1' }],
          },
          request: { method: 'POST', url: 'Group', ifNoneExist: 'identifier=https://id.test/group|g-1' },
        },
        {
          resource: {
            resourceType: 'Task',
            status: 'requested',
            intent: 'proposal',
            focus: { reference: 'urn:uuid:3f1c2a52-9f27-4c8e-9a39-1b7e4ad0c001' },
            identifier: [{ system: 'https://id.test/task', value: 't-1' }],
          },
          request: { method: 'PUT', url: 'Task?identifier=https://id.test/task|t-1' },
        },
      ],
    };
    const response = await client.transaction(bundle, { idempotent: true });
    expect(response.entry?.map((e) => e.response?.status)).toEqual(['201', '201']);
    const task = (await client.searchAll('Task', { identifier: 'https://id.test/task|t-1' }))[0] as {
      focus?: { reference?: string };
    };
    expect(task.focus?.reference).toMatch(/^Group\//);
    const repeat = await client.transaction(bundle, { idempotent: true });
    expect(repeat.entry?.[0]?.response?.status).toBe('200');
  });

  it('refuses a bad search inside a batch entry', async () => {
    const response = await http(
      '',
      json({
        resourceType: 'Bundle',
        type: 'batch',
        entry: [{ request: { method: 'GET', url: 'Encounter?subject=42' } }],
      })
    );
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toContain('Bundle.entry[0]');
  });
});
