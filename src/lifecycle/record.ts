import type { CarePlan, Flag, Group, Resource, Task } from '@medplum/fhirtypes';
import type { FhirClient, SourceReferences } from '../fhir';
import type { TaskKind } from '../vocabulary';
import { MANAGED_IDENTIFIER_SYSTEMS, MANAGED_TAG, token } from '../vocabulary';

/** What the record holds of one episode of one patient in the programme (an episode starts with a review). */
export interface Episode {
  number: number;
  review?: Task;
  flag?: Flag;
  carePlan?: CarePlan;
  conversation?: Task;
  /** Check-ins by their sequence number (1, 2, ...). */
  checkIns: Map<number, Task>;
  stepDown?: Task;
}

export interface PatientInProgramme {
  patientId: string;
  /** Episodes by number, oldest first. */
  episodes: Episode[];
}

/** The programme's own resources as the record holds them: the state of the programme lives only there. */
export interface ProgrammeRecord {
  group?: Group;
  patients: Map<string, PatientInProgramme>;
}

export type ManagedKind = TaskKind | 'flag' | 'care-plan';

/** A business identifier value: `<programme>/Patient/<id>/<kind>/<episode>[/<n>]`. */
export function managedIdentifierValue(
  programmeId: string,
  patientId: string,
  kind: ManagedKind,
  episode: number,
  n?: number
): string {
  return `${programmeId}/Patient/${patientId}/${kind}/${episode}${n === undefined ? '' : `/${n}`}`;
}

export function parseManagedIdentifier(
  value: string,
  programmeId: string
): { patientId: string; kind: ManagedKind; episode: number; n?: number } | undefined {
  const prefix = `${programmeId}/Patient/`;
  if (!value.startsWith(prefix)) {
    return undefined;
  }
  const match = /^([^/]+)\/([a-z-]+)\/(\d+)(?:\/(\d+))?$/.exec(value.slice(prefix.length));
  if (!match) {
    return undefined;
  }
  return {
    patientId: match[1] as string,
    kind: match[2] as ManagedKind,
    episode: Number(match[3]),
    n: match[4] ? Number(match[4]) : undefined,
  };
}

/**
 * Reads the cohort Group and every Task, Flag and CarePlan the connector wrote (found by its tag), and files them
 * by patient and episode from their business identifiers. Resources of other programmes are ignored.
 */
export async function readProgrammeRecord(
  client: FhirClient,
  programmeId: string,
  cohortIdentifier: { system: string; value: string },
  signal?: AbortSignal
): Promise<ProgrammeRecord> {
  const tag = token(MANAGED_TAG);
  const [groups, tasks, flags, carePlans] = await Promise.all([
    client.searchAll<Group>('Group', { identifier: `${cohortIdentifier.system}|${cohortIdentifier.value}` }, signal),
    client.searchAll<Task>('Task', { _tag: tag }, signal),
    client.searchAll<Flag>('Flag', { _tag: tag }, signal),
    client.searchAll<CarePlan>('CarePlan', { _tag: tag }, signal),
  ]);
  return { group: groups[0], patients: fileByPatient([...tasks, ...flags, ...carePlans], programmeId) };
}

/**
 * One patient's place in the programme: the Tasks, Flags and CarePlans the connector wrote about them (by its tag
 * and the patient, referred to as the record refers to the source), filed by episode. Undefined when the programme
 * has never touched them.
 */
export async function readPatientProgramme(
  client: FhirClient,
  programmeId: string,
  patientId: string,
  source: SourceReferences,
  signal?: AbortSignal
): Promise<PatientInProgramme | undefined> {
  const params = { _tag: token(MANAGED_TAG), subject: source.patient(patientId) };
  const [tasks, flags, carePlans] = await Promise.all([
    client.searchAll<Task>('Task', params, signal),
    client.searchAll<Flag>('Flag', params, signal),
    client.searchAll<CarePlan>('CarePlan', params, signal),
  ]);
  return fileByPatient([...tasks, ...flags, ...carePlans], programmeId).get(patientId);
}

/** Resources of the programme by patient and episode, from their business identifiers (other programmes ignored). */
function fileByPatient(resources: readonly Resource[], programmeId: string): Map<string, PatientInProgramme> {
  const patients = new Map<string, PatientInProgramme>();
  for (const resource of resources) {
    for (const identifier of (resource as { identifier?: { system?: string; value?: string }[] }).identifier ?? []) {
      if (!identifier.system || !MANAGED_IDENTIFIER_SYSTEMS.has(identifier.system) || !identifier.value) {
        continue;
      }
      const parsed = parseManagedIdentifier(identifier.value, programmeId);
      if (parsed) {
        file(patients, parsed, resource);
      }
    }
  }
  for (const patient of patients.values()) {
    patient.episodes.sort((a, b) => a.number - b.number);
  }
  return patients;
}

function file(
  patients: Map<string, PatientInProgramme>,
  id: NonNullable<ReturnType<typeof parseManagedIdentifier>>,
  resource: Resource
): void {
  let patient = patients.get(id.patientId);
  if (!patient) {
    patient = { patientId: id.patientId, episodes: [] };
    patients.set(id.patientId, patient);
  }
  let episode = patient.episodes.find((e) => e.number === id.episode);
  if (!episode) {
    episode = { number: id.episode, checkIns: new Map() };
    patient.episodes.push(episode);
  }
  switch (id.kind) {
    case 'mdt-review':
      episode.review = resource as Task;
      break;
    case 'what-matters-conversation':
      episode.conversation = resource as Task;
      break;
    case 'check-in':
      episode.checkIns.set(id.n ?? 1, resource as Task);
      break;
    case 'step-down-review':
      episode.stepDown = resource as Task;
      break;
    case 'flag':
      episode.flag = resource as Flag;
      break;
    case 'care-plan':
      episode.carePlan = resource as CarePlan;
      break;
  }
}
