import { randomUUID } from 'node:crypto';
import type {
  CarePlan,
  CodeableConcept,
  Device,
  Flag,
  Reference,
  Resource,
  ServiceRequest,
  Task,
  TaskInput,
} from '@medplum/fhirtypes';
import type { Decision, LotteryDraw, Programme } from '../criteria';
import type { SourceReferences } from '../fhir';
import { addressedEvidence, candidateSummary, featureTitle } from '../criteria';
import { addDays } from '../dates';
import type { ManagedKind } from '../lifecycle';
import { managedIdentifierValue } from '../lifecycle';
import type { RiskType, TierId } from '../vocabulary';
import type { PlanStatusReason } from '../vocabulary/care';
import { PLAN_STATUS_REASON } from '../vocabulary/care';
import {
  BUSINESS_STATUS,
  CONNECTOR_DEVICE,
  HFU_CODE,
  IDENTIFIER,
  MANAGED_IDENTIFIER_SYSTEMS,
  MANAGED_TAG,
  PLAN_STATUS_REASON_URL,
  PROFILE,
  QUESTIONNAIRE,
  RISK_CODE,
  SDC_TASK,
  TASK_CODE,
  TASK_INPUT,
  TIER_CODE,
} from '../vocabulary';
import { lotteryInputs, lotteryInputsOf } from './lottery';
import type { Desired } from './reconcile';
import { identifierKey } from './reconcile';

/** What every resource the connector writes about one patient needs to know. */
export interface PatientContext {
  programme: Programme;
  patientId: string;
  /** The cohort's business identifier, which review Tasks point at (focus). */
  cohort: { system: string; value: string };
  cohortTitle: string;
  asOf: string;
  now: string;
  reviewOwner?: string;
  /** How the patient and the evidence, on the source, are referred to (absolute when the record is elsewhere). */
  source: SourceReferences;
}

const TASK_PROFILE = { profile: [PROFILE.task], tag: [MANAGED_TAG] };

/**
 * References among one patient's resources: an existing resource by its id, one this write creates by a `urn:uuid`
 * the transaction resolves. Keys are business identifiers.
 */
export class ReferenceBook {
  private readonly planned = new Map<string, string>();

  constructor(private readonly existing: ReadonlyMap<string, Resource>) {}

  /** `Type/id` of an existing resource, else the `urn:uuid` the transaction will give the new one. */
  ref(key: string): string {
    const found = this.existing.get(key);
    if (found) {
      return `${found.resourceType}/${found.id}`;
    }
    let urn = this.planned.get(key);
    if (!urn) {
      urn = `urn:uuid:${randomUUID()}`;
      this.planned.set(key, urn);
    }
    return urn;
  }

  /** The `urn:uuid` of a resource this write creates, if any. */
  fullUrlFor(key: string): string | undefined {
    return this.planned.get(key);
  }
}

export function managedIdentifier(
  ctx: PatientContext,
  kind: ManagedKind,
  episode: number,
  n?: number
): { system: string; value: string } {
  const system = kind === 'flag' ? IDENTIFIER.flag : kind === 'care-plan' ? IDENTIFIER.carePlan : IDENTIFIER.task;
  return { system, value: managedIdentifierValue(ctx.programme.id, ctx.patientId, kind, episode, n) };
}

export function keyOf(ctx: PatientContext, kind: ManagedKind, episode: number, n?: number): string {
  return identifierKey(managedIdentifier(ctx, kind, episode, n));
}

const concept = (coding: { system: string; code: string; display: string }, text?: string): CodeableConcept => ({
  coding: [coding],
  ...(text ? { text } : {}),
});

/** The programme's flag code as a coding (its definition belongs to the CodeSystem, not the Flag). */
const flagCode = ({ flag }: Programme) => ({ system: flag.system, code: flag.code, display: flag.display });

/** The features behind a decision: those its tier reads and those of its risk factors. */
function decisiveFeatures(ctx: Pick<PatientContext, 'programme'>, decision: Decision, tier: TierId): string[] {
  const tierRule = ctx.programme.tiers.find((t) => t.id === tier);
  return [
    ...new Set([
      ...(tierRule?.features ?? []),
      ...ctx.programme.riskFactors.filter((r) => decision.riskFactors.includes(r.id)).flatMap((r) => r.features),
    ]),
  ];
}

