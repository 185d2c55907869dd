import { createHash } from 'node:crypto';
import type { Annotation, Organization, Provenance, Reference, Task } from '@medplum/fhirtypes';
import type { Caseloads, WorkforceMember } from '../allocation';
import type { Programme } from '../criteria';
import type { Episode, Stage } from '../lifecycle';
import { episodeStage, escalationState, openEscalation, stepDownState, unresolvedReallocation } from '../lifecycle';
import type { RiskType } from '../vocabulary';
import { BUSINESS_STATUS, CANONICAL_BASE, DECLINE_REASON, MANAGED_TAG, PROFILE, ROLES } from '../vocabulary';
import { connector } from '../writeback';
import { InvalidInput } from './errors';
import type { OwnerLabels } from './owners';
import type { Decision, DecisionResult, Labelled, WorkspaceUser } from './types';
import { DECISION_KINDS } from './types';

/** The decline reasons the MDT chooses from (hfu-decline-reason). */
export const DECLINE_REASONS: Labelled[] = Object.values(DECLINE_REASON).map((c) => ({
  code: c.code,
  label: c.display,
}));

const NOTE_MAX = 2000;

/** What an accept (or a move) may allocate to, and what is checked. */
export interface AllocationRules {
  workforce: readonly WorkforceMember[];
  caseloads: Caseloads;
  risk: RiskType;
  labels: OwnerLabels;
  /** Who owns the patient's care now: a move is to someone else. */
  currentOwner?: string;
}

/**
 * What the MDT decides on for a patient: the episode's review; once the patient is enrolled, an escalation the care
 * team asked for (first, as on the worklist), else the step-down review the run wrote; when none is open, the one
 * decided last, so that a form sent after someone else decided it meets its new version. `open`: it is still to be
 * decided.
 */
export interface DecisionTarget {
  kind: 'review' | 'escalation' | 'step-down';
  task: Task;
  open: boolean;
  /** An escalation's check-in. */
  checkIn?: number;
}

export function decisionTarget(latest: Episode | undefined, stage: Stage | undefined): DecisionTarget | undefined {
  const enrolled = stage === 'enrolled';
  const escalations = [...(latest?.escalations ?? [])].sort(([a], [b]) => b - a);
  const escalation = openEscalation(latest) ?? (escalations[0] && { n: escalations[0][0], task: escalations[0][1] });
  const stepDown = latest?.stepDown;
  // A move the run could not follow (no professional named) is the MDT's to decide again.
  const unresolved = unresolvedReallocation(latest)?.task;
  const asEscalation = escalation && {
    kind: 'escalation' as const,
    task: escalation.task,
    open:
      enrolled && (escalationState(escalation.task) === 'open' || unresolved === `Task/${escalation.task.id ?? ''}`),
    checkIn: escalation.n,
  };
  const asStepDown = stepDown && {
    kind: 'step-down' as const,
    task: stepDown,
    open: enrolled && stepDownState(stepDown) === 'open',
  };
  const enrolledReviews: DecisionTarget[] = [asEscalation, asStepDown].filter((t) => t !== undefined);
  if (enrolledReviews.length) {
    return enrolledReviews.find((t) => t.open) ?? lastChanged(enrolledReviews);
  }
  const review = latest?.review;
  return review ? { kind: 'review', task: review, open: stage === 'under-review' || stage === 'undecided' } : undefined;
}

/** The review changed last: the one a form sent after someone else decided was about. */
function lastChanged(targets: DecisionTarget[]): DecisionTarget | undefined {
  const changed = (t: DecisionTarget) => t.task.lastModified ?? t.task.meta?.lastUpdated ?? '';
  return [...targets].sort((a, b) => changed(b).localeCompare(changed(a)))[0];
}

/**
 * Checks the decision as given for the kind of review: an owner of the right kind with room (for an accept), anyone
 * with room but the current owner (for a move), a published decline reason, a short note.
 */
