import type {
  CarePlan,
  Goal,
  Identifier,
  Observation,
  QuestionnaireResponse,
  Reference,
  Resource,
  ServiceRequest,
} from '@medplum/fhirtypes';
import type { CompletedForm, Episode } from '../lifecycle';
import { managedIdentifierValue } from '../lifecycle';
import { IDENTIFIER, isManaged, MANAGED_TAG, PROFILE } from '../vocabulary';
import type { GoalProgress, SupportKind } from '../vocabulary/care';
import { REFERRAL_CATEGORY, SUPPORT, SURVEY_CATEGORY, WELLBEING } from '../vocabulary/care';
import type { CheckInAnswers, ConversationAnswers, Wellbeing } from './answers';
import { checkInAnswers, conversationAnswers } from './answers';
import { carePlanNarrative } from './narrative';
import { WELLBEING_QUESTIONS } from './questionnaires';

/** What the care team's forms are made into needs to know. */
export interface CareContext {
  programmeId: string;
  patientId: string;
  /** The patient as the record refers to them (relative, or absolute on the source when the record is kept apart). */
  patient: string;
  /** The programme's check-in cadence, for the review date when the professional set none. */
  checkInEveryDays: number;
}

/** A resource as the connector wants it and the fields it keeps current (the write-back's Desired). */
export interface CareWrite<T extends Resource = Resource> {
  resource: T;
  identifier: { system: string; value: string };
  owned: readonly string[];
}

/** The reference of a resource by business identifier (`system|value`): existing, or created in the same write. */
export type RefOf = (identifierKey: string) => string;

/** Referrals are numbered by their kind's place in the support code system (stable within its version). */
const SUPPORT_KINDS = Object.keys(SUPPORT) as SupportKind[];

/** The achievement codes of R4 Goal (goal-achievement). */
const ACHIEVEMENT = 'http://terminology.hl7.org/CodeSystem/goal-achievement';
const GOAL_STATUS: Record<GoalProgress, { lifecycle: Goal['lifecycleStatus']; achievement?: [string, string] }> = {
  achieved: { lifecycle: 'completed', achievement: ['achieved', 'Achieved'] },
  progressing: { lifecycle: 'active', achievement: ['in-progress', 'In Progress'] },
  'not-started': { lifecycle: 'active', achievement: ['no-progress', 'No Progress'] },
  'no-longer-relevant': { lifecycle: 'cancelled' },
};

/** The resources the episode's forms lead to, and the responses they came from (the Provenance's evidence). */
export interface CareRecord {
  writes: CareWrite[];
  evidence: string[];
}

/**
 * The plan as the care team agreed it: from the conversation, a Goal per goal and a referral (ServiceRequest) per
 * kind of support agreed; from the conversation and each check-in, the ONS4 scores (an Observation); the goals'
 * status from the latest check-in that mentions them; the care plan listing them all, with its narrative.
 */
export function careRecord(ctx: CareContext, episode: Episode, ref: RefOf): CareRecord {
  const plan = episode.carePlan;
  const conversation = episode.forms?.conversation;
  if (!plan || !conversation || conversation.participation !== 'yes') {
    return { writes: [], evidence: [] };
  }
  const agreed = conversationAnswers(conversation.response);
  const checkIns = [...(episode.forms?.checkIns.entries() ?? [])]
    .sort(([a], [b]) => a - b)
    .map(([n, form]) => ({ n, form, answers: checkInAnswers(form.response) }));
  const planRef = ref(
    key(IDENTIFIER.carePlan, managedIdentifierValue(ctx.programmeId, ctx.patientId, 'care-plan', episode.number))
  );

  const goals = agreed.goals.map((goal, i) =>
    goalWrite(ctx, episode, i + 1, goal, conversation, progressOf(episode, i + 1, checkIns))
  );
  const dropped = droppedGoals(episode, agreed.goals.length);
  const referrals = agreed.support.map((kind) => referralWrite(ctx, episode, kind, conversation, planRef));
  const scores = [
    ...(agreed.wellbeing ? [wellbeingWrite(ctx, episode, 0, agreed.wellbeing, conversation)] : []),
    ...checkIns.map(({ n, form, answers }) => wellbeingWrite(ctx, episode, n, answers.wellbeing, form)),
  ];
  const refs = (writes: CareWrite[]) => writes.map((w) => ref(key(w.identifier.system, w.identifier.value)));
  const updated = withCare(plan, refs(goals), refs(referrals), refs(scores), {
    agreed,
    checkIns: checkIns.map(({ form, answers }) => ({ form, answers })),
    goals: goals.map((g) => g.resource),
    checkInEveryDays: ctx.checkInEveryDays,
    conversation,
  });
  return {
    writes: [...goals, ...dropped, ...referrals, ...scores, updated],
    evidence: [conversation, ...checkIns.map((c) => c.form)].map((f) => `QuestionnaireResponse/${f.response.id}`),
  };
}