export function evidenceReferences(ctx: Pick<PatientContext, 'programme'>, decision: Decision, tier: TierId): string[] {
  return [...new Set(decisiveFeatures(ctx, decision, tier).flatMap((f) => decision.evidence[f] ?? []))];
}

/**
 * "First priority: 3 unplanned admissions and 12 repeat medicines in the 12 months to 1 December 2026. Risk factors:
 * Age over 75; Carer."
 */
export function describeCandidate(
  ctx: Pick<PatientContext, 'programme' | 'asOf'>,
  decision: Decision,
  tier: TierId
): string {
  return candidateSummary(ctx.programme, decision, ctx.asOf, tier);
}

/** "1 December 2026", "23 November 2026": the NHS style dates candidateSummary writes. */
const LONG_DATE =
  /\b\d{1,2} (?:January|February|March|April|May|June|July|August|September|October|November|December) \d{4}\b/g;

/**
 * The review's description: the current one while it gives the same figures (only the date it was found on would
 * differ), so an unchanged proposal is not rewritten every day; otherwise the figures as of this evaluation.
 */
function reviewDescription(ctx: PatientContext, decision: Decision, tier: TierId, current?: Task): string {
  const description = describeCandidate(ctx, decision, tier);
  const undated = (text: string) => text.replace(LONG_DATE, '');
  return current?.description && undated(current.description) === undated(description)
    ? current.description
    : description;
}

/**
 * The MDT review proposal (the MDT validates the list before anything reaches a patient): the evidence as input
 * references, the tier, the dominant risk and, when the workforce has room, a proposed owner. The MDT owns its
 * status, business status, owner and notes; the connector keeps only its own fields current.
 */
export function reviewTask(
  ctx: PatientContext,
  decision: Decision,
  episode: number,
  tier: TierId,
  risk: RiskType,
  proposedOwner?: string,
  /** The review Task the record holds, when refreshing it. */
  current?: Task,
  /** The lottery this proposal was drawn in, if any (a refresh keeps the one on record). */
  draw?: LotteryDraw
): Desired<Task> {
  const identifier = managedIdentifier(ctx, 'mdt-review', episode);
  const input: TaskInput[] = [
    {
      type: concept(TASK_INPUT.dominantRisk, TASK_INPUT.dominantRisk.display),
      valueCodeableConcept: concept(RISK_CODE[risk]),
    },
    ...(proposedOwner
      ? [
          {
            type: concept(TASK_INPUT.proposedOwner, TASK_INPUT.proposedOwner.display),
            valueReference: { reference: proposedOwner },
          },
        ]
      : []),
    ...decisiveFeatures(ctx, decision, tier).flatMap((feature) =>
      (decision.evidence[feature] ?? []).map((reference) => ({
        type: concept(TASK_INPUT.evidence, featureTitle(ctx.programme, feature)),
        valueReference: { reference },
      }))
    ),
    ...(draw ? lotteryInputs(draw) : lotteryInputsOf(current)),
  ];
  const task: Task = {
    resourceType: 'Task',
    meta: TASK_PROFILE,
    identifier: [identifier],
    status: 'requested',
    businessStatus: concept(BUSINESS_STATUS.proposed),
    intent: 'proposal',
    priority: tier === 'first' ? 'urgent' : 'routine',
    code: concept(TASK_CODE.mdtReview, `Review a proposed candidate for the ${ctx.programme.shortTitle}`),
    description: reviewDescription(ctx, decision, tier, current),
    focus: { identifier: ctx.cohort, display: `${ctx.programme.shortTitle} cohort: ${ctx.cohortTitle}` },
    for: { reference: ctx.source.patient(ctx.patientId) },
    authoredOn: ctx.now,
    requester: connector(),
    reasonCode: concept(TIER_CODE[tier]),
    ...(ctx.reviewOwner ? { owner: { reference: ctx.reviewOwner } } : {}),
    input,
  };
  return {
    resource: task,
    identifier,
    owned: ['identifier', 'intent', 'code', 'description', 'focus', 'for', 'reasonCode', 'input', 'priority'],
  };
}

