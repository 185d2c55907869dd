import type { TierId } from '../vocabulary';
import type { Decision } from './decide';
import type { Programme } from './load';

/** Candidates a run may propose per tier: absolute, or per 1,000 patients in the population evaluated. */
export type Capacity = { first?: number; second?: number } | { perThousand: { first?: number; second?: number } };

export interface CapacityOutcome {
  proposed: Decision[];
  waitlisted: Decision[];
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
  limits: Partial<Record<TierId, number>>
): CapacityOutcome {
  const proposed: Decision[] = [];
  const waitlisted: Decision[] = [];
  for (const tier of programme.tiers) {
    const ranked = candidates.filter((d) => d.tier === tier.id).sort((a, b) => compareSeverity(programme.rankBy, a, b));
    const limit = limits[tier.id] ?? Infinity;
    proposed.push(...ranked.slice(0, limit));
    waitlisted.push(...ranked.slice(limit));
  }
  return { proposed, waitlisted };
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
