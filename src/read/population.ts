import type { Group, Organization, Patient } from '@medplum/fhirtypes';
import type { Scope } from '../config';
import { ConfigError } from '../config';
import type { FhirClient } from '../fhir';
import { patientIdOfReference, toQuery } from '../fhir';
import { NHS_SYSTEM } from '../vocabulary';
import type { SubjectSearch } from './chunk';

/** The patients a run evaluates, read page by page (each page is one chunk). */
export interface Population {
  /** Stable key of the population, part of the cohort Group's identifier: `all`, `practice-Y99001`, ... */
  key: string;
  title: string;
  pages(signal?: AbortSignal): AsyncGenerator<Patient[]>;
  /** How many patients it holds, when the server can say (for progress: rate and time left). */
  size(signal?: AbortSignal): Promise<number | undefined>;
  /** Whether a patient read by id (a targeted or incremental refresh) belongs to this population. */
  includes(patient: Patient): boolean;
  /** The same patients as a Bulk Data export asks for them: a Group's, or every patient's through a filter. */
  bulk: { groupId?: string; patientFilter?: string };
}

/**
 * The scope's patients on the source. `subjectSearch` says whether the server takes comma OR lists of references:
 * with `per-patient` a scope of several practices is searched one practice at a time, not as
 * `general-practitioner=Organization/a,Organization/b`.
 */
export async function resolvePopulation(
  client: FhirClient,
  scope: Scope,
  signal?: AbortSignal,
  subjectSearch: SubjectSearch = 'or-list'
): Promise<Population> {
  const pageSize = client.chunkSize;
  switch (scope.type) {
    case 'all':
      return {
        key: 'all',
        title: 'all patients',
        pages: (s) => client.search<Patient>('Patient', { _count: pageSize }, s),
        size: (s) => client.count('Patient', {}, s),
        includes: () => true,
        bulk: {},
      };
    case 'practice': {
      const [gp] = await practiceReferences(client, [scope.ods], signal);
      return {
        key: `practice-${scope.ods}`,
        title: `practice ${scope.ods}`,
        pages: (s) => client.search<Patient>('Patient', { 'general-practitioner': gp, _count: pageSize }, s),
        size: (s) => client.count('Patient', { 'general-practitioner': gp }, s),
        includes: registeredWith([gp as string]),
        bulk: { patientFilter: `Patient?${toQuery({ 'general-practitioner': gp })}` },
      };
    }
    case 'practices': {
      const gps = await practiceReferences(client, scope.ods, signal);
      const name = scope.name ?? [...scope.ods].sort().join('-');
      return {
        key: `practices-${name}`,
        title: `${scope.name ?? 'practices'} (${scope.ods.join(', ')})`,
        ...(subjectSearch === 'per-patient'
          ? practiceByPractice(client, gps)
          : {
              pages: (s) =>
                client.search<Patient>('Patient', { 'general-practitioner': gps.join(','), _count: pageSize }, s),
              size: (s) => client.count('Patient', { 'general-practitioner': gps.join(',') }, s),
            }),
        includes: registeredWith(gps),
        bulk: { patientFilter: `Patient?${toQuery({ 'general-practitioner': gps.join(',') })}` },
      };
    }
    case 'group': {
      const group = await client.read<Group>('Group', scope.id, signal);
      const ids = (group.member ?? [])
        .map((m) => patientIdOfReference(m.entity.reference))
        .filter((id): id is string => Boolean(id));
      return {
        key: `group-${scope.id}`,
        title: `group ${scope.id}`,
        pages: (s) => patientsById(client, ids, s),
        size: () => Promise.resolve(ids.length),
        includes: isOneOf(ids),
        bulk: { groupId: scope.id },
      };
    }
    case 'list':
      return {
        key: `list-${listKey(scope.patients)}`,
        title: `${scope.patients.length} listed patients`,
        pages: (s) => patientsById(client, scope.patients, s),
        size: () => Promise.resolve(scope.patients.length),
        includes: isOneOf(scope.patients),
        bulk: { patientFilter: `Patient?${toQuery({ _id: scope.patients.join(',') })}` },
      };
  }
}

/**
 * Several practices' patients by one search per practice, for a server without comma OR lists. A patient registered
 * with two of them (`generalPractitioner` is 0..*) is read once, from the first. The size is the sum of the
 * practices' counts, so it can count such a patient twice: it only feeds progress.
 */
function practiceByPractice(client: FhirClient, gps: readonly string[]): Pick<Population, 'pages' | 'size'> {
  return {
    pages: async function* (signal) {
      const seen = new Set<string>();
      for (const gp of gps) {
        const pages = client.search<Patient>(
          'Patient',
          { 'general-practitioner': gp, _count: client.chunkSize },
          signal
        );
        for await (const page of pages) {
          const unseen = page.filter((patient) => !seen.has(patient.id ?? ''));
          unseen.forEach((patient) => seen.add(patient.id ?? ''));
          if (unseen.length) {
            yield unseen;
          }
        }
      }
    },
    size: async (signal) => {
      const counts = await Promise.all(
        gps.map((gp) => client.count('Patient', { 'general-practitioner': gp }, signal))
      );
      return counts.some((n) => n === undefined) ? undefined : counts.reduce<number>((a, n) => a + (n ?? 0), 0);
    },
  };
}

/** `Organization/<id>` of each practice, found by ODS code: exactly one each, or the scope is wrong. */
async function practiceReferences(
  client: FhirClient,
  odsCodes: readonly string[],
  signal?: AbortSignal
): Promise<string[]> {
  const references: string[] = [];
  for (const ods of odsCodes) {
    const orgs = await client.searchAll<Organization>(
      'Organization',
      { identifier: `${NHS_SYSTEM.ods}|${ods}` },
      signal
    );
    if (orgs.length !== 1) {
      throw new ConfigError('scope', [
        `scope.ods: expected one Organization with ODS code ${ods}, found ${orgs.length}`,
      ]);
    }
    references.push(`Organization/${orgs[0]?.id}`);
  }
  return references;
}

/** The same population (key, title: the same cohort) read only for the named patients. */
export function restrictPopulation(population: Population, client: FhirClient, ids: readonly string[]): Population {
  return {
    ...population,
    size: () => Promise.resolve(ids.length),
    pages: async function* (signal) {
      for await (const page of patientsById(client, ids, signal)) {
        yield page.filter((patient) => population.includes(patient));
      }
    },
  };
}

/** One of the listed patients (a Set: an incremental run asks once for each patient it reads). */
function isOneOf(ids: readonly string[]): (patient: Patient) => boolean {
  const members = new Set(ids);
  return (patient) => members.has(patient.id ?? '');
}

/** Registered with one of the practices: `generalPractitioner` names one of their Organizations. */
function registeredWith(practices: readonly string[]): (patient: Patient) => boolean {
  return (patient) =>
    (patient.generalPractitioner ?? []).some((gp) =>
      practices.some((practice) => gp.reference === practice || gp.reference?.endsWith(`/${practice}`))
    );
}

function patientsById(client: FhirClient, ids: readonly string[], signal?: AbortSignal): AsyncGenerator<Patient[]> {
  return client.searchByValues<Patient>('Patient', '_id', ids, {}, signal);
}

/** A short stable key for a list of patients (FNV-1a over the sorted ids). */
function listKey(ids: readonly string[]): string {
  let hash = 0x811c9dc5;
  for (const ch of [...ids].sort().join(',')) {
    hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