/** The Flag GP systems show: the programme's flag code, patient-flag category, tier, period, author (the connector). */
export function enrolmentFlag(ctx: PatientContext, episode: number, tier: TierId): Desired<Flag> {
  const identifier = managedIdentifier(ctx, 'flag', episode);
  const flag: Flag = {
    resourceType: 'Flag',
    meta: { profile: [PROFILE.flag], tag: [MANAGED_TAG] },
    identifier: [identifier],
    status: 'active',
    category: [concept(HFU_CODE.flagCategory), concept(TIER_CODE[tier])],
    code: concept(flagCode(ctx.programme), ctx.programme.flag.display),
    subject: { reference: ctx.source.patient(ctx.patientId) },
    period: { start: ctx.asOf },
    author: connector(),
  };
  return {
    resource: flag,
    identifier,
    owned: ['identifier', 'status', 'category', 'code', 'subject', 'period', 'author'],
  };
}

/**
 * The personalised care and support plan: the conditions it addresses (the programme says whose evidence), the evidence
 * as supporting information, the allocated owner as author (the connector when the MDT has not allocated one), and
 * as activities the programme's Tasks.
 */
export function carePlan(
  ctx: PatientContext,
  episode: number,
  decision: Decision,
  tier: TierId,
  owner: string | undefined,
  activityRefs: readonly string[]
): Desired<CarePlan> {
  const identifier = managedIdentifier(ctx, 'care-plan', episode);
  const conditions = addressedEvidence(ctx.programme, decision);
  const supporting = evidenceReferences(ctx, decision, tier).filter((r) => !conditions.includes(r));
  const plan: CarePlan = {
    resourceType: 'CarePlan',
    meta: { profile: [PROFILE.carePlan], tag: [MANAGED_TAG] },
    identifier: [identifier],
    status: 'active',
    intent: 'plan',
    category: [concept(HFU_CODE.carePlanCategory)],
    title: `Personalised care and support plan (${ctx.programme.shortTitle})`,
    description: describeCandidate(ctx, decision, tier),
    subject: { reference: ctx.source.patient(ctx.patientId) },
    period: { start: ctx.asOf },
    created: ctx.now,
    author: owner ? { reference: owner } : connector(),
    ...(owner?.startsWith('CareTeam/') ? { careTeam: [{ reference: owner }] } : {}),
    ...(conditions.length ? { addresses: conditions.map((reference) => ({ reference })) } : {}),
    ...(supporting.length ? { supportingInfo: supporting.map((reference) => ({ reference })) } : {}),
    activity: activityRefs.map((reference) => ({ reference: { reference } })),
  };
  return {
    resource: plan,
    identifier,
    owned: ['identifier', 'intent', 'category', 'subject', 'addresses', 'supportingInfo'],
  };
}

/**
 * The form a conversation or check-in asks for (SDC's task-based pattern): the Questionnaire's canonical, coded
 * with SDC's `questionnaire` and the project's own task input code.
 */
function formInput(form: { url: string; version: string }): TaskInput {
  return {
    type: {
      coding: [{ ...SDC_TASK.questionnaire }, { ...TASK_INPUT.questionnaire }],
      text: TASK_INPUT.questionnaire.display,
    },
    valueCanonical: `${form.url}|${form.version}`,
  };
}

/** An order-intent Task of the care plan: the What Matters to Me conversation, a check-in. */
function carePlanTask(
  ctx: PatientContext,
  kind: 'what-matters-conversation' | 'check-in' | 'step-down-review',
  episode: number,
  n: number | undefined,
  owner: string | undefined,
  carePlanRef: string,
  fields: Partial<Task>
): Desired<Task> {
  const identifier = managedIdentifier(ctx, kind, episode, n);
  const code =
    kind === 'what-matters-conversation'
      ? TASK_CODE.conversation
      : kind === 'check-in'
        ? TASK_CODE.checkIn
        : TASK_CODE.stepDown;
  const task: Task = {
    resourceType: 'Task',
    meta: TASK_PROFILE,
    identifier: [identifier],
    basedOn: [{ reference: carePlanRef }],
    status: 'requested',
    intent: kind === 'step-down-review' ? 'proposal' : 'order',
    code: concept(code),
    for: { reference: ctx.source.patient(ctx.patientId) },
    authoredOn: ctx.now,
    requester: connector(),
    ...(owner ? { owner: { reference: owner } } : {}),
    ...fields,
  };
  return { resource: task, identifier, owned: ['identifier', 'intent', 'code', 'for', 'basedOn', 'input'] };
}