const key = (system: string, value: string) => `${system}|${value}`;

/** Who a form names (its author, the plan's owner), as a reference of any kind: reference, identifier, display. */
function plainRef(ref: Reference | undefined): { reference?: string; identifier?: Identifier; display?: string } {
  const { reference, identifier, display } = ref ?? {};
  return {
    ...(reference ? { reference } : {}),
    ...(identifier ? { identifier } : {}),
    ...(display ? { display } : {}),
  };
}
const meta = (profile: string) => ({ profile: [profile], tag: [MANAGED_TAG] });
const subject = (ctx: CareContext) => ({ reference: ctx.patient });
const responseRef = (form: CompletedForm): Reference<QuestionnaireResponse> => ({
  reference: `QuestionnaireResponse/${form.response.id}`,
});

/** The latest progress the check-ins give for goal `n` (matched by the Goal's reference), with the day. */
function progressOf(
  episode: Episode,
  n: number,
  checkIns: readonly { form: CompletedForm; answers: CheckInAnswers }[]
): { progress: GoalProgress; on: string } | undefined {
  const existing = episode.goals?.get(n);
  if (!existing?.id) {
    return undefined;
  }
  let latest: { progress: GoalProgress; on: string } | undefined;
  for (const { form, answers } of checkIns) {
    const found = answers.goalProgress.find((g) => g.goal === `Goal/${existing.id}`);
    latest = found ? { progress: found.progress, on: form.completedOn } : latest;
  }
  return latest;
}

/** Goal states that are still to be worked on (R4 goal-status); completed, cancelled, rejected... are settled. */
const OPEN_GOAL = new Set<Goal['lifecycleStatus']>(['proposed', 'planned', 'accepted', 'active', 'on-hold']);

/**
 * Goals the connector wrote from an earlier version of the conversation that the amended form no longer has (goals
 * are numbered by their place on the form, so a shorter list drops the last ones): `cancelled`, still listed on the
 * plan as history. One already achieved stays as it is.
 */
function droppedGoals(episode: Episode, agreed: number): CareWrite<Goal>[] {
  return [...(episode.goals ?? new Map<number, Goal>())]
    .filter(([n, goal]) => n > agreed && OPEN_GOAL.has(goal.lifecycleStatus) && isManagedGoal(goal))
    .sort(([a], [b]) => a - b)
    .map(([, goal]) => {
      const identifier = goal.identifier?.find((i) => i.system === IDENTIFIER.goal);
      return {
        resource: { ...goal, lifecycleStatus: 'cancelled' },
        identifier: { system: IDENTIFIER.goal, value: identifier?.value ?? '' },
        owned: ['lifecycleStatus'],
      };
    });
}

const isManagedGoal = (goal: Goal) =>
  isManaged(goal) && Boolean(goal.identifier?.some((i) => i.system === IDENTIFIER.goal && i.value));

function goalWrite(
  ctx: CareContext,
  episode: Episode,
  n: number,
  goal: ConversationAnswers['goals'][number],
  conversation: CompletedForm,
  progress: { progress: GoalProgress; on: string } | undefined
): CareWrite<Goal> {
  const identifier = {
    system: IDENTIFIER.goal,
    value: managedIdentifierValue(ctx.programmeId, ctx.patientId, 'goal', episode.number, n),
  };
  const status = progress ? GOAL_STATUS[progress.progress] : undefined;
  const resource: Goal = {
    resourceType: 'Goal',
    meta: meta(PROFILE.goal),
    identifier: [identifier],
    lifecycleStatus: status?.lifecycle ?? 'active',
    ...(status?.achievement
      ? {
          achievementStatus: {
            coding: [{ system: ACHIEVEMENT, code: status.achievement[0], display: status.achievement[1] }],
          },
        }
      : {}),
    description: { text: goal.description },
    subject: subject(ctx),
    startDate: conversation.completedOn,
    ...(goal.targetDate ? { target: [{ dueDate: goal.targetDate }] } : {}),
    ...(progress ? { statusDate: progress.on } : {}),
    expressedBy: subject(ctx),
    // Who helps is the care team's word: written once, never overwritten (notes added later are theirs).
    note: [{ text: `Who will help, or do it: ${goal.who}` }],
  };
  const owned = [
    'identifier',
    'lifecycleStatus',
    'achievementStatus',
    'description',
    'subject',
    'startDate',
    'target',
    'statusDate',
    'expressedBy',
  ];
  return { resource, identifier, owned };
}

