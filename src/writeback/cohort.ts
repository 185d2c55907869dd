import type { Group, GroupMember, Task, TaskInput } from '@medplum/fhirtypes';
import type { Decision, Programme } from '../criteria';
import type { CompiledMapping } from '../mappings';
import type { TierId } from '../vocabulary';
import { IDENTIFIER, MANAGED_TAG, TASK_CODE, TIER_CODE } from '../vocabulary';
import type { Desired } from './reconcile';

export const MEMBERS_REFRESHED_URL = 'http://hl7.org/fhir/uv/bulkdata/StructureDefinition/members-refreshed';

export interface CohortContext {
  programme: Programme;
  mapping: CompiledMapping;
  /** Identifies the population the cohort belongs to (e.g. practice-Y99001), part of the Group's identifier. */
  populationKey: string;
  populationTitle: string;
  /** The run's evaluation date. */
  asOf: string;
  /** When the write happens (dateTime), for dates the record keeps (authoredOn, membership periods). */
  now: string;
  reviewOwner?: string;
}

export function cohortIdentifier(ctx: Pick<CohortContext, 'programme' | 'populationKey'>): {
  system: string;
  value: string;
} {
  return { system: IDENTIFIER.cohort, value: `${ctx.programme.id}/${ctx.populationKey}` };
}

export function reviewTaskIdentifier(
  programmeId: string,
  patientId: string,
  episode: number
): { system: string; value: string } {
  return { system: IDENTIFIER.task, value: `${programmeId}/Patient/${patientId}/mdt-review/${episode}` };
}

/**
 * The MDT review proposal for one candidate (step 1 of the guidance: the MDT validates the list before anything
 * reaches a patient). The connector owns the evidence and the reasons; status, owner and notes are the MDT's.
 */
export function reviewTask(ctx: CohortContext, decision: Decision & { tier: TierId }, episode: number): Desired<Task> {
  const identifier = reviewTaskIdentifier(ctx.programme.id, decision.patientId, episode);
  const tierRule = ctx.programme.tiers.find((t) => t.id === decision.tier);
  const features = new Set([
    ...(tierRule?.features ?? []),
    ...ctx.programme.riskFactors.filter((r) => decision.riskFactors.includes(r.id)).flatMap((r) => r.features),
  ]);
  const input: TaskInput[] = [...features].flatMap((feature) =>
    (decision.evidence[feature] ?? []).map((reference) => ({ type: { text: feature }, valueReference: { reference } }))
  );
  const task: Task = {
    resourceType: 'Task',
    meta: { tag: [MANAGED_TAG] },
    identifier: [identifier],
    status: 'requested',
    intent: 'proposal',
    priority: decision.tier === 'first' ? 'urgent' : 'routine',
    code: { coding: [TASK_CODE.mdtReview], text: 'Review proposed High Frequency User' },
    description: describeCandidate(ctx, decision),
    focus: { identifier: cohortIdentifier(ctx), display: `HFU cohort ${ctx.populationTitle}` },
    for: { reference: `Patient/${decision.patientId}` },
    authoredOn: ctx.now,
    reasonCode: { coding: [TIER_CODE[decision.tier]] },
    ...(ctx.reviewOwner ? { owner: { reference: ctx.reviewOwner } } : {}),
    ...(input.length ? { input } : {}),
  };
  return {
    resource: task,
    identifier,
    owned: ['identifier', 'intent', 'code', 'description', 'focus', 'for', 'reasonCode', 'input'],
  };
}

/** "First priority: 3 unplanned admissions, 12 repeat medication items (12 months). Risk factors: ...". */
export function describeCandidate(
  ctx: Pick<CohortContext, 'programme' | 'mapping'>,
  decision: Decision & { tier: TierId }
): string {
  const tier = ctx.programme.tiers.find((t) => t.id === decision.tier);
  const facts = (tier?.features ?? []).map((f) => `${f} ${String(decision.facts[f])}`).join(', ');
  const risks = ctx.programme.riskFactors.filter((r) => decision.riskFactors.includes(r.id)).map((r) => r.title);
  return `${tier?.title ?? decision.tier}: ${facts}.${risks.length ? ` Risk factors: ${risks.join('; ')}.` : ''}`;
}

/**
 * The cohort of one programme in one population, following the Bulk Data cohort-group pattern: `actual`, members
 * with a period, candidates `inactive` until the MDT accepts them, and `members-refreshed` changed only when the
 * membership changes (so an unchanged cohort is not rewritten). A member who leaves keeps their entry with
 * `period.end`; members whose patients this run could not read are kept exactly as they were.
 */
export function cohortGroup(
  ctx: CohortContext,
  existing: Group | undefined,
  current: ReadonlySet<string>,
  unread: ReadonlySet<string>
): Desired<Group> {
  const identifier = cohortIdentifier(ctx);
  const today = ctx.asOf;
  const members: GroupMember[] = [];
  const open = new Set<string>();
  for (const member of existing?.member ?? []) {
    const patientId = member.entity.reference?.replace(/^Patient\//, '') ?? '';
    const isOpen = !member.period?.end;
    if (isOpen && !current.has(patientId) && !unread.has(patientId)) {
      members.push({ ...member, period: { ...member.period, end: today } });
      continue;
    }
    if (isOpen) {
      open.add(patientId);
    }
    members.push(member);
  }
  for (const patientId of [...current].sort()) {
    if (!open.has(patientId)) {
      members.push({ entity: { reference: `Patient/${patientId}` }, period: { start: today }, inactive: true });
    }
  }
  const changed = JSON.stringify(members) !== JSON.stringify(existing?.member ?? []);
  const refreshed =
    changed || !existing ? ctx.now : existing.extension?.find((e) => e.url === MEMBERS_REFRESHED_URL)?.valueDateTime;
  const group: Group = {
    resourceType: 'Group',
    meta: { tag: [MANAGED_TAG] },
    identifier: [identifier],
    active: true,
    type: 'person',
    actual: true,
    name: `HFU cohort: ${ctx.programme.title} - ${ctx.populationTitle}`,
    ...(refreshed ? { extension: [{ url: MEMBERS_REFRESHED_URL, valueDateTime: refreshed }] } : {}),
    ...(members.length ? { member: members } : {}),
  };
  return {
    resource: group,
    identifier,
    owned: ['identifier', 'active', 'type', 'actual', 'name', 'extension', 'member'],
  };
}
