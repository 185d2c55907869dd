import type {
  CarePlan,
  Flag,
  Goal,
  Group,
  Observation,
  QuestionnaireResponse,
  Resource,
  ServiceRequest,
  Task,
} from '@medplum/fhirtypes';
import type { IsoDate } from '../dates';
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
  /** Earlier conversation attempts (the patient said "not now"), by attempt; `conversation` is the latest. */
  conversationAttempts?: Map<number, Task>;
  /** MDT reviews asked for at a check-in (escalations), by the check-in's number. */
  escalations?: Map<number, Task>;
  /** What the connector made of the care team's forms: goals (by number), referrals (by kind), ONS4 (by form). */
  goals?: Map<number, Goal>;
  referrals?: Map<number, ServiceRequest>;
  wellbeing?: Map<number, Observation>;
  /** The care team's completed forms, once read (src/care): what the lifecycle reacts to. */
  forms?: EpisodeForms;
}

/** A form the care team completed: the response (never modified) and the day its Task was completed. */
export interface CompletedForm {
  task: string;
  response: QuestionnaireResponse;
  completedOn: IsoDate;
}

export interface EpisodeForms {
  /** The latest conversation attempt's form. */
  conversation?: CompletedForm & {
    participation: 'yes' | 'not-now' | 'declined';
    tryAgainAfter?: IsoDate;
    nextCheckIn?: IsoDate;
  };
  /** Check-in forms by check-in number. */
  checkIns: Map<
    number,
    CompletedForm & { nextStep: 'continue' | 'step-down' | 'discharge' | 'escalate'; nextCheckIn?: IsoDate }
  >;
  /** Completed Tasks whose form could not be used (missing, wrong form, invalid answers): left alone, reported. */
  unprocessable: { task: string; reason: string }[];
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

export type ManagedKind = TaskKind | 'flag' | 'care-plan' | 'goal' | 'referral' | 'wellbeing';

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

/** The per-patient resource types the connector writes (found again by its tag). */
/** The types of the programme record the connector writes and finds again by its tag (the Group, by identifier). */
export const MANAGED_TYPES = ['Task', 'Flag', 'CarePlan', 'Goal', 'ServiceRequest', 'Observation'] as const;

/**
 * Reads the cohort Group and every Task, Flag, CarePlan, Goal, ServiceRequest and Observation the connector wrote (found by its tag), and files them
 * by patient and episode from their business identifiers. Resources of other programmes are ignored.
 */
export async function readProgrammeRecord(
  client: FhirClient,
  programmeId: string,
  cohortIdentifier: { system: string; value: string },
  signal?: AbortSignal
): Promise<ProgrammeRecord> {
  const tag = token(MANAGED_TAG);
  const [groups, ...managed] = await Promise.all([
    client.searchAll<Group>('Group', { identifier: `${cohortIdentifier.system}|${cohortIdentifier.value}` }, signal),
    ...MANAGED_TYPES.map((type) => client.searchAll(type, { _tag: tag }, signal)),
  ]);
  return { group: groups[0], patients: fileByPatient(managed.flat(), programmeId) };
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
  const managed = await Promise.all(MANAGED_TYPES.map((type) => client.searchAll(type, params, signal)));
  return fileByPatient(managed.flat(), programmeId).get(patientId);
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
      if (id.n === undefined) {
        episode.review = resource as Task;
      } else {
        (episode.escalations ??= new Map()).set(id.n, resource as Task);
      }
      break;
    case 'what-matters-conversation':
      fileConversation(episode, id.n ?? 1, resource as Task);
      break;
    case 'goal':
      (episode.goals ??= new Map()).set(id.n ?? 1, resource as Goal);
      break;
    case 'referral':
      (episode.referrals ??= new Map()).set(id.n ?? 1, resource as ServiceRequest);
      break;
    case 'wellbeing':
      (episode.wellbeing ??= new Map()).set(id.n ?? 0, resource as Observation);
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

/** A conversation attempt: the latest is the episode's conversation, every attempt is kept by number. */
function fileConversation(episode: Episode, attempt: number, task: Task): void {
  const attempts = (episode.conversationAttempts ??= new Map());
  attempts.set(attempt, task);
  episode.conversation = attempts.get(Math.max(...attempts.keys()));
}