export function checkDecision(
  decision: Decision,
  rules: AllocationRules,
  target: DecisionTarget['kind'] = 'review'
): void {
  const kinds: readonly string[] = DECISION_KINDS[target];
  if (!decision || !kinds.includes(decision.kind)) {
    throw new InvalidInput('kind', `${kinds.slice(0, -1).join(', ')} or ${kinds[kinds.length - 1]}`);
  }
  if (decision.note !== undefined && (typeof decision.note !== 'string' || decision.note.length > NOTE_MAX)) {
    throw new InvalidInput('note', `at most ${NOTE_MAX} characters`);
  }
  if (decision.kind === 'move') {
    checkMove(decision.owner, rules);
  }
  if (decision.kind === 'decline' && !DECLINE_REASONS.some((r) => r.code === decision.reason)) {
    throw new InvalidInput('reason', `one of ${DECLINE_REASONS.map((r) => r.code).join(', ')}`);
  }
  if (decision.kind === 'accept') {
    const { workforce, caseloads, risk } = rules;
    if (decision.owner === undefined && !ownerRequired(rules)) {
      return; // nobody of the right kind has room (or no workforce): accepted, the patient waits for capacity
    }
    const member = workforce.find((m) => m.reference === decision.owner);
    if (!member) {
      throw new InvalidInput('owner', 'choose a member of the workforce');
    }
    if (ROLES[member.role].risk !== risk) {
      throw new InvalidInput('owner', `not a role for ${risk} risk`);
    }
    if (caseloads.count(member.reference) >= member.caseload) {
      throw new InvalidInput('owner', 'has no room in their caseload');
    }
  }
}

/** A move is to a member of the workforce, of any role, with room, who is not the patient's owner already. */
function checkMove(owner: string, rules: AllocationRules): void {
  const member = rules.workforce.find((m) => m.reference === owner);
  if (!member) {
    throw new InvalidInput('owner', 'choose a member of the workforce');
  }
  if (member.reference === rules.currentOwner) {
    throw new InvalidInput('owner', 'is their owner already');
  }
  if (rules.caseloads.count(member.reference) >= member.caseload) {
    throw new InvalidInput('owner', 'has no room in their caseload');
  }
}

/**
 * An accept names its owner while someone of the right kind has room; when nobody has (or there is no workforce) it
 * may name none, and the run enrols the patient with the first who has room (README, Allocation).
 */
export function ownerRequired(rules: Pick<AllocationRules, 'workforce' | 'caseloads' | 'risk'>): boolean {
  return rules.workforce.some(
    (m) => ROLES[m.role].risk === rules.risk && rules.caseloads.count(m.reference) < m.caseload
  );
}

const concept = (c: { system: string; code: string; display: string }) => ({ coding: [{ ...c }], text: c.display });

/**
 * The review Task with the MDT's decision: status, business status, the coded reason, the owner, a note by the user,
 * lastModified (and executionPeriod.end once decided). Only the MDT's fields change; the connector's (description,
 * input, reasonCode...) stay as the run wrote them. What a run reads back from each, README "The lifecycle in the
 * record": accepted → enrolment with this owner; rejected → not proposed within the cool-off; requested with
 * business status deferred → still under review, on the next worklist as deferred. On an escalation: completed with
 * continue-plan → nothing more; with reallocate and the new owner → the plan re-allocated to them; with discharge →
 * the plan completed. On a step-down review: completed with step-down → the plan completed (stepped down);
 * with continue-plan → nothing more.
 */
export function decidedTask(
  task: Task,
  decision: Decision,
  user: WorkspaceUser,
  now: string,
  labels: OwnerLabels
): Task {
  const { statusReason: _reason, ...rest } = task;
  const note: Annotation = { authorReference: user.agent, time: now, text: noteText(decision, labels) };
  const base: Task = { ...rest, note: [...(task.note ?? []), note], lastModified: now };
  switch (decision.kind) {
    case 'accept':
      return {
        ...base,
        status: 'accepted',
        businessStatus: concept(BUSINESS_STATUS.enrol),
        ...(decision.owner ? { owner: { reference: decision.owner } } : {}),
        executionPeriod: { ...task.executionPeriod, end: now },
      };
    case 'decline': {
      const reason = Object.values(DECLINE_REASON).find(
        (r) => r.code === decision.reason
      ) as (typeof DECLINE_REASON)['other'];
      return {
        ...base,
        status: 'rejected',
        businessStatus: concept(BUSINESS_STATUS.decline),
        statusReason: concept(reason),
        executionPeriod: { ...task.executionPeriod, end: now },
      };
    }
    case 'defer':
      return { ...base, status: 'requested', businessStatus: concept(BUSINESS_STATUS.deferred) };
    // On an escalation: completed, the business status saying what the run is to do (README, the lifecycle).
    case 'continue':
    case 'discharge':
    case 'move':
    case 'step-down': {
      const outcome = DECIDED_OUTCOME[decision.kind];
      return {
        ...base,
        status: 'completed',
        businessStatus: concept(BUSINESS_STATUS[outcome]),
        ...(decision.kind === 'move' ? { owner: { reference: decision.owner } } : {}),
        executionPeriod: { ...task.executionPeriod, end: now },
      };
    }
  }
}