function referralWrite(
  ctx: CareContext,
  episode: Episode,
  kind: SupportKind,
  conversation: CompletedForm,
  planRef: string
): CareWrite<ServiceRequest> {
  const n = SUPPORT_KINDS.indexOf(kind) + 1;
  const identifier = {
    system: IDENTIFIER.referral,
    value: managedIdentifierValue(ctx.programmeId, ctx.patientId, 'referral', episode.number, n),
  };
  const support = SUPPORT[kind];
  const author = conversation.response.author;
  const resource: ServiceRequest = {
    resourceType: 'ServiceRequest',
    meta: meta(PROFILE.referral),
    identifier: [identifier],
    basedOn: [{ reference: planRef }],
    // The status is set once: the service that takes the referral keeps it up to date.
    status: 'active',
    intent: 'order',
    category: [{ coding: [{ ...REFERRAL_CATEGORY }] }],
    code: { coding: [{ system: support.system, code: support.code, display: support.display }], text: support.display },
    subject: subject(ctx),
    authoredOn: conversation.response.authored ?? conversation.completedOn,
    requester: plainRef(author ?? episode.carePlan?.author),
    supportingInfo: [responseRef(conversation)],
  };
  return {
    resource,
    identifier,
    owned: ['identifier', 'basedOn', 'intent', 'category', 'code', 'subject', 'supportingInfo'],
  };
}

function wellbeingWrite(
  ctx: CareContext,
  episode: Episode,
  n: number,
  scores: Wellbeing,
  form: CompletedForm
): CareWrite<Observation> {
  const identifier = {
    system: IDENTIFIER.wellbeing,
    value: managedIdentifierValue(ctx.programmeId, ctx.patientId, 'wellbeing', episode.number, n),
  };
  const coding = (c: { system: string; code: string; display: string }) => ({
    system: c.system,
    code: c.code,
    display: c.display,
  });
  const author = form.response.author;
  const resource: Observation = {
    resourceType: 'Observation',
    meta: meta(PROFILE.wellbeing),
    identifier: [identifier],
    status: 'final',
    category: [{ coding: [{ ...SURVEY_CATEGORY }] }],
    code: { coding: [coding(WELLBEING.ons4)], text: WELLBEING.ons4.display },
    subject: subject(ctx),
    effectiveDateTime: form.response.authored ?? form.completedOn,
    ...(author ? { performer: [plainRef(author)] } : {}),
    derivedFrom: [responseRef(form)],
    component: WELLBEING_QUESTIONS.map((q) => ({ code: { coding: [coding(WELLBEING[q])] }, valueInteger: scores[q] })),
  };
  const owned = [
    'identifier',
    'status',
    'category',
    'code',
    'subject',
    'effectiveDateTime',
    'performer',
    'derivedFrom',
    'component',
  ];
  return { resource, identifier, owned };
}

/**
 * A list element only when it has entries: FHIR has no empty arrays, so a server drops `[]` and a plan written with one
 * would differ from its read-back on every run.
 */
function listed<K extends 'goal' | 'activity' | 'supportingInfo'>(
  key: K,
  entries: NonNullable<CarePlan[K]>
): Partial<CarePlan> {
  return entries.length ? { [key]: entries } : {};
}

/**
 * The care plan with its goals, the referrals among its activities and the wellbeing scores in its supporting
 * information (what others added kept), and the narrative.
 */
function withCare(
  plan: CarePlan,
  goals: readonly string[],
  referrals: readonly string[],
  scores: readonly string[],
  narrative: Parameters<typeof carePlanNarrative>[1]
): CareWrite<CarePlan> {
  const activityRefs = new Set((plan.activity ?? []).map((a) => a.reference?.reference));
  const supportingRefs = new Set((plan.supportingInfo ?? []).map((s) => s.reference));
  const goalRefs = new Set((plan.goal ?? []).map((g) => g.reference));
  const { goal: _goal, activity: _activity, supportingInfo: _supporting, ...rest } = plan;
  const resource: CarePlan = {
    ...rest,
    ...listed('goal', [
      ...(plan.goal ?? []),
      ...goals.filter((g) => !goalRefs.has(g)).map((reference) => ({ reference })),
    ]),
    ...listed('activity', [
      ...(plan.activity ?? []),
      ...referrals.filter((r) => !activityRefs.has(r)).map((reference) => ({ reference: { reference } })),
    ]),
    ...listed('supportingInfo', [
      ...(plan.supportingInfo ?? []),
      ...scores.filter((s) => !supportingRefs.has(s)).map((reference) => ({ reference })),
    ]),
    text: { status: 'generated', div: carePlanNarrative(plan, narrative) },
  };
  const identifier = plan.identifier?.find((i) => i.system === IDENTIFIER.carePlan);
  return {
    resource,
    identifier: { system: IDENTIFIER.carePlan, value: identifier?.value ?? '' },
    owned: ['goal', 'activity', 'supportingInfo', 'text'],
  };
}
