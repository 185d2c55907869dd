import type { CarePlan, Resource } from '@medplum/fhirtypes';
import type { Allocation } from '../allocation';
import type { Decision, LotteryDraw } from '../criteria';
import { exclusionTitle } from '../criteria';
import type { Action, CompletedForm, Episode, PatientInProgramme } from '../lifecycle';
import {
  isOpenRequest,
  isOpenTask,
  latestEscalationDecision,
  managedIdentifierValue,
  openReferrals,
  openTasks,
  tierOfEpisode,
} from '../lifecycle';
import { careRecord } from '../care';
import type { PlanStatusReason } from '../vocabulary/care';
import type { RiskType, TierId } from '../vocabulary';
import type { Desired } from './reconcile';
import { isManaged } from '../vocabulary';
import { identifierKey, mergeOwned } from './reconcile';
import type { PatientContext } from './resources';
import {
  cancelled,
  carePlan,
  closedCarePlan,
  escalationTask,
  checkInTask,
  conversationTask,
  enrolmentFlag,
  evidenceReferences,
  inactiveFlag,
  keyOf,
  reallocatedCarePlan,
  reallocatedTask,
  closedStepDown,
  reopenedStepDown,
  ReferenceBook,
  retieredFlag,
  reviewTask,
  revokedCarePlan,
  revokedReferral,
  stepDownTask,
  withActivities,
} from './resources';

export interface PatientSettings {
  conversationWithinDays: number;
  checkInEveryDays: number;
}

export interface PatientChanges {
  patientId: string;
  desired: Desired[];
  book: ReferenceBook;
  /** The action kinds these changes carry out, for the Provenance and the report. */
  events: string[];
  /** Why (the exit reason), when there is one. */
  reasons: string[];
  /** The evidence behind the changes, for the Provenance. */
  evidence: string[];
  /** An accepted patient left waiting because nobody in the workforce has room. */
  waitlisted?: RiskType;
}

export interface PatientInputs {
  ctx: PatientContext;
  patient: PatientInProgramme | undefined;
  decision: Decision | undefined;
  actions: readonly Action[];
  risk: RiskType;
  /** Who would take the patient now (shown on new proposals; not a reservation). */
  proposedOwner?: string;
  /** Allocation for an enrolment (decided by the run, which tracks caseloads). */
  allocate: (episode: Episode) => Allocation;
  settings: PatientSettings;
  /** The lottery a new proposal was drawn in, recorded on its review Task. */
  draw?: LotteryDraw;
}

/** The resources one patient's actions need, with references resolved among them. */
export function patientChanges(inputs: PatientInputs): PatientChanges {
  const { ctx, patient, decision, actions } = inputs;
  const existing = new Map<string, Resource>();
  for (const resource of resourcesOf(patient)) {
    for (const identifier of (resource as { identifier?: { system?: string; value?: string }[] }).identifier ?? []) {
      existing.set(identifierKey(identifier), resource);
    }
  }
  const book = new ReferenceBook(existing);
  const changes: PatientChanges = {
    patientId: ctx.patientId,
    desired: [],
    book,
    events: [],
    reasons: [],
    evidence: [],
  };
  for (const action of withReallocation(actions)) {
    const desired = desiredFor(inputs, action, book, changes);
    if (desired.length) {
      changes.desired.push(...desired);
      changes.events.push(action.kind);
    }
  }
  const unfinished = (patient?.episodes ?? []).flatMap(unfinishedEnrolment);
  if (unfinished.length) {
    changes.desired.push(...unfinished);
    changes.events.push(...(changes.events.includes('enrol') ? [] : ['enrol']));
  }
  changes.desired = coalesce(withClosedReferrals(ctx, actions, existing, changes.desired));
  if (decision && changes.desired.length) {
    const tier = decision.tier ?? decision.qualifyingTier;
    changes.evidence = [...(tier ? evidenceReferences(ctx, decision, tier) : []), ...changes.evidence];
  }
  return changes;
}

