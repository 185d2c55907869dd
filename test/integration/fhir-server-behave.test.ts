import type {
  Bundle,
  BundleEntry,
  CapabilityStatement,
  Encounter,
  Flag,
  OperationOutcome,
  Resource,
} from '@medplum/fhirtypes';
import type { ServerBehaviour } from '../../src/server';
import { HAPI_MAX_PAGE_SIZE } from '../../src/server';
import type { SeededServer } from './helpers/server';
import { startSeededServer } from './helpers/server';

// The embedded server behaving like other servers (`hfu fhir-server --behave`), over HTTP. Expected results are
// computed from the seeded resources, not from the server.

const PATIENTS = 40;
const JSON_TYPE = { 'Content-Type': 'application/fhir+json' };

const servers = new Map<ServerBehaviour, SeededServer>();
beforeAll(async () => {
  for (const behave of ['default', 'hapi', 'read-only', 'minimal'] as const) {
    servers.set(behave, await startSeededServer(PATIENTS, 1, { behave }));
  }
});
afterAll(async () => {
  for (const server of servers.values()) {
    await server.stop();
  }
});

const serverOf = (behave: ServerBehaviour): SeededServer => servers.get(behave) as SeededServer;
const get = (behave: ServerBehaviour, path: string): Promise<Response> => fetch(`${serverOf(behave).baseUrl}/${path}`);
const send = (behave: ServerBehaviour, method: string, path: string, body?: unknown, headers = {}) =>
  fetch(`${serverOf(behave).baseUrl}/${path}`, {
    method,
    headers: { ...JSON_TYPE, ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
const bundleOf = async (res: Response): Promise<Bundle> => {
  expect(res.status).toBe(200);
  return (await res.json()) as Bundle;
};
const metadata = async (behave: ServerBehaviour) =>
  (await (await get(behave, 'metadata')).json()) as CapabilityStatement;
const linkOf = (bundle: Bundle, relation: string) => bundle.link?.find((l) => l.relation === relation)?.url;
const idsOf = (bundle: Bundle) => (bundle.entry ?? []).map((e) => e.resource?.id as string);

/** Every resource id of a search, following next links as given. */
async function allIds(firstUrl: string): Promise<{ ids: string[]; links: string[] }> {
  const ids: string[] = [];
  const links: string[] = [];
  let url: string | undefined = firstUrl;
  while (url) {
    const bundle = await bundleOf(await fetch(url));
    ids.push(...idsOf(bundle));
    url = linkOf(bundle, 'next');
    if (url) {
      links.push(url);
    }
  }
  return { ids, links };
}

function seeded<T extends Resource>(behave: ServerBehaviour, type: T['resourceType']): T[] {
  return serverOf(behave).resources.filter((r): r is T => r.resourceType === type);
}

function encountersOf(behave: ServerBehaviour, patientIds: string[]): string[] {
  const wanted = new Set(patientIds.map((id) => `Patient/${id}`));
  return seeded<Encounter>(behave, 'Encounter')
    .filter((e) => wanted.has(e.subject?.reference ?? ''))
    .map((e) => e.id as string);
}

/** Patients with at least one encounter, so that a search by subject has something to find. */
function patientsWithEncounters(behave: ServerBehaviour, n: number): string[] {
  const subjects = new Set(seeded<Encounter>(behave, 'Encounter').map((e) => e.subject?.reference ?? ''));
  return [...subjects]
    .filter((s) => s.startsWith('Patient/'))
    .slice(0, n)
    .map((s) => s.slice('Patient/'.length));
}

function flag(behave: ServerBehaviour, value: string): Flag {
  return {
    resourceType: 'Flag',
    status: 'active',
    identifier: [{ system: 'https://id.test/behave', value }],
    code: { text: 'test flag' },
    subject: { reference: `Patient/${seeded(behave, 'Patient')[0]?.id}` },
  };
}

async function createFlag(behave: ServerBehaviour, value: string): Promise<Flag> {
  const res = await send(behave, 'POST', 'Flag', flag(behave, value));
  expect(res.status).toBe(201);
  return (await res.json()) as Flag;
}

async function expectOutcome(res: Response, status: number, text: RegExp, code?: string): Promise<OperationOutcome> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/fhir+json');
  const outcome = (await res.json()) as OperationOutcome;
  expect(outcome.resourceType).toBe('OperationOutcome');
  expect(outcome.issue?.[0]?.details?.text).toMatch(text);
  if (code) {
    expect(outcome.issue?.[0]?.code).toBe(code);
  }
  return outcome;
}

describe('default behaviour (unchanged)', () => {
  it('pages with _offset links, takes a page of 150, OR lists of subjects and _lastUpdated', async () => {
    const encounters = seeded<Encounter>('default', 'Encounter').map((e) => e.id as string);
    expect(encounters.length).toBeGreaterThan(150);
    const page = await bundleOf(await get('default', 'Encounter?_count=150'));
    expect(page.entry).toHaveLength(150);
    expect(linkOf(page, 'next')).toContain('_offset=150');
    const walked = await allIds(`${serverOf('default').baseUrl}/Encounter?_count=150`);
    expect(walked.ids.sort()).toEqual([...encounters].sort());

    const patients = patientsWithEncounters('default', 3);
    const or = await allIds(`${serverOf('default').baseUrl}/Encounter?subject=${patients.map((p) => `Patient/${p}`)}`);
    expect(or.ids.sort()).toEqual(encountersOf('default', patients).sort());
    const recent = await bundleOf(await get('default', 'Encounter?_lastUpdated=ge2000-01-01&_summary=count'));
    expect(recent.total).toBe(encounters.length);
  });

  it('declares writes, transaction and batch, and _lastUpdated', async () => {
    const cs = await metadata('default');
    expect(cs.rest?.[0]?.interaction?.map((i) => i.code)).toEqual(['transaction', 'batch']);
    const encounter = cs.rest?.[0]?.resource?.find((r) => r.type === 'Encounter');
    expect(encounter?.interaction?.map((i) => i.code)).toEqual(expect.arrayContaining(['create', 'update', 'delete']));
    expect(encounter?.searchParam?.map((p) => p.name)).toContain('_lastUpdated');
  });

  it('answers a stale If-Match with 412', async () => {
    const created = (await (await send('default', 'POST', 'Flag', flag('default', 'd-1'))).json()) as Flag;
    const ok = await send(
      'default',
      'PUT',
      `Flag/${created.id}`,
      { ...created, status: 'inactive' },
      {
        'If-Match': `W/"${created.meta?.versionId}"`,
      }
    );
    expect(ok.status).toBe(200);
    const stale = await send('default', 'PUT', `Flag/${created.id}`, created, {
      'If-Match': `W/"${created.meta?.versionId}"`,
    });
    expect(stale.status).toBe(412);
  });
});

describe('--behave hapi', () => {
  const base = () => serverOf('hapi').baseUrl;
  const GETPAGES = /^(.+)\?_getpages=([0-9a-f-]{36})&_getpagesoffset=(\d+)&_count=(\d+)&_bundletype=searchset$/;

  it('gives opaque _getpages next links that hold none of the search parameters', async () => {
    const patients = patientsWithEncounters('hapi', 12);
    const subject = patients.map((p) => `Patient/${p}`).join(',');
    const expected = encountersOf('hapi', patients);
    expect(expected.length).toBeGreaterThan(20);
    const walked = await allIds(`${base()}/Encounter?subject=${subject}&_count=7`);
    expect(walked.ids.sort()).toEqual([...expected].sort());
    expect(walked.links.length).toBe(Math.ceil(expected.length / 7) - 1);
    const ids = new Set<string>();
    walked.links.forEach((link, i) => {
      const match = GETPAGES.exec(link);
      expect(match?.[1]).toBe(base());
      expect(match?.[3]).toBe(String(7 * (i + 1)));
      expect(match?.[4]).toBe('7');
      expect(link).not.toContain('subject');
      expect(link).not.toContain('Patient');
      ids.add(match?.[2] as string);
    });
    expect(ids.size).toBe(1); // one search, one id for all its pages
  });

  it('keeps a POST _search form body under the id, too', async () => {
    const patients = patientsWithEncounters('hapi', 6);
    const res = await fetch(`${base()}/Encounter/_search`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ subject: patients.map((p) => `Patient/${p}`).join(','), _count: '3' }).toString(),
    });
    const first = await bundleOf(res);
    const rest = await allIds(linkOf(first, 'next') as string);
    expect([...idsOf(first), ...rest.ids].sort()).toEqual(encountersOf('hapi', patients).sort());
  });

  it(`lowers _count to ${HAPI_MAX_PAGE_SIZE}, silently`, async () => {
    const page = await bundleOf(await get('hapi', 'Encounter?_count=500'));
    expect(page.entry).toHaveLength(HAPI_MAX_PAGE_SIZE);
    expect(GETPAGES.exec(linkOf(page, 'next') as string)?.[4]).toBe(String(HAPI_MAX_PAGE_SIZE));
    const next = await bundleOf(await fetch((linkOf(page, 'next') as string).replace('_count=100', '_count=900')));
    expect(next.entry).toHaveLength(HAPI_MAX_PAGE_SIZE);
    expect(linkOf(next, 'previous')).toMatch(GETPAGES);
    expect(linkOf(next, 'self')).toMatch(GETPAGES);
    expect(linkOf(page, 'self')).toBe(`${base()}/Encounter?_count=500`); // a first page's: the search as sent
    const malformed = (linkOf(page, 'next') as string).replace('_getpagesoffset=100', '_getpagesoffset=abc');
    await expectOutcome(await fetch(malformed), 400, /_offset must be a non-negative integer/);
  });

  it('answers an unknown search id with 410 Gone', async () => {
    const res = await fetch(`${base()}?_getpages=00000000-0000-0000-0000-000000000000&_getpagesoffset=20&_count=20`);
    await expectOutcome(res, 410, /does not exist/, 'deleted');
  });

  it('answers an update or delete with a stale If-Match with 409, as HAPI does', async () => {
    const created = await createFlag('hapi', 'h-1');
    const v1 = `W/"${created.meta?.versionId}"`;
    const ok = await send('hapi', 'PUT', `Flag/${created.id}`, { ...created, status: 'inactive' }, { 'If-Match': v1 });
    expect(ok.status).toBe(200);
    await expectOutcome(
      await send('hapi', 'PUT', `Flag/${created.id}`, created, { 'If-Match': v1 }),
      409,
      /not the current version/,
      'conflict'
    );
    await expectOutcome(
      await send('hapi', 'DELETE', `Flag/${created.id}`, undefined, { 'If-Match': v1 }),
      409,
      /delete .* not the current version/,
      'conflict'
    );
    const current = (await (await get('hapi', `Flag/${created.id}`)).json()) as Flag;
    expect(current.status).toBe('inactive');
  });

  it('fails a whole transaction with 409 on a stale If-Match entry; a batch answers that entry 409', async () => {
    const created = await createFlag('hapi', 'h-2');
    const v1 = `W/"${created.meta?.versionId}"`;
    await send('hapi', 'PUT', `Flag/${created.id}`, { ...created, status: 'inactive' });
    const staleEntry: BundleEntry = {
      resource: { ...created, status: 'entered-in-error' },
      request: { method: 'PUT', url: `Flag/${created.id}`, ifMatch: v1 },
    };
    const other = { resource: flag('hapi', 'h-3'), request: { method: 'POST' as const, url: 'Flag' } };
    const transaction = await send('hapi', 'POST', '', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [other, staleEntry],
    });
    await expectOutcome(transaction, 409, /^Bundle.entry\[1\]: .*not the current version/, 'conflict');
    const h3 = await bundleOf(await get('hapi', 'Flag?identifier=https://id.test/behave|h-3&_summary=count'));
    expect(h3.total).toBe(0); // nothing of the refused transaction was written

    const batch = await bundleOf(
      await send('hapi', 'POST', '', { resourceType: 'Bundle', type: 'batch', entry: [other, staleEntry] })
    );
    expect(batch.entry?.map((e) => e.response?.status.slice(0, 3))).toEqual(['201', '409']);
    const current = (await (await get('hapi', `Flag/${created.id}`)).json()) as Flag;
    expect(current.status).toBe('inactive');
  });

  it('keeps 412 for a conditional create that matches several resources', async () => {
    await createFlag('hapi', 'h-dup');
    await createFlag('hapi', 'h-dup');
    const res = await send('hapi', 'POST', 'Flag', flag('hapi', 'h-dup'), {
      'If-None-Exist': 'identifier=https://id.test/behave|h-dup',
    });
    expect(res.status).toBe(412);
  });

  it('declares transaction and batch, and says how it pages', async () => {
    const cs = await metadata('hapi');
    expect(cs.rest?.[0]?.interaction?.map((i) => i.code)).toEqual(['transaction', 'batch']);
    expect(cs.rest?.[0]?.documentation).toContain('_getpages');
  });
});

