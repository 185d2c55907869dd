import { createHash } from 'node:crypto';
import type { Annotation, Organization, Provenance, Reference, Task } from '@medplum/fhirtypes';
import type { Caseloads, WorkforceMember } from '../allocation';
import type { Programme } from '../criteria';
import { episodeStage } from '../lifecycle';
import type { RiskType } from '../vocabulary';
import { BUSINESS_STATUS, CANONICAL_BASE, DECLINE_REASON, MANAGED_TAG, PROFILE, ROLES } from '../vocabulary';
import { connector } from '../writeback';
import { InvalidInput } from './errors';
import type { OwnerLabels } from './owners';
import type { Decision, DecisionResult, Labelled, WorkspaceUser } from './types';

/** The decline reasons the MDT chooses from (hfu-decline-reason). */
export const DECLINE_REASONS: Labelled[] = Object.values(DECLINE_REASON).map((c) => ({
  code: c.code,
  label: c.display,
}));

const NOTE_MAX = 2000;

/** What an accept may allocate to, and what is checked. */
export interface AllocationRules {
  workforce: readonly WorkforceMember[];
  caseloads: Caseloads;
  risk: RiskType;
  labels: OwnerLabels;
}

/** Checks the decision as given: an owner of the right kind with room, a published decline reason, a short note. */
export function checkDecision(decision: Decision, rules: AllocationRules): void {
  if (!decision || !['accept', 'decline', 'defer'].includes(decision.kind)) {
    throw new InvalidInput('kind', 'accept, decline or defer');
  }
  if (decision.note !== undefined && (typeof decision.note !== 'string' || decision.note.length > NOTE_MAX)) {
    throw new InvalidInput('note', `at most ${NOTE_MAX} characters`);
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
 * business status deferred → still under review, on the next worklist as deferred.
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
  }
}

/** The note's text: the decision in words, then what the user wrote. */
function noteText(decision: Decision, labels: OwnerLabels): string {
  const said =
    decision.kind === 'accept'
      ? `Accepted for the programme${decision.owner ? `; allocated to ${labels.label(decision.owner)}` : ''}.`
      : decision.kind === 'decline'
        ? `Declined: ${DECLINE_REASONS.find((r) => r.code === decision.reason)?.label ?? decision.reason}.`
        : 'Deferred to the next meeting.';
  const own = decision.note?.trim();
  return own ? `${said} ${own}` : said;
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
export function conflictOf(current: Task): Extract<DecisionResult, { kind: 'conflict' }> {
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
      stage: episodeStage({ number: 0, review: current, checkIns: new Map() }),
    },
  };
}
