import { createHash } from 'node:crypto';
import type { TierId } from '../vocabulary';
import type { Decision } from './decide';
import type { Programme } from './load';

/**
 * Candidates a run may propose per tier: absolute, or per 1,000 patients in the population evaluated; and how the
 * places go when a tier has more candidates than places: by severity (`rank`) or by a seeded draw (`lottery`).
 */
export type Capacity = ({ first?: number; second?: number } | { perThousand: { first?: number; second?: number } }) & {
  selection?: 'rank' | 'lottery';
  /** The lottery's seed, chosen and recorded before the first draw. */
  seed?: number;
};

/**
 * One tier's lottery in one run: every candidate it drew from, in the order drawn; the first `places` were
 * proposed, the rest wait in that order. Anyone can re-run it from the seed, the draw id and the candidates.
 */
export interface LotteryDraw {
  tier: TierId;
  seed: number;
  /** Names the draw (`<evaluation date>/<tier>`): with the seed, it fixes every candidate's lottery number. */
  drawId: string;
  places: number;
  /** Patient ids in draw order. */
  order: string[];
}

/** How places go: by severity, or a lottery that first offers places to those an earlier draw left waiting. */
export interface Selection {
  kind: 'rank' | 'lottery';
  seed: number;
  /** The evaluation date, naming this run's draws. */
  asOf: string;
  /** By tier, patients earlier draws left waiting, longest-waiting first. */
  waitlist: Partial<Record<TierId, readonly string[]>>;
}

export interface CapacityOutcome {
  proposed: Decision[];
  waitlisted: Decision[];
  /** The lotteries drawn (none when no tier had more candidates than places, or selection is by rank). */
  draws: LotteryDraw[];
}

/** The limit for each tier in a population of `population` patients; undefined means no limit. */
export function tierLimits(capacity: Capacity | undefined, population: number): Partial<Record<TierId, number>> {
  if (!capacity) {
    return {};
  }
  if ('perThousand' in capacity) {
    const limit = (rate?: number) =>
      rate === undefined ? undefined : Math.max(rate > 0 ? 1 : 0, Math.round((population * rate) / 1000));
    return { first: limit(capacity.perThousand.first), second: limit(capacity.perThousand.second) };
  }
  return { first: capacity.first, second: capacity.second };
}

/**
 * Ranks the candidates of each tier by the programme's severity order (its `rankBy` features, descending, with
 * `riskFactorCount` the number of risk factors; ties by patient id) and keeps as many as capacity allows; the rest
 * are waitlisted, reported, never silently dropped. With no capacity every candidate is proposed.
 */
export function applyCapacity(
  programme: Programme,
  candidates: readonly Decision[],
  limits: Partial<Record<TierId, number>>,
  selection?: Selection
): CapacityOutcome {
  const proposed: Decision[] = [];
  const waitlisted: Decision[] = [];
  const draws: LotteryDraw[] = [];
  for (const tier of programme.tiers) {
    const ranked = candidates.filter((d) => d.tier === tier.id).sort((a, b) => compareSeverity(programme.rankBy, a, b));
    const limit = limits[tier.id] ?? Infinity;
    if (selection?.kind === 'lottery' && ranked.length > limit) {
      const outcome = lottery(ranked, limit, tier.id, selection);
      proposed.push(...outcome.proposed);
      waitlisted.push(...outcome.waitlisted);
      draws.push(...(outcome.draw ? [outcome.draw] : []));
      continue;
    }
    proposed.push(...ranked.slice(0, limit));
    waitlisted.push(...ranked.slice(limit));
  }
  return { proposed, waitlisted, draws };
}

/**
 * Places for those an earlier draw left waiting first (longest-waiting first), then a draw among the rest: each
 * candidate's lottery number is the SHA-256 of the seed, the draw id and their patient id, lowest first, so the draw
 * does not depend on the order candidates were read in and anyone holding the seed can check it.
 */
function lottery(
  candidates: readonly Decision[],
  limit: number,
  tier: TierId,
  selection: Selection
): { proposed: Decision[]; waitlisted: Decision[]; draw?: LotteryDraw } {
  const byId = new Map(candidates.map((d) => [d.patientId, d]));
  const waiting = (selection.waitlist[tier] ?? []).filter((id) => byId.has(id));
  const first = waiting.slice(0, limit);
  const places = limit - first.length;
  const rest = candidates.filter((d) => !waiting.includes(d.patientId));
  const drawId = `${selection.asOf}/${tier}`;
  const order = rest
    .map((d) => ({ id: d.patientId, n: lotteryNumber(selection.seed, drawId, d.patientId) }))
    .sort((a, b) => (a.n < b.n ? -1 : a.n > b.n ? 1 : a.id < b.id ? -1 : 1))
    .map((entry) => entry.id);
  const chosen = [...first, ...order.slice(0, places)];
  const get = (id: string) => byId.get(id) as Decision;
  return {
    proposed: chosen.map(get),
    waitlisted: [...waiting.slice(limit), ...order.slice(places)].map(get),
    ...(places > 0 && order.length > places ? { draw: { tier, seed: selection.seed, drawId, places, order } } : {}),
  };
}

/** A candidate's number in a draw: the first 13 hex digits of SHA-256(`<seed>:<draw id>:<patient id>`). */
export function lotteryNumber(seed: number, drawId: string, patientId: string): string {
  return createHash('sha256').update(`${seed}:${drawId}:${patientId}`).digest('hex').slice(0, 13);
}

export function compareSeverity(rankBy: readonly string[], a: Decision, b: Decision): number {
  for (const key of rankBy) {
    const diff = severityValue(b, key) - severityValue(a, key);
    if (diff !== 0) {
      return diff;
    }
  }
  return a.patientId < b.patientId ? -1 : a.patientId > b.patientId ? 1 : 0;
}

function severityValue(decision: Decision, key: string): number {
  if (key === 'riskFactorCount') {
    return decision.riskFactors.length;
  }
  const value = decision.facts[key];
  return typeof value === 'number' ? value : value === true ? 1 : 0;
}