describe('--behave read-only', () => {
  const counts = () => serverOf('read-only').repo.countsByType();
  const patientId = () => seeded('read-only', 'Patient')[0]?.id as string;

  it('reads and searches (GET and POST _search) as the default server does', async () => {
    const count = await bundleOf(await get('read-only', 'Patient?_summary=count'));
    expect(count.total).toBe(PATIENTS);
    const res = await fetch(`${serverOf('read-only').baseUrl}/Patient/_search`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `_id=${patientId()}`,
    });
    expect(idsOf(await bundleOf(res))).toEqual([patientId()]);
    const read = await get('read-only', `Patient/${patientId()}`);
    expect(read.status).toBe(200);
  });

  it('allows a bulk export kick-off (a read)', async () => {
    const res = await fetch(`${serverOf('read-only').baseUrl}/Patient/$export?_type=Patient`, {
      headers: { Accept: 'application/fhir+json', Prefer: 'respond-async' },
    });
    expect(res.status).toBe(202);
  });

  it.each([
    ['POST', 'Flag', 'create'],
    ['POST', 'Flag?if-none-exist', 'conditional create'],
    ['PUT', 'Patient/{id}', 'update'],
    ['PUT', 'Flag?identifier=https://id.test/behave|r-1', 'conditional update'],
    ['PATCH', 'Patient/{id}', 'patch'],
    ['DELETE', 'Patient/{id}', 'delete'],
    ['DELETE', 'Flag?identifier=https://id.test/behave|r-1', 'conditional delete'],
    ['POST', 'transaction', 'transaction'],
    ['POST', 'batch', 'batch'],
  ])('refuses %s %s (%s) with 405 and an OperationOutcome, writing nothing', async (method, target) => {
    const before = counts();
    const patient = seeded('read-only', 'Patient')[0] as Resource;
    const body =
      target === 'transaction' || target === 'batch'
        ? {
            resourceType: 'Bundle',
            type: target,
            entry: [{ resource: flag('read-only', 'r-1'), request: { method: 'POST', url: 'Flag' } }],
          }
        : method === 'PATCH'
          ? [{ op: 'replace', path: '/active', value: false }]
          : target.startsWith('Patient')
            ? patient
            : flag('read-only', 'r-1');
    const path = target === 'transaction' || target === 'batch' ? '' : target.replace('{id}', patientId());
    const headers = target.endsWith('if-none-exist')
      ? { 'If-None-Exist': 'identifier=https://id.test/behave|r-1' }
      : method === 'PATCH'
        ? { 'Content-Type': 'application/json-patch+json' }
        : {};
    const res = await send('read-only', method, path.replace('?if-none-exist', ''), body, headers);
    await expectOutcome(res, 405, /read-only/, 'not-supported');
    expect(res.headers.get('allow')).toBe('GET');
    expect(counts()).toEqual(before);
    const after = (await (await get('read-only', `Patient/${patientId()}`)).json()) as Resource;
    expect(after.meta?.versionId).toBe(patient.meta?.versionId ?? after.meta?.versionId);
  });

  it('declares only read and search interactions: no create, update, delete, transaction or batch', async () => {
    const cs = await metadata('read-only');
    const rest = cs.rest?.[0];
    expect(rest?.interaction ?? []).toEqual([]);
    for (const resource of rest?.resource ?? []) {
      expect(resource.interaction?.map((i) => i.code).sort()).toEqual(
        ['history-instance', 'read', 'search-type', 'vread'].sort()
      );
      expect(resource).toMatchObject({
        updateCreate: false,
        conditionalCreate: false,
        conditionalUpdate: false,
        conditionalDelete: 'not-supported',
      });
    }
    expect(rest?.resource?.length).toBeGreaterThan(100);
  });
});