function desiredFor(inputs: PatientInputs, action: Action, book: ReferenceBook, changes: PatientChanges): Desired[] {
  const { ctx, decision, settings } = inputs;
  switch (action.kind) {
    case 'propose':
      return decision
        ? [
            reviewTask(
              ctx,
              decision,
              action.episode,
              action.tier,
              inputs.risk,
              inputs.proposedOwner,
              undefined,
              inputs.draw
            ),
          ]
        : [];
    case 'refresh-proposal':
      return decision
        ? [
            reviewTask(
              ctx,
              decision,
              action.episode.number,
              action.tier,
              inputs.risk,
              inputs.proposedOwner,
              action.episode.review
            ),
          ]
        : [];
    case 'enrol':
      return enrolment(inputs, action.episode, action.tier, book, changes);
    case 'schedule-check-in': {
      const plan = action.episode.carePlan as CarePlan;
      const key = keyOf(ctx, 'check-in', action.episode.number, action.n);
      const task = checkInTask(
        ctx,
        action.episode.number,
        action.n,
        action.due,
        ownerOf(plan),
        book.ref(carePlanKey(ctx, action.episode)),
        settings.checkInEveryDays
      );
      return [task, withActivities(plan, [book.ref(key)])];
    }
    case 'step-down':
      if (action.episode.stepDown) {
        return [reopenedStepDown(action.episode.stepDown)]; // closed as unneeded earlier: asked again
      }
      return [
        stepDownTask(
          ctx,
          action.episode.number,
          ownerOf(action.episode.carePlan),
          book.ref(carePlanKey(ctx, action.episode))
        ),
      ];
    case 'close-step-down':
      changes.reasons.push('meets-criteria-again');
      changes.evidence.push(...(action.episode.stepDown?.id ? [`Task/${action.episode.stepDown.id}`] : []));
      return action.episode.stepDown ? [closedStepDown(action.episode.stepDown)] : [];
    case 'retier':
      return action.episode.flag ? [retieredFlag(action.episode.flag, action.tier)] : [];
    case 'discharge': {
      const end = action.episode.carePlan?.period?.end?.slice(0, 10) ?? ctx.asOf;
      return [
        ...(action.episode.flag?.status === 'active' ? [inactiveFlag(action.episode.flag, end)] : []),
        ...openTasks(action.episode).map((t) =>
          cancelled(t, `The care plan was completed: discharged from the ${ctx.programme.shortTitle}`)
        ),
        ...openReferrals(action.episode).map(revokedReferral),
      ];
    }
    case 'exit': {
      changes.reasons.push(action.reason);
      const why = `Left the ${ctx.programme.shortTitle}: ${exclusionTitle(ctx.programme, action.reason)}`;
      const { episode } = action;
      const desired: Desired[] = openTasks(episode).map((t) => cancelled(t, why));
      if (!episode.carePlan && isOpenTask(episode.review)) {
        desired.push(cancelled(episode.review, why));
      }
      if (episode.flag?.status === 'active') {
        desired.push(inactiveFlag(episode.flag, ctx.asOf));
      }
      if (episode.carePlan && episode.carePlan.status !== 'revoked' && episode.carePlan.status !== 'completed') {
        desired.push(revokedCarePlan(episode.carePlan, ctx.asOf));
      }
      desired.push(...openReferrals(episode).map(revokedReferral));
      return desired;
    }
    case 'record-care': {
      const care = careRecord(
        {
          programmeId: ctx.programme.id,
          patientId: ctx.patientId,
          patient: ctx.source.patient(ctx.patientId),
          checkInEveryDays: settings.checkInEveryDays,
        },
        action.episode,
        (key) => book.ref(key)
      );
      changes.evidence.push(...care.evidence);
      return care.writes;
    }
    case 'patient-declined': {
      changes.reasons.push('declined-by-patient');
      changes.evidence.push(...formEvidence(action.episode.forms?.conversation));
      return closeEpisode(ctx, action.episode, 'revoked', action.on, 'declined-by-patient', 'The patient declined');
    }
    case 'complete-plan': {
      changes.reasons.push(action.reason);
      if (action.decidedIn?.id) {
        changes.evidence.push(`Task/${action.decidedIn.id}`);
      } else if (action.reason === 'discharged-by-mdt') {
        changes.evidence.push(...escalationEvidence(action.episode));
      } else {
        changes.evidence.push(...formEvidence(latestCheckIn(action.episode)));
      }
      return closeEpisode(ctx, action.episode, 'completed', action.on, action.reason, COMPLETED_WHY[action.reason]);
    }
    case 'reallocate': {
      changes.evidence.push(...escalationEvidence(action.episode));
      const { episode, owner } = action;
      const tasks = [episode.conversation, episode.stepDown, ...episode.checkIns.values()].filter(isOpenTask);
      // The Tasks first: a run stopped in between leaves the plan's author unchanged, so the next run finishes.
      return [
        ...tasks.filter((t) => t.owner?.reference !== owner).map((t) => reallocatedTask(t, owner)),
        reallocatedCarePlan(episode.carePlan as CarePlan, owner),
      ];
    }
    case 'reschedule-conversation': {
      const { episode, attempt, due } = action;
      changes.evidence.push(...formEvidence(episode.forms?.conversation));
      const plan = episode.carePlan as CarePlan;
      const task = conversationTask(
        ctx,
        episode.number,
        ownerOf(plan),
        book.ref(carePlanKey(ctx, episode)),
        settings.conversationWithinDays,
        { attempt, from: due }
      );
      return [task, withActivities(plan, [book.ref(keyOf(ctx, 'what-matters-conversation', episode.number, attempt))])];
    }
    case 'escalate':
      changes.evidence.push(...formEvidence(action.episode.forms?.checkIns.get(action.n)));
      return [escalationTask(ctx, action.episode.number, action.n, tierOfEpisode(action.episode) ?? 'second')];
  }
}

