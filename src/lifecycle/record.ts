import type { Group, Task } from '@medplum/fhirtypes';
import type { FhirClient } from '../fhir';
import { IDENTIFIER, MANAGED_TAG, TASK_CODE, token } from '../vocabulary';

/** The programme's own resources as the record holds them: the state of the programme lives only there. */
export interface ProgrammeRecord {
  group?: Group;
  /** Review Tasks by patient id, oldest episode first. */
  reviewTasks: Map<string, Task[]>;
}

/** Reads the cohort Group and every review Task of the programme (the connector's own, found by tag and code). */
export async function readProgrammeRecord(
  client: FhirClient,
  programmeId: string,
  cohortIdentifier: { system: string; value: string },
  signal?: AbortSignal
): Promise<ProgrammeRecord> {
  const [groups, tasks] = await Promise.all([
    client.searchAll('Group', { identifier: `${cohortIdentifier.system}|${cohortIdentifier.value}` }, signal),
    client.searchAll<Task>('Task', { _tag: token(MANAGED_TAG), code: token(TASK_CODE.mdtReview) }, signal),
  ]);
  const reviewTasks = new Map<string, Task[]>();
  for (const task of tasks) {
    const parsed = parseReviewIdentifier(task, programmeId);
    if (parsed) {
      const list = reviewTasks.get(parsed.patientId) ?? [];
      list.push(task);
      reviewTasks.set(parsed.patientId, list);
    }
  }
  for (const list of reviewTasks.values()) {
    list.sort((a, b) => (episodeOf(a, programmeId) ?? 0) - (episodeOf(b, programmeId) ?? 0));
  }
  return { group: groups[0] as Group | undefined, reviewTasks };
}

/** `nhse-hfu-2022/Patient/<id>/mdt-review/<episode>` → patient id and episode. */
export function parseReviewIdentifier(
  task: Task,
  programmeId: string
): { patientId: string; episode: number } | undefined {
  for (const identifier of task.identifier ?? []) {
    if (identifier.system !== IDENTIFIER.task) {
      continue;
    }
    const match = new RegExp(`^${escapeRegExp(programmeId)}/Patient/([^/]+)/mdt-review/(\\d+)$`).exec(
      identifier.value ?? ''
    );
    if (match) {
      return { patientId: match[1] as string, episode: Number(match[2]) };
    }
  }
  return undefined;
}

export function episodeOf(task: Task, programmeId: string): number | undefined {
  return parseReviewIdentifier(task, programmeId)?.episode;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