describe('--behave minimal', () => {
  const patients = () => patientsWithEncounters('minimal', 2);

  it('refuses batch and transaction with 501 and an OperationOutcome', async () => {
    for (const type of ['transaction', 'batch']) {
      const res = await send('minimal', 'POST', '', {
        resourceType: 'Bundle',
        type,
        entry: [{ resource: flag('minimal', 'm-1'), request: { method: 'POST', url: 'Flag' } }],
      });
      await expectOutcome(res, 501, /Batch and transaction Bundles are not supported/, 'not-supported');
    }
    const written = await bundleOf(await get('minimal', 'Flag?identifier=https://id.test/behave|m-1&_summary=count'));
    expect(written.total).toBe(0);
  });

  it('refuses a comma-separated list of references with 400; one reference is answered', async () => {
    const [a, b] = patients() as [string, string];
    for (const query of [`subject=Patient/${a},Patient/${b}`, `patient=Patient/${a},Patient/${b}`]) {
      const name = query.split('=')[0] as string;
      await expectOutcome(await get('minimal', `Encounter?${query}`), 400, new RegExp(`'${name}' takes one reference`));
    }
    const posted = await fetch(`${serverOf('minimal').baseUrl}/Encounter/_search`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `subject=Patient/${a},Patient/${b}`,
    });
    await expectOutcome(posted, 400, /'subject' takes one reference/);
    const one = await allIds(`${serverOf('minimal').baseUrl}/Encounter?subject=Patient/${a}`);
    expect(one.ids.sort()).toEqual(encountersOf('minimal', [a]).sort());
  });

  it('refuses _lastUpdated with 400 like other unsupported parameters', async () => {
    await expectOutcome(
      await get('minimal', 'Encounter?_lastUpdated=ge2020-01-01'),
      400,
      /^Search parameter '_lastUpdated' is not supported by this server$/
    );
    await expectOutcome(await get('minimal', 'Encounter?_sort=-_lastUpdated'), 400, /'_lastUpdated' is not supported/);
  });

  it('still takes single writes, conditional ones included', async () => {
    const created = await createFlag('minimal', 'm-2');
    const again = await send('minimal', 'POST', 'Flag', flag('minimal', 'm-2'), {
      'If-None-Exist': 'identifier=https://id.test/behave|m-2',
    });
    expect(again.status).toBe(200);
    expect(((await again.json()) as Flag).id).toBe(created.id);
  });

  it('declares no transaction or batch, no _lastUpdated, and one reference per reference parameter', async () => {
    const cs = await metadata('minimal');
    const rest = cs.rest?.[0];
    expect(rest?.interaction ?? []).toEqual([]);
    const encounter = rest?.resource?.find((r) => r.type === 'Encounter');
    expect(encounter?.interaction?.map((i) => i.code)).toEqual(expect.arrayContaining(['create', 'update']));
    const names = encounter?.searchParam?.map((p) => p.name) ?? [];
    expect(names).toContain('subject');
    for (const resource of rest?.resource ?? []) {
      expect(resource.searchParam?.map((p) => p.name)).not.toContain('_lastUpdated');
    }
    expect(encounter?.searchParam?.find((p) => p.name === 'subject')?.documentation).toMatch(/One reference/);
  });
});

