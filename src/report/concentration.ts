import { round } from './stats';

/** Points of a Lorenz curve: the share of patients (poorest first) against the share of events they account for. */
export interface LorenzPoint {
  population: number;
  events: number;
}

export interface Concentration {
  patients: number;
  events: number;
  /** Share of all events used by the top 1%, 5% and 10% of patients (the top ⌈p·n⌉ by count), as fractions. */
  top1: number;
  top5: number;
  top10: number;
  /** 0: everyone uses the same; 1: one patient uses everything. */
  gini: number;
  lorenz: LorenzPoint[];
}

/** Lorenz points at every 5% of the population, and 1%, 99% where the tail is. */
const LORENZ_AT = [0, 0.01, ...Array.from({ length: 19 }, (_, i) => (i + 1) / 20), 0.99, 1];

/** How concentrated the use of one service is: per-patient counts of every patient in scope, zeros included. */
export function concentration(counts: readonly number[]): Concentration {
  const ascending = [...counts].sort((a, b) => a - b);
  const n = ascending.length;
  const total = ascending.reduce((s, c) => s + c, 0);
  const cumulative = [0];
  for (const c of ascending) {
    cumulative.push((cumulative[cumulative.length - 1] as number) + c);
  }
  const share = (events: number) => (total ? events / total : 0);
  /** Events of the top ⌈p·n⌉ patients: all events less those of everyone below them. */
  const top = (p: number) => round(share(total - (cumulative[n - Math.ceil(p * n)] as number)), 4);
  let weighted = 0;
  ascending.forEach((c, i) => (weighted += (2 * (i + 1) - n - 1) * c));
  return {
    patients: n,
    events: total,
    top1: n ? top(0.01) : 0,
    top5: n ? top(0.05) : 0,
    top10: n ? top(0.1) : 0,
    gini: n && total ? round(weighted / (n * total), 4) : 0,
    lorenz: LORENZ_AT.map((p) => ({
      population: p,
      events: round(share(cumulative[Math.floor(p * n)] as number), 4),
    })),
  };
}
