import type { CarePlan, Task } from '@medplum/fhirtypes';
import type { IsoDate } from '../dates';
import { addDays, londonDay } from '../dates';
import type { TierId } from '../vocabulary';
import { CODE_SYSTEM, PLAN_STATUS_REASON_URL } from '../vocabulary';
import type { PlanStatusReason } from '../vocabulary/care';
import type { Episode, PatientInProgramme } from './record';

/**
 * Where an episode stands, read from the record:
 * - `under-review`: the MDT has not decided (review Task open);
 * - `undecided`: the review was completed without a decision (no business status enrol or decline);
 * - `accepted`: accepted (or completed with business status enrol), not yet enrolled;
 * - `declined`: rejected (or completed with business status decline), or declined by the patient at the conversation;
 * - `enrolled`: the care plan is in force;
 * - `discharged`: a clinician completed or revoked the care plan;
 * - `closed`: the review was cancelled or entered in error (e.g. the patient died while under review).
 */
export const STAGES = [
  'under-review',
  'undecided',
  'accepted',
  'declined',
  'enrolled',
  'discharged',
  'closed',
] as const;
export type Stage = (typeof STAGES)[number];

const OPEN_TASK = new Set(['draft', 'requested', 'received', 'accepted', 'ready', 'in-progress', 'on-hold']);

/** A Task still to be done (cancelled on exit or discharge, never touched once finished). */
export function isOpenTask(task: Task | undefined): task is Task {
  return Boolean(task && OPEN_TASK.has(task.status));
}

export function hasBusinessStatus(task: Task, code: string): boolean {
  return Boolean(task.businessStatus?.coding?.some((c) => c.code === code));
}

export function episodeStage(episode: Episode): Stage {
  const plan = episode.carePlan;
  if (plan) {
    if (plan.status === 'revoked' && closedAs(plan, 'declined-by-patient')) {
      return 'declined'; // the patient declined the conversation
    }
    if (plan.status === 'completed' || plan.status === 'revoked') {
      return 'discharged';
    }
    return plan.status === 'entered-in-error' ? 'closed' : 'enrolled';
  }
  const review = episode.review;
  if (!review) {
    return 'closed';
  }
  if (review.status === 'accepted' || (review.status === 'completed' && hasBusinessStatus(review, 'enrol'))) {
    return 'accepted';
  }
  if (review.status === 'rejected' || (review.status === 'completed' && hasBusinessStatus(review, 'decline'))) {
    return 'declined';
  }
  if (review.status === 'completed') {
    return 'undecided';
  }
  return OPEN_TASK.has(review.status) ? 'under-review' : 'closed';
}

export interface Standing {
  latest?: Episode;
  stage?: Stage;
  /** The episode a new proposal would open. */
  nextEpisode: number;
}

export function standingOf(patient: PatientInProgramme | undefined): Standing {
  const latest = patient?.episodes[patient.episodes.length - 1];
  return latest ? { latest, stage: episodeStage(latest), nextEpisode: latest.number + 1 } : { nextEpisode: 1 };
}

/** An episode is open while the patient is under review, accepted or enrolled: they are in the cohort. */
export function isOpenStage(stage: Stage | undefined): boolean {
  return stage === 'under-review' || stage === 'accepted' || stage === 'enrolled' || stage === 'undecided';
}

export function tierOfEpisode(episode: Episode | undefined): TierId | undefined {
  const code = episode?.review?.reasonCode?.coding?.find((c) => c.system === CODE_SYSTEM.tier)?.code;
  return code === 'first' || code === 'second' ? code : undefined;
}

const TIER_RANK: Record<TierId, number> = { second: 1, first: 2 };

/**
 * After a decline or a discharge the patient is not proposed again for `coolOffDays`, unless their tier has risen
 * since; after it they may re-enter as a new candidate.
 */
export function isCoolingOff(
  standing: Standing,
  qualifyingTier: TierId | undefined,
  asOf: IsoDate,
  coolOffDays: number
): boolean {
  if (!standing.latest || (standing.stage !== 'declined' && standing.stage !== 'discharged')) {
    return false;
  }
  const ended = endedOn(standing.latest, standing.stage);
  if (ended === undefined || asOf >= addDays(ended, coolOffDays)) {
    return false;
  }
  const before = tierOfEpisode(standing.latest);
  return !(qualifyingTier && before && TIER_RANK[qualifyingTier] > TIER_RANK[before]);
}

function endedOn(episode: Episode, stage: 'declined' | 'discharged'): IsoDate | undefined {
  if (stage === 'discharged') {
    const plan = episode.carePlan;
    return londonDay(plan?.period?.end ?? plan?.meta?.lastUpdated);
  }
  const review = episode.review;
  return londonDay(
    episode.carePlan?.period?.end ?? review?.executionPeriod?.end ?? review?.lastModified ?? review?.meta?.lastUpdated
  );
}

/** Whether the connector closed the care plan for this reason (its care-plan-status-reason extension). */
export function closedAs(plan: CarePlan, reason: PlanStatusReason): boolean {
  return Boolean(
    plan.extension?.some(
      (e) =>
        e.url === PLAN_STATUS_REASON_URL &&
        e.valueCodeableConcept?.coding?.some((c) => c.system === CODE_SYSTEM.planStatusReason && c.code === reason)
    )
  );
}
