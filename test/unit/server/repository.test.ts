import type { SearchRequest } from '@medplum/core';
import { OperationOutcomeError, parseSearchRequest } from '@medplum/core';
import { MemoryRepository } from '@medplum/fhir-router';
import type { Encounter, Resource } from '@medplum/fhirtypes';
import { IndexedMemoryRepository, loadR4Definitions } from '../../../src/server';
import { practiceOrganizations, synthesizePractice } from '../../../src/synth';

const { resources } = synthesizePractice({ patients: 150, seed: 5, asOf: '2026-11-23' });
let indexed: IndexedMemoryRepository;
let plain: MemoryRepository;

beforeAll(async () => {
  loadR4Definitions();
  indexed = new IndexedMemoryRepository();
  await indexed.load(resources);
  plain = new MemoryRepository();
  for (const resource of resources) {
    await plain.createResource(resource);
  }
});

const ids = async (repo: MemoryRepository, query: string): Promise<string[]> => {
  const request: SearchRequest = { ...parseSearchRequest(query), count: 1000 };
  return ((await repo.search(request)).entry ?? []).map((e) => e.resource?.id as string).sort();
};

describe('indexes only narrow: results equal a full scan', () => {
  const patients = resources.filter((r) => r.resourceType === 'Patient').map((r) => r.id);
  it.each([
    `Encounter?subject=Patient/${patients[0]},Patient/${patients[1]},Patient/${patients[2]}`,
    `Encounter?subject=Patient/${patients[3]}&date=ge2026-01-01`,
    `Encounter?patient=Patient/${patients[4]}&class=IMP`,
    `MedicationRequest?subject=Patient/${patients[5]}&status=active`,
    `Condition?patient=Patient/${patients[6]},Patient/${patients[7]}`,
    `Patient?general-practitioner=Organization/y99001`,
    `Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|${(resources[4] as { identifier?: { value: string }[] }).identifier?.[0]?.value}`,
    `Encounter?service-provider=Organization/y99001-trust&status=finished`,
    `Encounter?subject=Patient/unknown`,
  ])('%s', async (query) => {
    expect(await ids(indexed, query)).toEqual(await ids(plain, query));
  });

  it('finds something for the indexed queries (the comparison is not vacuous)', async () => {
    expect(
      (await ids(indexed, `Encounter?subject=Patient/${patients[0]},Patient/${patients[1]}`)).length
    ).toBeGreaterThan(0);
  });
});

describe('writes', () => {
  it('re-indexes on update and forgets on delete', async () => {
    const repo = new IndexedMemoryRepository();
    await repo.load(practiceOrganizations());
    const encounter = await repo.createResource<Encounter>({
      resourceType: 'Encounter',
      status: 'finished',
      class: { code: 'AMB' },
      subject: { reference: 'Patient/a' },
    });
    await repo.updateResource({ ...encounter, subject: { reference: 'Patient/b' } });
    expect(await ids(repo, 'Encounter?subject=Patient/a')).toEqual([]);
    expect(await ids(repo, 'Encounter?subject=Patient/b')).toEqual([encounter.id]);
    await repo.deleteResource('Encounter', encounter.id);
    expect(await ids(repo, 'Encounter?subject=Patient/b')).toEqual([]);
    expect(repo.countsByType()).toMatchObject({ Organization: 4, Encounter: 0 });
  });

  it('refuses an invalid resource with a 400 OperationOutcome', async () => {
    const repo = new IndexedMemoryRepository();
    const invalid = { resourceType: 'Encounter', status: 'finished' } as Resource; // no class
    await expect(repo.createResource(invalid)).rejects.toBeInstanceOf(OperationOutcomeError);
    await expect(repo.createResource(invalid)).rejects.toThrow(/class/);
  });

  it('assigns meta.versionId and meta.lastUpdated itself', async () => {
    const repo = new IndexedMemoryRepository();
    const created = await repo.createResource({
      resourceType: 'Patient',
      meta: { versionId: 'client-chosen', lastUpdated: '2000-01-01T00:00:00Z', tag: [{ system: 's', code: 'c' }] },
    });
    expect(created.meta?.versionId).not.toBe('client-chosen');
    expect(created.meta?.lastUpdated).not.toBe('2000-01-01T00:00:00Z');
    expect(created.meta?.tag).toEqual([{ system: 's', code: 'c' }]);
  });

  it('pages in a stable order with a default of 20 and a maximum of 1,000 per page', async () => {
    const all = (await indexed.search({ resourceType: 'Encounter', count: 5000 })).entry ?? [];
    const page1 = (await indexed.search({ resourceType: 'Encounter' })).entry ?? [];
    const page2 = (await indexed.search({ resourceType: 'Encounter', offset: 20 })).entry ?? [];
    expect(all.length).toBe(1000);
    expect(page1.length).toBe(20);
    expect([...page1, ...page2].map((e) => e.resource?.id)).toEqual(all.slice(0, 40).map((e) => e.resource?.id));
  });
});

describe('Appointments, found by their patient among the participants', () => {
  const appointment = (id: string, status: string, start: string | undefined, actors: string[]): Resource =>
    ({
      resourceType: 'Appointment',
      id,
      status,
      ...(start ? { start, end: start.replace('T09:', 'T10:') } : {}),
      participant: actors.map((reference) => ({ actor: { reference }, status: 'accepted' })),
    }) as Resource;
  const appointments = [
    appointment('x1', 'fulfilled', '2026-03-01T09:00:00Z', ['Practitioner/gp1', 'Patient/a']),
    appointment('x2', 'booked', '2025-03-01T09:00:00Z', ['Patient/b', 'Location/surgery']),
    appointment('x3', 'fulfilled', '2026-06-01T09:00:00Z', ['Patient/a']),
    appointment('x4', 'proposed', undefined, ['Practitioner/gp1']),
  ];
  let withAppointments: IndexedMemoryRepository;
  let scanned: MemoryRepository;

  beforeAll(async () => {
    withAppointments = new IndexedMemoryRepository();
    await withAppointments.load([...resources, ...appointments]);
    scanned = new MemoryRepository();
    for (const resource of appointments) {
      await scanned.createResource(resource);
    }
  });

  it.each([
    ['Appointment?patient=Patient/a', ['x1', 'x3']],
    ['Appointment?patient=Patient/a,Patient/b', ['x1', 'x2', 'x3']],
    ['Appointment?actor=Patient/b', ['x2']],
    ['Appointment?actor=Practitioner/gp1', ['x1', 'x4']],
    ['Appointment?patient=Practitioner/gp1', []],
    ['Appointment?patient=Patient/a,Patient/b&date=ge2026-01-01', ['x1', 'x3']],
    ['Appointment?patient:missing=true', ['x4']],
  ])('%s', async (query, expected) => {
    expect(await ids(withAppointments, query)).toEqual(expected);
    expect(await ids(withAppointments, query)).toEqual(await ids(scanned, query));
  });

  it('keeps them in the patient compartment that bulk export reads', () => {
    expect(withAppointments.referencing('Patient/a', 'Appointment')).toEqual(['x1', 'x3']);
  });
});
