import type { Capacity, Decision, LotteryDraw, Programme } from '../criteria';
import { applyCapacity, tierLimits } from '../criteria';
import type { ProgrammeRecord } from '../lifecycle';
import { isOpenStage, standingOf, tierOfEpisode } from '../lifecycle';
import type { TierId } from '../vocabulary';
import { earlierWaitlist } from './lottery';

export interface Ranking {
  /** Everyone who meets a tier and is not over capacity (new proposals and patients already in), by patient id. */
  candidates: Decision[];
  /** New proposals this run may make. */
  proposable: ReadonlySet<string>;
  /** Qualifying patients over the tier capacity. */
  waitlisted: Decision[];
  /** The lotteries drawn (`selection: lottery`, a tier with more candidates than places), by tier. */
  draws: LotteryDraw[];
}

/**
 * The population's candidates ranked against the tier capacity left once the open episodes are counted. With
 * `proposes` false (a targeted refresh, or an incremental one under a capacity limit, which cannot rank the
 * unchanged) nobody new is proposed.
 */
export function rankCandidates(
  programme: Programme,
  decisions: Iterable<Decision>,
  record: ProgrammeRecord,
  options: { capacity?: Capacity; population: number; proposes: boolean; asOf: string }
): Ranking {
  const qualifying = [...decisions].filter((d) => d.tier).sort((a, b) => (a.patientId < b.patientId ? -1 : 1));
  const fresh = options.proposes
    ? qualifying.filter((d) => !isOpenStage(standingOf(record.patients.get(d.patientId)).stage))
    : [];
  const limits = remainingCapacity(tierLimits(options.capacity, options.population), record);
  const { capacity, asOf } = options;
  const selection =
    capacity?.selection === 'lottery'
      ? { kind: 'lottery' as const, seed: capacity.seed ?? 0, asOf, waitlist: earlierWaitlist(record) }
      : undefined;
  const { proposed, waitlisted, draws } = applyCapacity(programme, fresh, limits, selection);
  const over = new Set(waitlisted.map((d) => d.patientId));
  return {
    candidates: qualifying.filter((d) => !over.has(d.patientId)),
    proposable: new Set(proposed.map((d) => d.patientId)),
    waitlisted,
    draws,
  };
}

/** Tier capacity left for new proposals: the limit less the patients whose episode of that tier is open. */
function remainingCapacity(
  limits: Partial<Record<TierId, number>>,
  record: ProgrammeRecord
): Partial<Record<TierId, number>> {
  const open: Record<TierId, number> = { first: 0, second: 0 };
  for (const patient of record.patients.values()) {
    const standing = standingOf(patient);
    const tier = tierOfEpisode(standing.latest);
    if (tier && isOpenStage(standing.stage)) {
      open[tier]++;
    }
  }
  const remaining: Partial<Record<TierId, number>> = {};
  for (const tier of ['first', 'second'] as const) {
    const limit = limits[tier];
    if (limit !== undefined) {
      remaining[tier] = Math.max(0, limit - open[tier]);
    }
  }
  return remaining;
}
