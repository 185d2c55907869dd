import type { ServiceRequest, Task } from '@medplum/fhirtypes';
import type { Decision } from '../criteria';
import type { IsoDate } from '../dates';
import { addDays, londonDay } from '../dates';
import type { TierId } from '../vocabulary';
import { isManaged } from '../vocabulary';
import { decidedOn, latestEscalationDecision, openEscalation, reallocatedTo, stepDownState } from './escalation';
import type { Episode, PatientInProgramme } from './record';
import type { Standing } from './stage';
import { hasBusinessStatus, isOpenTask, standingOf, tierOfEpisode } from './stage';

/** Why a patient leaves the programme other than by discharge: the id of an exclusion the programme marks `exit`. */
export type ExitReason = string;

/** What the programme should do next for one patient. The write-back turns each into resources. */
export type Action =
  | { kind: 'propose'; episode: number; tier: TierId }
  | { kind: 'refresh-proposal'; episode: Episode; tier: TierId }
  | { kind: 'enrol'; episode: Episode; tier: TierId }
  | { kind: 'schedule-check-in'; episode: Episode; n: number; due: IsoDate }
  | { kind: 'retier'; episode: Episode; tier: TierId }
  /** A step-down review: written, or re-opened when the run closed it because the patient qualified again. */
  | { kind: 'step-down'; episode: Episode }
  /** The patient meets the criteria again while their step-down review is open: the review is closed, unneeded. */
  | { kind: 'close-step-down'; episode: Episode }
  | { kind: 'discharge'; episode: Episode }
  | { kind: 'exit'; episode: Episode; reason: ExitReason }
  /** The care team's forms made into the plan: goals, referrals, wellbeing scores, the narrative (src/care). */
  | { kind: 'record-care'; episode: Episode }
  /** The patient declined the conversation: the episode closes. */
  | { kind: 'patient-declined'; episode: Episode; on: IsoDate }
  /** "Not now": a new attempt at the conversation, from the date agreed. */
  | { kind: 'reschedule-conversation'; episode: Episode; attempt: number; due: IsoDate }
  /**
   * A check-in stepped the patient down or discharged them, or the MDT discharged them (an escalation) or stepped them
   * down (a step-down review): the care plan is completed.
   */
  | {
      kind: 'complete-plan';
      episode: Episode;
      reason: 'stepped-down' | 'discharged-at-check-in' | 'discharged-by-mdt';
      on: IsoDate;
      /** The step-down review whose decision this follows, for the Provenance. */
      decidedIn?: Task;
    }
  /** A check-in asked the MDT to review the plan: a new review Task. */
  | { kind: 'escalate'; episode: Episode; n: number }
  /**
   * The MDT, reviewing an escalation, moved the patient to another professional: the care plan's author and the
   * open conversation, check-in and step-down Tasks' owner become `owner`.
   */
  | { kind: 'reallocate'; episode: Episode; owner: string };

export interface TransitionSettings {
  asOf: IsoDate;
  checkInEveryDays: number;
  checkInCount: number;
}

/**
 * The next steps for one patient, from where the record says they stand and what this run found:
 * - no open episode and proposable (qualifies, not cooling off, within capacity): a new episode's review;
 * - under review: keep the proposal's evidence current; if the patient died, deregistered or opted out, close it;
 * - accepted by the MDT: enrol (the run allocates an owner, or waitlists for capacity);
 * - enrolled: discharge once a clinician completes or revokes the care plan; exit on death, deregistration or
 *   opt-out; otherwise check-ins after the conversation, a step-down review when the criteria no longer hold (once
 *   an episode), the MDT's decision on it followed (step down completes the plan), and the flag's tier kept current.
 * A patient this run could not evaluate (`decision` undefined) gets only what the record alone decides (discharge).
 */
export function transitions(
  patient: PatientInProgramme | undefined,
  decision: Decision | undefined,
  proposable: boolean,
  settings: TransitionSettings
): Action[] {
  const standing = standingOf(patient);
  const latest = standing.latest;
  const exit = decision?.exitReason;
  if ((standing.stage === 'discharged' || standing.stage === 'declined') && needsDischarge(latest)) {
    return [{ kind: 'discharge', episode: latest as Episode }];
  }
  switch (standing.stage) {
    case 'discharged': // discharged in full: the patient may re-enter like anyone else
    case undefined:
    case 'declined':
    case 'closed':
    case 'undecided':
      return proposable && mayBeProposed(standing, decision)
        ? [{ kind: 'propose', episode: standing.nextEpisode, tier: decision.tier }]
        : [];
    case 'under-review': {
      const review = latest as Episode;
      if (exit) {
        return [{ kind: 'exit', episode: review, reason: exit }];
      }
      const tier = decision?.tier ?? decision?.qualifyingTier;
      return review.review?.status === 'requested' && decision && tier
        ? [{ kind: 'refresh-proposal', episode: review, tier }]
        : [];
    }
    case 'accepted': {
      const accepted = latest as Episode;
      if (!decision || exit) {
        return []; // never enrol someone who has died, left or opted out, nor someone this run could not read
      }
      return [
        { kind: 'enrol', episode: accepted, tier: decision.qualifyingTier ?? tierOfEpisode(accepted) ?? 'second' },
      ];
    }
    case 'enrolled':
      return enrolledTransitions(latest as Episode, decision, exit, settings);
  }
}

