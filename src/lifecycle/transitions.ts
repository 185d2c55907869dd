import type { Decision } from '../criteria';
import type { IsoDate } from '../dates';
import { addDays, londonDay } from '../dates';
import type { TierId } from '../vocabulary';
import type { Episode, PatientInProgramme } from './record';
import type { Standing } from './stage';
import { isOpenTask, standingOf, tierOfEpisode } from './stage';

/** Why a patient leaves the programme other than by discharge: the id of an exclusion the programme marks `exit`. */
export type ExitReason = string;

/** What the programme should do next for one patient. The write-back turns each into resources. */
export type Action =
  | { kind: 'propose'; episode: number; tier: TierId }
  | { kind: 'refresh-proposal'; episode: Episode; tier: TierId }
  | { kind: 'enrol'; episode: Episode; tier: TierId }
  | { kind: 'schedule-check-in'; episode: Episode; n: number; due: IsoDate }
  | { kind: 'retier'; episode: Episode; tier: TierId }
  | { kind: 'step-down'; episode: Episode }
  | { kind: 'discharge'; episode: Episode }
  | { kind: 'exit'; episode: Episode; reason: ExitReason };

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
 *   opt-out; otherwise check-ins after the conversation, a step-down review when the criteria no longer hold, and
 *   the flag's tier kept current.
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
  if (standing.stage === 'discharged' && needsDischarge(latest)) {
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
  if (stage === 'discharged' && needsDischarge(standing.latest)) {
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
  const actions: Action[] = [];
  if (!episode.flag || !episode.conversation) {
    // Enrolment stopped part-way (a run killed mid-write on a server that does not roll back): finish it.
    actions.push({ kind: 'enrol', episode, tier: decision?.qualifyingTier ?? tierOfEpisode(episode) ?? 'second' });
  }
  const checkIn = nextCheckIn(episode, settings);
  if (checkIn) {
    actions.push({ kind: 'schedule-check-in', episode, ...checkIn });
  }
  if (!decision) {
    return actions;
  }
  if (!decision.qualifyingTier && !episode.stepDown) {
    actions.push({ kind: 'step-down', episode });
  }
  const flagTier = episode.flag?.category
    ?.flatMap((c) => c.coding ?? [])
    .find((c) => c.code === 'first' || c.code === 'second')?.code;
  if (decision.qualifyingTier && flagTier && decision.qualifyingTier !== flagTier) {
    actions.push({ kind: 'retier', episode, tier: decision.qualifyingTier });
  }
  return actions;
}

/** The check-in due next: after the conversation is completed, one at a time, `checkInCount` in all. */
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
  const completed =
    londonDay(conversation.executionPeriod?.end ?? conversation.lastModified ?? conversation.meta?.lastUpdated) ??
    settings.asOf;
  return { n, due: addDays(completed, n * settings.checkInEveryDays) };
}

/**
 * A clinician completed or revoked the care plan, and the programme has not yet followed: the Flag is still active
 * or one of its Tasks is still open.
 */
export function needsDischarge(episode: Episode | undefined): boolean {
  const plan = episode?.carePlan;
  if (!episode || !plan || (plan.status !== 'completed' && plan.status !== 'revoked')) {
    return false;
  }
  return episode.flag?.status === 'active' || openTasks(episode).length > 0;
}

/** The episode's Tasks still to be done (conversation, check-ins, step-down; the review is the MDT's). */
export function openTasks(episode: Episode): NonNullable<Episode['conversation']>[] {
  return [episode.conversation, episode.stepDown, ...episode.checkIns.values()].filter(isOpenTask);
}
