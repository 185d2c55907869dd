import type { Task } from '@medplum/fhirtypes';
import type { IsoDate } from '../dates';
import { londonDay } from '../dates';
import type { EscalationOutcome, StepDownOutcome } from '../vocabulary';
import type { Episode } from './record';
import { hasBusinessStatus, isOpenTask } from './stage';

/**
 * Where a review a check-in asked for (an escalation) stands, as the MDT left it on the Task (the workspace and a
 * platform alike):
 * - `open`: still to be decided (requested, or deferred to the next meeting: requested with business status
 *   deferred);
 * - completed with business status `reallocate`: keep the plan going with another professional, the Task's owner;
 * - completed with `discharge`: end the patient's time in the programme;
 * - completed with `continue-plan`, or with no business status: keep the plan going as it is;
 * - `closed`: cancelled, rejected or entered in error (the connector cancels one when the episode closes).
 */
export type EscalationState = 'open' | 'closed' | EscalationOutcome;

export function escalationState(task: Task): EscalationState {
  return decidedState(task, ['reallocate', 'discharge']);
}

/**
 * Where an MDT review of an enrolled patient stands: open, closed without a decision, the first of `outcomes` whose
 * business status the completed Task carries, else `continue-plan` (a completion with no outcome keeps the plan).
 */
function decidedState<O extends string>(task: Task, outcomes: readonly O[]): 'open' | 'closed' | 'continue-plan' | O {
  const { status } = task; // read first: isOpenTask narrows the task it rules out to never
  if (isOpenTask(task)) {
    return 'open';
  }
  if (status !== 'completed') {
    return 'closed';
  }
  return outcomes.find((outcome) => hasBusinessStatus(task, outcome)) ?? 'continue-plan';
}

/**
 * Where the step-down review stands (the run writes one when an enrolled patient no longer meets the criteria), as
 * the MDT left it on the Task (the workspace and a platform alike):
 * - `open`: still to be decided (requested, or deferred to the next meeting: requested with business status deferred);
 * - completed with business status `step-down`: step the patient down to community support (the plan is completed);
 * - completed with `continue-plan`, or with no business status: keep them in the programme on the plan (never a
 *   silent removal: only an explicit step-down ends their time in it);
 * - `closed`: cancelled, rejected or entered in error (the connector cancels one when the episode closes).
 */
export type StepDownState = 'open' | 'closed' | StepDownOutcome;

export function stepDownState(task: Task): StepDownState {
  return decidedState(task, ['step-down']);
}

/** The episode's escalation still before the MDT, with the check-in it came from (at most one is open). */
export function openEscalation(episode: Episode | undefined): { n: number; task: Task } | undefined {
  const open = [...(episode?.escalations ?? [])].filter(([, task]) => escalationState(task) === 'open');
  const [n, task] = open.sort(([a], [b]) => a - b)[0] ?? [];
  return n === undefined || !task ? undefined : { n, task };
}

/**
 * The MDT's latest decision on an escalation of the episode. Escalations are opened one at a time, each for a later
 * check-in, so the highest-numbered decided one is the one decided last.
 */
export function latestEscalationDecision(
  episode: Episode
): { n: number; task: Task; outcome: EscalationOutcome } | undefined {
  const decided = [...(episode.escalations ?? [])]
    .map(([n, task]) => ({ n, task, state: escalationState(task) }))
    .filter((e) => e.state !== 'open' && e.state !== 'closed')
    .sort((a, b) => b.n - a.n)[0];
  return decided ? { n: decided.n, task: decided.task, outcome: decided.state as EscalationOutcome } : undefined;
}

/**
 * The professional an escalation moved the patient to: the Task's owner, a Practitioner or PractitionerRole. A team
 * (CareTeam, Group) or an Organization owns no caseload: a move "to" one names nobody, so nothing is moved.
 */
export function reallocatedTo(task: Task): string | undefined {
  const owner = task.owner?.reference;
  return owner && /^(PractitionerRole|Practitioner)\/[^/]+$/.test(owner) ? owner : undefined;
}

/**
 * The MDT's latest decision on the episode's escalations moves the patient (`reallocate`) but the Task names no
 * professional to move them to (a platform completed it leaving the MDT team or an Organization as owner, or none):
 * the run moves nothing, and the escalation stays before the MDT until they name one. By reference and code only.
 */
export function unresolvedReallocation(
  episode: Episode | undefined
): { task: string; reason: 'reallocate-owner-missing' | 'reallocate-owner-not-a-professional' } | undefined {
  const decided = episode && latestEscalationDecision(episode);
  if (decided?.outcome !== 'reallocate' || !decided.task.id || reallocatedTo(decided.task)) {
    return undefined;
  }
  const reason = decided.task.owner?.reference ? 'reallocate-owner-not-a-professional' : 'reallocate-owner-missing';
  return { task: `Task/${decided.task.id}`, reason };
}

/** The day the MDT decided (London): when the Task's work ended, else when it was last changed. */
export function decidedOn(task: Task): IsoDate | undefined {
  return londonDay(task.executionPeriod?.end ?? task.lastModified ?? task.meta?.lastUpdated);
}