/**
 * Whether the patient would be proposed if the ranking let them: no open episode (nor an undecided one, which is the
 * MDT's to settle) and a tier this run.
 */
export function mayBeProposed(
  standing: Standing,
  decision: Decision | undefined
): decision is Decision & { tier: TierId } {
  const { stage } = standing;
  if ((stage === 'discharged' || stage === 'declined') && needsDischarge(standing.latest)) {
    return false;
  }
  const settled = stage === undefined || stage === 'declined' || stage === 'closed' || stage === 'discharged';
  return settled && Boolean(decision?.tier);
}

function enrolledTransitions(
  episode: Episode,
  decision: Decision | undefined,
  exit: ExitReason | undefined,
  settings: TransitionSettings
): Action[] {
  if (exit) {
    return [{ kind: 'exit', episode, reason: exit }];
  }
  if (episode.forms?.unprocessable.length) {
    return []; // a form the connector cannot use: nothing is done until the care team corrects it
  }
  const actions: Action[] = [];
  if (!episode.flag || !episode.conversation) {
    // Enrolment stopped part-way (a run killed mid-write on a server that does not roll back): finish it.
    actions.push({ kind: 'enrol', episode, tier: decision?.qualifyingTier ?? tierOfEpisode(episode) ?? 'second' });
  }
  const reaction = formReactions(episode, settings);
  actions.push(...reaction.actions);
  if (reaction.closes) {
    return actions;
  }
  const steppedDown = stepDownReaction(episode, settings);
  if (steppedDown) {
    return [...actions, steppedDown];
  }
  const checkIn = nextCheckIn(episode, settings);
  if (checkIn) {
    actions.push({ kind: 'schedule-check-in', episode, ...checkIn });
  }
  if (!decision) {
    return actions;
  }
  // One step-down review an episode: once the MDT has kept the patient in the programme, the run does not ask again
  // while they stay enrolled, even if they qualify again and later drop out again (README, the lifecycle). One the
  // run closed, unneeded, because the patient qualified again before the MDT decided is asked again (re-opened).
  const review = episode.stepDown;
  if (!decision.qualifyingTier && (!review || closedAsQualifyingAgain(review))) {
    actions.push({ kind: 'step-down', episode });
  }
  if (decision.qualifyingTier && isOpenTask(review)) {
    actions.push({ kind: 'close-step-down', episode });
  }
  const flagTier = episode.flag?.category
    ?.flatMap((c) => c.coding ?? [])
    .find((c) => c.code === 'first' || c.code === 'second')?.code;
  if (decision.qualifyingTier && flagTier && decision.qualifyingTier !== flagTier) {
    actions.push({ kind: 'retier', episode, tier: decision.qualifyingTier });
  }
  return actions;
}

/**
 * What the care team's forms ask for: the plan recorded from them; a decline closes the episode, "not now" a new
 * conversation attempt; then what the MDT decided on an escalation (below); at the latest check-in, step down or
 * discharge completes the plan, escalate asks the MDT. `closes`: nothing else is to be scheduled.
 */
function formReactions(episode: Episode, settings: TransitionSettings): { actions: Action[]; closes: boolean } {
  const forms = episode.forms;
  const conversation = forms?.conversation;
  if (!forms || !conversation || episode.conversation?.status !== 'completed') {
    return { actions: [], closes: false };
  }
  if (conversation.participation === 'declined') {
    return { actions: [{ kind: 'patient-declined', episode, on: conversation.completedOn }], closes: true };
  }
  if (conversation.participation === 'not-now') {
    const attempt = Math.max(1, ...(episode.conversationAttempts?.keys() ?? [])) + 1;
    const due = conversation.tryAgainAfter ?? conversation.completedOn;
    return { actions: [{ kind: 'reschedule-conversation', episode, attempt, due }], closes: true };
  }
  const actions: Action[] = [{ kind: 'record-care', episode }];
  const decided = escalationReaction(episode, settings);
  if (decided) {
    actions.push(decided);
    if (decided.kind === 'complete-plan') {
      return { actions, closes: true };
    }
  }
  const latest = [...forms.checkIns.entries()].sort(([a], [b]) => b - a)[0];
  if (latest) {
    const [n, form] = latest;
    if (form.nextStep === 'step-down' || form.nextStep === 'discharge') {
      const reason = form.nextStep === 'step-down' ? 'stepped-down' : 'discharged-at-check-in';
      actions.push({ kind: 'complete-plan', episode, reason, on: form.completedOn });
      return { actions, closes: true };
    }
    // One escalation before the MDT at a time: a check-in that asks while one is open is brought to them once it is
    // decided (seen once more rather than never), unless a later check-in has said otherwise by then.
    if (form.nextStep === 'escalate' && !episode.escalations?.has(n) && !openEscalation(episode)) {
      actions.push({ kind: 'escalate', episode, n });
    }
  }
  return { actions, closes: false };
}