describe('Patient/[id]/$everything', () => {
  /** Each resource whose subject or patient is the patient, of the given types: from the seeded resources. */
  function compartmentOf(behave: ServerBehaviour, patientId: string, types: string[]): string[] {
    return serverOf(behave)
      .resources.filter((r) => types.includes(r.resourceType))
      .filter((r) => {
        const about = r as { subject?: { reference?: string }; patient?: { reference?: string } };
        return (about.subject?.reference ?? about.patient?.reference) === `Patient/${patientId}`;
      })
      .map((r) => `${r.resourceType}/${r.id}`);
  }
  const keysOf = (bundle: Bundle) => (bundle.entry ?? []).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);

  it.each(['default', 'hapi', 'read-only'] as const)(
    'on %s: declared on Patient, and answers the patient, then their resources of _type, page by page',
    async (behave) => {
      const types = ['Encounter', 'Condition', 'MedicationRequest'];
      const most = (a: string, b: string) =>
        compartmentOf(behave, b, types).length > compartmentOf(behave, a, types).length ? b : a;
      const patient = patientsWithEncounters(behave, PATIENTS).reduce(most);
      const cs = await metadata(behave);
      const declared = cs.rest?.[0]?.resource?.find((r) => r.type === 'Patient')?.operation ?? [];
      expect(declared.map((o) => o.definition)).toEqual(['http://hl7.org/fhir/OperationDefinition/Patient-everything']);
      const expected = compartmentOf(behave, patient, types);
      expect(expected.length).toBeGreaterThan(3);
      const keys: string[] = [];
      let url: string | undefined =
        `${serverOf(behave).baseUrl}/Patient/${patient}/$everything?_type=${types}&_count=3`;
      while (url) {
        const page = await bundleOf(await fetch(url));
        expect(page.type).toBe('searchset');
        expect(page.entry?.length).toBeLessThanOrEqual(3);
        keys.push(...keysOf(page));
        url = linkOf(page, 'next');
        expect(url === undefined || behave !== 'hapi' || url.includes('_getpages=')).toBe(true);
      }
      expect(keys[0]).toBe(`Patient/${patient}`);
      expect(keys.slice(1).sort()).toEqual(expected.sort());
    }
  );

  it('refuses what it does not take (start, end, _since), an unknown patient, and is neither there nor declared on minimal', async () => {
    const patient = patientsWithEncounters('default', 1)[0] as string;
    await expectOutcome(
      await get('default', `Patient/${patient}/$everything?start=2025-01-01`),
      400,
      /'start' of Patient\/\$everything is not supported/
    );
    expect((await get('default', 'Patient/no-such-patient/$everything')).status).toBe(404);
    await expectOutcome(await get('minimal', `Patient/${patient}/$everything`), 400, /is not supported/);
    const cs = await metadata('minimal');
    expect(cs.rest?.[0]?.resource?.find((r) => r.type === 'Patient')?.operation).toBeUndefined();
  });
});

describe('Bundle.total on a server like HAPI', () => {
  it('is left out of search pages unless asked for (_summary=count, _total=accurate)', async () => {
    const page = await bundleOf(await get('hapi', 'Encounter?_count=5'));
    expect(page.total).toBeUndefined();
    expect(linkOf(page, 'next')).toBeDefined(); // there is more, and only the links say so
    const encounters = seeded<Encounter>('hapi', 'Encounter').length;
    expect((await bundleOf(await get('hapi', 'Encounter?_summary=count'))).total).toBe(encounters);
    expect((await bundleOf(await get('hapi', 'Encounter?_count=5&_total=accurate'))).total).toBe(encounters);
  });
});
