import type { Task } from '@medplum/fhirtypes';
import type { ProgrammeState } from '../criteria';
import type { IsoDate } from '../dates';
import { addDays, londonDay } from '../dates';
import type { TierId } from '../vocabulary';
import { TIER_CODE } from '../vocabulary';
import { episodeOf } from './record';

const TIER_RANK: Record<TierId, number> = { second: 1, first: 2 };

export interface PatientProgrammeState extends ProgrammeState {
  /** The review Task of the current episode, if one is open or under way. */
  currentReview?: Task;
  /** The episode number a new proposal would take. */
  nextEpisode: number;
}

/**
 * Where one patient stands, from their review Tasks: a decline within the cool-off keeps them from being proposed
 * again unless their tier has risen since; a declined episode past its cool-off lets a new one begin.
 */
export function patientProgrammeState(
  tasks: readonly Task[] | undefined,
  programmeId: string,
  qualifyingTier: TierId | undefined,
  asOf: IsoDate,
  coolOffDays: number
): PatientProgrammeState {
  const latest = tasks?.[tasks.length - 1];
  const nextEpisode = (latest ? (episodeOf(latest, programmeId) ?? 0) : 0) + 1;
  if (!latest) {
    return { coolingOff: false, nextEpisode };
  }
  if (!isDeclined(latest)) {
    return { coolingOff: false, currentReview: latest, nextEpisode: nextEpisode - 1 };
  }
  const declinedOn = londonDay(latest.lastModified ?? latest.executionPeriod?.end ?? latest.authoredOn);
  const withinCoolOff = declinedOn !== undefined && asOf < addDays(declinedOn, coolOffDays);
  const declinedTier = tierOf(latest);
  const tierRose =
    qualifyingTier !== undefined && declinedTier !== undefined && TIER_RANK[qualifyingTier] > TIER_RANK[declinedTier];
  return { coolingOff: withinCoolOff && !tierRose, nextEpisode };
}

/** The MDT declined: the Task was rejected, or completed with business status `decline`. */
export function isDeclined(task: Task): boolean {
  return task.status === 'rejected' || (task.status === 'completed' && hasBusinessStatus(task, 'decline'));
}

export function hasBusinessStatus(task: Task, code: string): boolean {
  return Boolean(task.businessStatus?.coding?.some((c) => c.code === code));
}

function tierOf(task: Task): TierId | undefined {
  const code = task.reasonCode?.coding?.find((c) => c.system === TIER_CODE.first.system)?.code;
  return code === 'first' || code === 'second' ? code : undefined;
}