export function conversationTask(
  ctx: PatientContext,
  episode: number,
  owner: string | undefined,
  carePlanRef: string,
  withinDays: number,
  /** A later attempt (the patient said "not now"): its number and the day it may start. */
  again?: { attempt: number; from: string }
): Desired<Task> {
  const start = again?.from ?? ctx.asOf;
  return carePlanTask(ctx, 'what-matters-conversation', episode, again?.attempt, owner, carePlanRef, {
    description:
      "Invite the patient to a 'What Matters to Me' conversation about what support would help them. Participation is " +
      'voluntary: explain why they are being contacted and what is available.' +
      (again ? ' They said "not now" last time and agreed to be asked again from this date.' : ''),
    restriction: { period: { start, end: addDays(start, withinDays) } },
    input: [formInput(QUESTIONNAIRE.conversation)],
  });
}

export function checkInTask(
  ctx: PatientContext,
  episode: number,
  n: number,
  due: string,
  owner: string | undefined,
  carePlanRef: string,
  everyDays: number
): Desired<Task> {
  return carePlanTask(ctx, 'check-in', episode, n, owner, carePlanRef, {
    description: `Check-in ${n}: how is the patient getting on with the changes and support agreed; any problems with access or suitability?`,
    businessStatus: concept(BUSINESS_STATUS.scheduled),
    restriction: { period: { start: due, end: addDays(due, everyDays) } },
    input: [formInput(QUESTIONNAIRE.checkIn)],
  });
}

export function stepDownTask(
  ctx: PatientContext,
  episode: number,
  owner: string | undefined,
  carePlanRef: string
): Desired<Task> {
  return carePlanTask(ctx, 'step-down-review', episode, undefined, owner, carePlanRef, {
    description:
      'The patient no longer meets the programme criteria. Review whether to step them down to community support or ' +
      'keep them in the programme; after a step down they can re-enter the list if their circumstances change.',
  });
}

// --- changes to resources the connector wrote earlier -------------------------------------------------------------

/**
 * A step-down review no longer needed: the patient meets the criteria again before the MDT decided. Cancelled, the
 * business status and the reason saying so; the MDT's notes and owner stay as they are.
 */
export function closedStepDown(task: Task): Desired<Task> {
  return {
    resource: {
      ...task,
      status: 'cancelled',
      businessStatus: concept(BUSINESS_STATUS['meets-criteria-again']),
      statusReason: { text: 'No longer needed: the patient meets the programme criteria again' },
    },
    identifier: requiredIdentifier(task),
    owned: ['status', 'businessStatus', 'statusReason'],
  };
}

/** A step-down review the run closed as unneeded, asked again: the patient no longer meets the criteria again. */
export function reopenedStepDown(task: Task): Desired<Task> {
  const { statusReason: _reason, businessStatus: _closed, ...rest } = task;
  return {
    resource: { ...rest, status: 'requested' }, // as first written: no business status until the MDT decides
    identifier: requiredIdentifier(task),
    owned: ['status', 'businessStatus', 'statusReason'],
  };
}

/** A Task the programme no longer needs: cancelled, with why. */
export function cancelled(task: Task, why: string): Desired<Task> {
  return {
    resource: { ...task, status: 'cancelled', statusReason: { text: why } },
    identifier: requiredIdentifier(task),
    owned: ['status', 'statusReason'],
  };
}

/**
 * A referral the connector wrote, ended with its care plan: `revoked` (R4 request-status: terminated before the known
 * full completion of the intended actions). Only the status is the connector's here; who took the referral keeps the
 * rest, and R4 ServiceRequest has no status reason (the Provenance of the write says why).
 */
export function revokedReferral(referral: ServiceRequest): Desired<ServiceRequest> {
  return {
    resource: { ...referral, status: 'revoked' },
    identifier: requiredIdentifier(referral),
    owned: ['status'],
  };
}

export function inactiveFlag(flag: Flag, endDate: string): Desired<Flag> {
  return {
    resource: { ...flag, status: 'inactive', period: { ...flag.period, end: endDate } },
    identifier: requiredIdentifier(flag),
    owned: ['status', 'period'],
  };
}

export function retieredFlag(flag: Flag, tier: TierId): Desired<Flag> {
  const category = (flag.category ?? []).filter((c) => !c.coding?.some((x) => x.system === TIER_CODE.first.system));
  return {
    resource: { ...flag, category: [...category, concept(TIER_CODE[tier])] },
    identifier: requiredIdentifier(flag),
    owned: ['category'],
  };
}

/**
 * The care plan closed on the care team's word (declined, stepped down, discharged at a check-in): its status, end
 * date and why (the care-plan-status-reason extension; other extensions kept).
 */
