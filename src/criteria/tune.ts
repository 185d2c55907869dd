import type { FactValue } from '../mappings';
import type { TierId } from '../vocabulary';
import { holds } from './decide';
import type { Programme } from './load';

export interface TuneGrid {
  /** The programme parameters varied: rows and columns. */
  rowParameter: string;
  columnParameter: string;
  rows: number[];
  columns: number[];
}

export interface TuneResult {
  population: number;
  tier: TierId;
  grid: TuneGrid;
  /** counts[row][column]: patients the tier's rule admits with those two parameters. */
  counts: number[][];
}

/**
 * Cohort size for a grid of thresholds: the chosen tier's own rule re-evaluated with two parameters varied, over the
 * facts of every patient not excluded. A practice picks the thresholds that fit its workforce.
 */
export function tune(
  programme: Programme,
  tierId: TierId,
  facts: readonly Record<string, FactValue>[],
  population: number,
  grid: TuneGrid
): TuneResult {
  const rule = programme.tiers.find((t) => t.id === tierId);
  if (!rule) {
    throw new Error(`programme ${programme.id} has no tier '${tierId}'`);
  }
  for (const parameter of [grid.rowParameter, grid.columnParameter]) {
    if (!(parameter in programme.parameters)) {
      throw new Error(`programme ${programme.id} has no parameter '${parameter}'`);
    }
  }
  const counts = grid.rows.map((row) =>
    grid.columns.map((column) => {
      const p = { ...programme.parameters, [grid.rowParameter]: row, [grid.columnParameter]: column };
      return facts.filter((f) => holds(rule, { f, p, state: { coolingOff: false } })).length;
    })
  );
  return { population, tier: tierId, grid, counts };
}