const DECIDED_OUTCOME = {
  continue: 'continue-plan',
  move: 'reallocate',
  discharge: 'discharge',
  'step-down': 'step-down',
} as const;

/** The note's text: the decision in words (its first word says which, `decisionsOf` reads it), then the user's. */
function noteText(decision: Decision, labels: OwnerLabels): string {
  const own = decision.note?.trim();
  const said = saidOf(decision, labels);
  return own ? `${said} ${own}` : said;
}

function saidOf(decision: Decision, labels: OwnerLabels): string {
  switch (decision.kind) {
    case 'accept':
      return `Accepted for the programme${decision.owner ? `; allocated to ${labels.label(decision.owner)}` : ''}.`;
    case 'decline':
      return `Declined: ${DECLINE_REASONS.find((r) => r.code === decision.reason)?.label ?? decision.reason}.`;
    case 'defer':
      return 'Deferred to the next meeting.';
    case 'continue':
      return 'Kept on the plan with the current owner.';
    case 'move':
      return `Moved to ${labels.label(decision.owner)}, who now owns the care plan.`;
    case 'discharge':
      return 'Discharged from the programme by the MDT.';
    case 'step-down':
      return 'Stepped down to community support by the MDT.';
  }
}

/**
 * The Provenance of a decision: the user as author on behalf of the organisation, the connector as the system that
 * recorded it; the new version of the review as target; the reason (a decline's) and the activity. Its id derives
 * from that version, so it is written once however often the request is repeated.
 */
export function decisionProvenance(
  programme: Programme,
  task: Task,
  decision: Decision,
  user: WorkspaceUser,
  onBehalfOf: Reference<Organization> | undefined,
  now: string
): Provenance {
  const target = `Task/${task.id}/_history/${task.meta?.versionId}`;
  const reason =
    decision.kind === 'decline' ? Object.values(DECLINE_REASON).find((r) => r.code === decision.reason) : undefined;
  return {
    resourceType: 'Provenance',
    id: `hfu-${createHash('sha256').update(`decision\n${target}`).digest('hex').slice(0, 40)}`,
    meta: { profile: [PROFILE.provenance], tag: [MANAGED_TAG] },
    target: [{ reference: target }],
    occurredDateTime: now,
    recorded: now,
    policy: [`${CANONICAL_BASE}/programme/${programme.id}|${programme.version}`],
    activity: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-DataOperation', code: 'UPDATE', display: 'revise' }],
      text: `MDT decision: ${decision.kind}`,
    },
    ...(reason ? { reason: [concept(reason)] } : {}),
    agent: [
      {
        type: participant('author', 'Author'),
        who: user.agent,
        ...(onBehalfOf ? { onBehalfOf } : {}),
      },
      { type: participant('enterer', 'Enterer'), who: connector() },
    ],
  };
}

function participant(code: string, display: string) {
  return { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type', code, display }] };
}

/**
 * "This review was changed by <who> at <when>": the author and time of the latest note when it is the latest change
 * the MDT recorded (a decision here writes both), else when it was last modified or updated, by whoever it was.
 */
export function conflictOf(
  current: Task,
  kind: DecisionTarget['kind'] = 'review'
): Extract<DecisionResult, { kind: 'conflict' }> {
  const note = current.note?.[current.note.length - 1];
  const noted = note?.time && current.lastModified && note.time >= current.lastModified ? note : undefined;
  const by = noted?.authorReference?.display ?? noted?.authorString;
  const at = noted?.time ?? current.lastModified ?? current.meta?.lastUpdated;
  return {
    kind: 'conflict',
    ...(by ? { by } : {}),
    ...(at ? { at } : {}),
    current: {
      status: current.status,
      ...(current.businessStatus?.coding?.[0]?.code ? { businessStatus: current.businessStatus.coding[0].code } : {}),
      ...(current.owner?.reference ? { owner: current.owner.reference } : {}),
      ...(current.meta?.versionId ? { version: current.meta.versionId } : {}),
      stage: conflictStage(current, kind),
    },
  };
}

/** Where the patient stands as the review that changed under the user says: an enrolled patient's closes the plan. */
function conflictStage(current: Task, kind: DecisionTarget['kind']): Stage {
  switch (kind) {
    case 'escalation':
      return escalationState(current) === 'discharge' ? 'discharged' : 'enrolled';
    case 'step-down':
      return stepDownState(current) === 'step-down' ? 'discharged' : 'enrolled';
    case 'review':
      return episodeStage({ number: 0, review: current, checkIns: new Map() });
  }
}
