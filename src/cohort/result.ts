import type { Decision, LotteryDraw } from '../criteria';
import type { IsoDate } from '../dates';
import type { Action, Stage } from '../lifecycle';
import type { FactValue } from '../mappings';
import type { RiskType, TierId } from '../vocabulary';
import type { WriteOutcome } from '../writeback';

/** How far a run has got, reported as it goes. */
export interface RunProgress {
  phase: 'reading' | 'writing';
  evaluated: number;
  /** Patients the population holds, when the server said: what `evaluated` is heading for. */
  expected?: number;
  advanced: number;
  writes: { created: number; updated: number; unchanged: number; provenance: number };
}

export interface SkippedPatient {
  patient: string;
  reason: string;
}

export interface RunResult {
  runId: string;
  asOf: IsoDate;
  dryRun: boolean;
  /** False when part of the population could not be read (or the run was stopped): nobody unread left the cohort. */
  complete: boolean;
  /** Stopped on request (time budget, shutdown) before it finished. */
  stopped: boolean;
  population: number;
  populationKey: string;
  /** What was read: everyone, what changed since the watermark (and the programme's patients), or named patients. */
  mode: 'full' | 'incremental' | 'targeted';
  /** Incremental: the watermark the changes were read from. */
  changedSince?: string;
  tiers: Record<TierId, number>;
  /** Everyone who meets a tier and is not excluded nor over capacity: new proposals and patients already in. */
  candidates: Decision[];
  /** New proposals this run (patient ids). */
  proposed: string[];
  /** Qualifying patients over the tier capacity: reported, not proposed. */
  waitlisted: Decision[];
  /** The lotteries this run drew (`programme.capacity.selection: lottery`): seed, candidates in draw order, places. */
  lottery?: LotteryDraw[];
  /** Accepted by the MDT but nobody in the workforce has room: they wait, nobody is overbooked. */
  awaitingCapacity: { patient: string; risk: RiskType }[];
  excluded: Record<string, number>;
  /**
   * Programme patients by stage once this run's writes are done (on a dry run: would be): where the programme stands
   * now. The stages at the start are what the previous run reported.
   */
  stages: Partial<Record<Stage, number>>;
  /** Lifecycle actions that changed the record (or, on a dry run, would), by kind. */
  actions: Partial<Record<Action['kind'], number>>;
  skipped: SkippedPatient[];
  /** Patient-search entries that were not a usable Patient (another type, no id), by reason. */
  ignoredEntries: Record<string, number>;
  unattributedResources: number;
  /** What the run noticed that may be wrong with the configuration (e.g. a feature that matched nothing). */
  warnings: string[];
  writes: WriteOutcome;
  conflicts: { identifier: string; reference: string }[];
  /**
   * Completed conversation and check-in Tasks whose form could not be used, and escalations decided as a move that
   * names no professional: left alone until corrected.
   */
  unprocessable: { task: string; reason: string }[];
  decisions?: Decision[];
  timings: { readMs: number; writeMs: number; totalMs: number };
}

/** A candidate as `hfu run --json` reports it. */
export interface CandidateReport {
  patient: string;
  tier: TierId;
  features: Record<string, FactValue>;
  riskFactors: string[];
  evidence: Record<string, string[]>;
}

export function candidateReport(decision: Decision): CandidateReport {
  return {
    patient: `Patient/${decision.patientId}`,
    tier: decision.tier as TierId,
    features: decision.facts,
    riskFactors: decision.riskFactors,
    evidence: Object.fromEntries(Object.entries(decision.evidence).filter(([, refs]) => refs.length)),
  };
}