/**
 * What the MDT's latest decision on an escalation asks of the record: a discharge completes the plan (from the day
 * they decided); a move to another professional re-allocates the plan until its author is that professional; to
 * keep the plan going as it is, or a deferral (still open, on the next agenda), asks nothing.
 */
function escalationReaction(episode: Episode, settings: TransitionSettings): Action | undefined {
  const decided = latestEscalationDecision(episode);
  if (decided?.outcome === 'discharge') {
    const on = decidedOn(decided.task) ?? settings.asOf;
    return { kind: 'complete-plan', episode, reason: 'discharged-by-mdt', on };
  }
  const owner = decided?.outcome === 'reallocate' ? reallocatedTo(decided.task) : undefined;
  if (owner && episode.carePlan?.author?.reference !== owner) {
    return { kind: 'reallocate', episode, owner };
  }
  return undefined;
}

/**
 * What the MDT's decision on the step-down review asks of the record: to step the patient down completes the plan
 * (from the day they decided); to keep them in the programme, or a deferral (still open), asks nothing.
 */
function stepDownReaction(episode: Episode, settings: TransitionSettings): Action | undefined {
  const review = episode.stepDown;
  if (!review || stepDownState(review) !== 'step-down') {
    return undefined;
  }
  const on = decidedOn(review) ?? settings.asOf;
  return { kind: 'complete-plan', episode, reason: 'stepped-down', on, decidedIn: review };
}

/**
 * The check-in due next: after the conversation is completed, one at a time, `checkInCount` in all; on the date the
 * professional set at the last conversation or check-in, else the programme's cadence.
 */
function nextCheckIn(episode: Episode, settings: TransitionSettings): { n: number; due: IsoDate } | undefined {
  const conversation = episode.conversation;
  if (conversation?.status !== 'completed') {
    return undefined;
  }
  const checkIns = [...episode.checkIns.entries()].sort(([a], [b]) => a - b);
  if (checkIns.some(([, task]) => isOpenTask(task)) || checkIns.length >= settings.checkInCount) {
    return undefined;
  }
  const n = checkIns.length + 1;
  const previous = n === 1 ? episode.forms?.conversation : episode.forms?.checkIns.get(n - 1);
  if (previous) {
    return { n, due: previous.nextCheckIn ?? addDays(previous.completedOn, settings.checkInEveryDays) };
  }
  const completed =
    londonDay(conversation.executionPeriod?.end ?? conversation.lastModified ?? conversation.meta?.lastUpdated) ??
    settings.asOf;
  return { n, due: addDays(completed, n * settings.checkInEveryDays) };
}

/**
 * A clinician completed or revoked the care plan, and the programme has not yet followed: the Flag is still active,
 * one of its Tasks is still open or a referral the connector wrote for it is still open.
 */
export function needsDischarge(episode: Episode | undefined): boolean {
  const plan = episode?.carePlan;
  if (!episode || !plan || (plan.status !== 'completed' && plan.status !== 'revoked')) {
    return false;
  }
  return episode.flag?.status === 'active' || openTasks(episode).length > 0 || openReferrals(episode).length > 0;
}

/** A request still in force or expected to resume (R4 request-status); completed, revoked, entered-in-error are not. */
const OPEN_REQUEST = new Set<ServiceRequest['status']>(['draft', 'active', 'on-hold']);

export function isOpenRequest(request: ServiceRequest): boolean {
  return OPEN_REQUEST.has(request.status);
}

/**
 * The referrals the connector wrote for the episode's plan (its tag, its business identifier) that are still open:
 * ended with the plan. One the service has completed is theirs and stays as it is.
 */
export function openReferrals(episode: Episode): ServiceRequest[] {
  return [...(episode.referrals?.values() ?? [])].filter((r) => isOpenRequest(r) && isManaged(r));
}

/**
 * The episode's Tasks still to be done (conversation, check-ins, step-down, reviews a check-in asked for; the first
 * review is the MDT's).
 */
export function openTasks(episode: Episode): NonNullable<Episode['conversation']>[] {
  return [
    episode.conversation,
    episode.stepDown,
    ...episode.checkIns.values(),
    ...(episode.escalations?.values() ?? []),
  ].filter(isOpenTask);
}

/** A step-down review the run closed, unneeded, because the patient met the criteria again before the MDT decided. */
export function closedAsQualifyingAgain(task: Task): boolean {
  return task.status === 'cancelled' && hasBusinessStatus(task, 'meets-criteria-again');
}