export function closedCarePlan(
  plan: CarePlan,
  status: 'completed' | 'revoked',
  endDate: string,
  reason: PlanStatusReason
): Desired<CarePlan> {
  const coding = PLAN_STATUS_REASON[reason];
  const others = (plan.extension ?? []).filter((e) => e.url !== PLAN_STATUS_REASON_URL);
  const extension = [
    ...others,
    {
      url: PLAN_STATUS_REASON_URL,
      valueCodeableConcept: concept({ system: coding.system, code: coding.code, display: coding.display }),
    },
  ];
  return {
    resource: { ...plan, status, period: { ...plan.period, end: endDate }, extension },
    identifier: requiredIdentifier(plan),
    owned: ['status', 'period', 'extension'],
  };
}

/**
 * A check-in asked the MDT to review the plan: a new review Task of the same episode (numbered by the check-in),
 * owned by the MDT, on their next worklist.
 */
export function escalationTask(ctx: PatientContext, episode: number, checkIn: number, tier: TierId): Desired<Task> {
  const identifier = managedIdentifier(ctx, 'mdt-review', episode, checkIn);
  const task: Task = {
    resourceType: 'Task',
    meta: TASK_PROFILE,
    identifier: [identifier],
    status: 'requested',
    businessStatus: concept(BUSINESS_STATUS.proposed),
    intent: 'proposal',
    priority: 'urgent',
    code: concept(TASK_CODE.mdtReview, `Review the care plan: escalated at check-in ${checkIn}`),
    description: `At check-in ${checkIn} the care team asked the MDT to review this patient's care plan: their needs have grown.`,
    focus: { identifier: ctx.cohort, display: `${ctx.programme.shortTitle} cohort: ${ctx.cohortTitle}` },
    for: { reference: ctx.source.patient(ctx.patientId) },
    authoredOn: ctx.now,
    requester: connector(),
    reasonCode: concept(TIER_CODE[tier]),
    ...(ctx.reviewOwner ? { owner: { reference: ctx.reviewOwner } } : {}),
  };
  return {
    resource: task,
    identifier,
    owned: ['identifier', 'intent', 'code', 'description', 'focus', 'for', 'reasonCode'],
  };
}

/**
 * The MDT moved the patient to another professional: the care plan's author (who owns the patient's care; caseloads
 * count by it) becomes them. Only the author changes.
 */
export function reallocatedCarePlan(plan: CarePlan, owner: string): Desired<CarePlan> {
  return {
    resource: { ...plan, author: { reference: owner } },
    identifier: requiredIdentifier(plan),
    owned: ['author'],
  };
}

/** An open Task of the care plan handed to the professional the MDT moved the patient to. */
export function reallocatedTask(task: Task, owner: string): Desired<Task> {
  return {
    resource: { ...task, owner: { reference: owner } },
    identifier: requiredIdentifier(task),
    owned: ['owner'],
  };
}

export function revokedCarePlan(plan: CarePlan, endDate: string): Desired<CarePlan> {
  return {
    resource: { ...plan, status: 'revoked', period: { ...plan.period, end: endDate } },
    identifier: requiredIdentifier(plan),
    owned: ['status', 'period'],
  };
}

/** The care plan with activities added for new Tasks (activities someone else added are kept). */
export function withActivities(plan: CarePlan, refs: readonly string[]): Desired<CarePlan> {
  const present = new Set((plan.activity ?? []).map((a) => a.reference?.reference));
  const added = refs.filter((r) => !present.has(r)).map((reference) => ({ reference: { reference } }));
  return {
    resource: { ...plan, activity: [...(plan.activity ?? []), ...added] },
    identifier: requiredIdentifier(plan),
    owned: ['activity'],
  };
}

/** The business identifier the connector gave one of its resources. */
function requiredIdentifier(resource: { identifier?: { system?: string; value?: string }[] }): {
  system: string;
  value: string;
} {
  const identifier = resource.identifier?.find((i) => i.system && MANAGED_IDENTIFIER_SYSTEMS.has(i.system) && i.value);
  if (!identifier) {
    throw new Error('not a resource the connector wrote: no business identifier of its own');
  }
  return { system: identifier.system as string, value: identifier.value as string };
}

/** The connector as author or agent: a logical reference to its Device. */
export function connector(): Reference<Device> {
  return {
    type: CONNECTOR_DEVICE.type,
    identifier: { ...CONNECTOR_DEVICE.identifier },
    display: CONNECTOR_DEVICE.display,
  };
}
