import { badRequest, notFound, OperationOutcomeError } from '@medplum/core';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { checkResourceType, pageWindow } from './query';
import type { IndexedMemoryRepository } from './repository';

/** `Patient/[id]/$everything`, as a path; its query apart. */
const EVERYTHING_PATH = /^\/?Patient\/([A-Za-z0-9\-.]{1,64})\/\$everything$/;

/** The parameters `$everything` takes here: the types wanted and the page window. */
const EVERYTHING_PARAMS = new Set(['_type', '_count', '_offset']);

/** The patient id of a `GET Patient/[id]/$everything` request, else undefined. */
export function everythingPatient(method: string, url: string): string | undefined {
  return method === 'GET' ? EVERYTHING_PATH.exec(url.split('?', 1)[0] as string)?.[1] : undefined;
}

/**
 * One page of `Patient/[id]/$everything`: the Patient first, then each resource whose `subject` or `patient` (an
 * Appointment: a participant) is that patient (of `_type`'s types, in that order, when given; else of every type),
 * first-created first, as a searchset with `total`. `start`, `end` and `_since` are refused (400) rather than
 * ignored. Links are the caller's to add.
 */
export async function everythingPage(
  repo: IndexedMemoryRepository,
  patientId: string,
  query: URLSearchParams
): Promise<Bundle> {
  for (const key of query.keys()) {
    if (!EVERYTHING_PARAMS.has(key)) {
      throw new OperationOutcomeError(badRequest(`Parameter '${key}' of Patient/$everything is not supported`));
    }
  }
  const patient = await repo.readResource('Patient', patientId).catch(() => undefined);
  if (!patient) {
    throw new OperationOutcomeError(notFound);
  }
  const { count, offset } = pageWindow(query);
  const reference = `Patient/${patientId}`;
  const types = typesOf(query) ?? Object.keys(repo.countsByType()).filter((type) => type !== 'Patient');
  const keys = types.flatMap((type) => repo.referencing(reference, type).map((id) => ({ type, id })));
  const page: Resource[] = offset === 0 ? [patient] : [];
  let matched = 1;
  for (const { type, id } of keys) {
    const resource = await repo.readResource(type, id);
    if (patientOf(resource) !== reference) {
      continue; // refers to the patient elsewhere (a Task's input, a Group's member): not in their compartment here
    }
    if (matched >= offset && matched < offset + count) {
      page.push(resource);
    }
    matched++;
  }
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: matched,
    entry: page.slice(0, count).map((resource) => ({ resource, search: { mode: 'match' } })),
  };
}

function typesOf(query: URLSearchParams): string[] | undefined {
  const value = query.getAll('_type').join(',');
  if (!query.has('_type')) {
    return undefined;
  }
  const types = value.split(',').filter(Boolean);
  types.forEach(checkResourceType);
  return [...new Set(types)];
}

function patientOf(resource: Resource): string | undefined {
  if (resource.resourceType === 'Appointment') {
    // No subject: the patient is among the participants (R4's `patient` parameter on Appointment).
    return resource.participant?.find((p) => p.actor?.reference?.startsWith('Patient/'))?.actor?.reference;
  }
  return (
    (resource as { subject?: { reference?: string } }).subject?.reference ??
    (resource as { patient?: { reference?: string } }).patient?.reference
  );
}