const COMPLETED_WHY: Record<Extract<Action, { kind: 'complete-plan' }>['reason'], string> = {
  'stepped-down': 'Stepped down to community support',
  'discharged-at-check-in': 'Discharged at a check-in',
  'discharged-by-mdt': 'Discharged by the MDT',
};

/**
 * The actions with any re-allocation seen by the plan recorded from the forms in the same run (its narrative names
 * the owner), so that the next run finds the plan as this one leaves it.
 */
function withReallocation(actions: readonly Action[]): readonly Action[] {
  const moved = actions.find((a) => a.kind === 'reallocate');
  if (!moved?.episode.carePlan) {
    return actions;
  }
  const plan = { ...moved.episode.carePlan, author: { reference: moved.owner } };
  return actions.map((a) =>
    a.kind === 'record-care' && a.episode === moved.episode ? { ...a, episode: { ...a.episode, carePlan: plan } } : a
  );
}

/** The MDT's latest decision on an escalation, behind a change, for the Provenance. */
function escalationEvidence(episode: Episode): string[] {
  const task = latestEscalationDecision(episode)?.task;
  return task?.id ? [`Task/${task.id}`] : [];
}

/** The care team's form behind a change, for the Provenance. */
function formEvidence(form: CompletedForm | undefined): string[] {
  return form?.response.id ? [`QuestionnaireResponse/${form.response.id}`] : [];
}

function latestCheckIn(episode: Episode): CompletedForm | undefined {
  const numbers = [...(episode.forms?.checkIns.keys() ?? [])];
  return numbers.length ? episode.forms?.checkIns.get(Math.max(...numbers)) : undefined;
}

/**
 * The episode closed on the care team's word: the care plan completed or revoked with the reason, the Flag
 * inactive from that day, the open Tasks cancelled; the Group member's end follows from the stage.
 */
function closeEpisode(
  ctx: PatientContext,
  episode: Episode,
  status: 'completed' | 'revoked',
  on: string,
  reason: PlanStatusReason,
  why: string
): Desired[] {
  const plan = episode.carePlan as CarePlan;
  return [
    closedCarePlan(plan, status, on, reason),
    ...(episode.flag?.status === 'active' ? [inactiveFlag(episode.flag, on)] : []),
    ...openTasks(episode).map((t) => cancelled(t, `${why}: the ${ctx.programme.shortTitle} episode is closed`)),
    ...openReferrals(episode).map(revokedReferral),
  ];
}

type ClosingAction = Extract<Action, { kind: 'discharge' | 'exit' | 'patient-declined' | 'complete-plan' }>;
const CLOSING: ReadonlySet<Action['kind']> = new Set<ClosingAction['kind']>([
  'discharge',
  'exit',
  'patient-declined',
  'complete-plan',
]);

/**
 * Referrals first written in the run that closes their episode (the conversation and the check-in that ends the plan
 * read together) are created revoked, as a later run would leave them: the plan they were for has ended.
 */
function withClosedReferrals(
  ctx: PatientContext,
  actions: readonly Action[],
  existing: ReadonlyMap<string, Resource>,
  desired: Desired[]
): Desired[] {
  const prefixes = actions
    .filter((a): a is ClosingAction => CLOSING.has(a.kind))
    .map((a) => `${managedIdentifierValue(ctx.programme.id, ctx.patientId, 'referral', a.episode.number)}/`);
  if (!prefixes.length) {
    return desired;
  }
  // Only creates: an existing referral's status is the service's (an open one is revoked by the closing action).
  return desired.map((want) =>
    want.resource.resourceType === 'ServiceRequest' &&
    !existing.has(identifierKey(want.identifier)) &&
    prefixes.some((p) => want.identifier.value.startsWith(p)) &&
    isOpenRequest(want.resource)
      ? {
          ...want,
          resource: { ...want.resource, status: 'revoked' },
          owned: [...new Set([...want.owned, 'status'])],
        }
      : want
  );
}

/**
 * Enrolment, or the part of it still missing (a run stopped part-way converges here): the Flag, the care plan with
 * the conversation as its first activity, and the What Matters to Me conversation owned by the allocated owner.
 */
function enrolment(
  inputs: PatientInputs,
  episode: Episode,
  tier: TierId,
  book: ReferenceBook,
  changes: PatientChanges
): Desired[] {
  const { ctx, decision, settings } = inputs;
  const allocation = episode.carePlan
    ? { kind: 'mdt' as const, owner: ownerOf(episode.carePlan) ?? '' }
    : inputs.allocate(episode);
  if (allocation.kind === 'waitlisted') {
    changes.waitlisted = allocation.risk;
    return [];
  }
  const owner = allocation.kind === 'unassigned' ? undefined : allocation.owner || undefined;
  const planRef = book.ref(carePlanKey(ctx, episode));
  const conversationRef = book.ref(keyOf(ctx, 'what-matters-conversation', episode.number));
  const desired: Desired[] = [];
  if (!episode.flag) {
    desired.push(enrolmentFlag(ctx, episode.number, tier));
  }
  if (!episode.carePlan && decision) {
    desired.push(carePlan(ctx, episode.number, decision, tier, owner, [conversationRef]));
  } else if (episode.carePlan && !episode.carePlan.activity?.some((a) => a.reference?.reference === conversationRef)) {
    desired.push(withActivities(episode.carePlan, [conversationRef]));
  }
  if (!episode.conversation) {
    desired.push(conversationTask(ctx, episode.number, owner, planRef, settings.conversationWithinDays));
  }
  return desired;
}

/**
 * An enrolment written without a transaction is a care plan created without its conversation, the conversation
 * Task, then the care plan completed with it (they refer to each other): a run stopped in between leaves the care
 * plan without the activity, which the next run adds.
 */
function unfinishedEnrolment(episode: Episode): Desired[] {
  const { carePlan: plan, conversation } = episode;
  if (!plan || !conversation || !isManaged(plan) || !isManaged(conversation)) {
    return [];
  }
  if (plan.status === 'revoked' || plan.status === 'completed') {
    return [];
  }
  const ref = `Task/${conversation.id}`;
  return plan.activity?.some((a) => a.reference?.reference === ref) ? [] : [withActivities(plan, [ref])];
}

/**
 * One desired state per resource: two actions may change the same one (finishing an enrolment adds the conversation
 * to the care plan, a check-in adds itself), and a transaction must not write a resource twice.
 */
function coalesce(desired: readonly Desired[]): Desired[] {
  const byKey = new Map<string, Desired>();
  for (const want of desired) {
    const key = `${want.resource.resourceType}:${identifierKey(want.identifier)}`;
    const earlier = byKey.get(key);
    byKey.set(key, earlier ? combined(earlier, want) : want);
  }
  return [...byKey.values()];
}

/** The later change applied over the earlier; care plan activities accumulate (each action adds its own). */
function combined(earlier: Desired, later: Desired): Desired {
  const resource = mergeOwned(earlier.resource, later);
  if (resource.resourceType === 'CarePlan') {
    const activity = [...((earlier.resource as CarePlan).activity ?? [])];
    for (const a of (later.resource as CarePlan).activity ?? []) {
      const ref = a.reference?.reference;
      if (!ref || !activity.some((b) => b.reference?.reference === ref)) {
        activity.push(a);
      }
    }
    resource.activity = activity;
  }
  return { resource, identifier: later.identifier, owned: [...new Set([...earlier.owned, ...later.owned])] };
}

function carePlanKey(ctx: PatientContext, episode: Episode): string {
  return keyOf(ctx, 'care-plan', episode.number);
}

/** The care plan's owner when it is a person or team (not the connector itself). */
function ownerOf(plan: CarePlan | undefined): string | undefined {
  const ref = plan?.author?.reference;
  return ref && /^(PractitionerRole|Practitioner|CareTeam)\//.test(ref) ? ref : undefined;
}

function resourcesOf(patient: PatientInProgramme | undefined): Resource[] {
  return (patient?.episodes ?? []).flatMap((e) =>
    [
      e.review,
      e.flag,
      e.carePlan,
      e.conversation,
      e.stepDown,
      ...e.checkIns.values(),
      ...(e.conversationAttempts?.values() ?? []),
      ...(e.escalations?.values() ?? []),
      ...(e.goals?.values() ?? []),
      ...(e.referrals?.values() ?? []),
      ...(e.wellbeing?.values() ?? []),
    ].filter((r): r is NonNullable<typeof r> => Boolean(r))
  );
}

export { resourcesOf };
