import { randomUUID } from 'node:crypto';
import type { Patient, Resource } from '@medplum/fhirtypes';
import type { Scope } from '../config';
import type { Capacity, Decision, Programme } from '../criteria';
import { applyCapacity, decide, tierLimits } from '../criteria';
import type { IsoDate } from '../dates';
import type { FhirClient } from '../fhir';
import { FhirError } from '../fhir';
import type { PatientProgrammeState, ProgrammeRecord } from '../lifecycle';
import { patientProgrammeState, readProgrammeRecord } from '../lifecycle';
import type { Logger } from '../logging';
import { withLogContext } from '../logging';
import type { CompiledMapping, FactValue, PatientRecord } from '../mappings';
import { FeatureEvaluationError, featureEvaluator } from '../mappings';
import type { TierId } from '../vocabulary';
import type { CohortContext, Desired, WriteOutcome } from '../writeback';
import { applyPlan, cohortGroup, cohortIdentifier, planWrites, reviewTask } from '../writeback';
import { readChunk } from './extract';
import type { Population } from './population';
import { resolvePopulation } from './population';

export interface RunDeps {
  client: FhirClient;
  mapping: CompiledMapping;
  programme: Programme;
  logger: Logger;
}

export interface RunSettings {
  scope: Scope;
  asOf: IsoDate;
  dryRun: boolean;
  capacity?: Capacity;
  /** Chunks of patients evaluated at once. */
  concurrency: number;
  dateBounds: boolean;
  reviewOwner?: string;
  batchSize: number;
  /** Keep every evaluated patient's facts (for `hfu tune` and `hfu explain`). */
  keepAllDecisions?: boolean;
  signal?: AbortSignal;
  /** The wall clock, for the dates the record keeps (authoredOn); injectable for tests. */
  now?: () => Date;
}

export interface SkippedPatient {
  patient: string;
  reason: string;
}

export interface RunResult {
  runId: string;
  asOf: IsoDate;
  dryRun: boolean;
  /** False when part of the population could not be read: nothing was then treated as having left the cohort. */
  complete: boolean;
  population: number;
  populationKey: string;
  tiers: Record<TierId, number>;
  proposed: Decision[];
  waitlisted: Decision[];
  excluded: Record<string, number>;
  skipped: SkippedPatient[];
  unattributedResources: number;
  writes: WriteOutcome;
  conflicts: { identifier: string; reference: string }[];
  /** Every evaluated patient's decision, when asked for (keepAllDecisions). */
  decisions?: Decision[];
  timings: { readMs: number; writeMs: number; totalMs: number };
}

/**
 * One refresh of the cohort: read the population chunk by chunk, evaluate the mapping's features and the
 * programme's criteria for each patient, cap each tier to capacity, then reconcile the MDT review Tasks and the
 * cohort Group with what the record already holds. A chunk that cannot be read leaves its patients unread (listed
 * as skipped) and the run incomplete; nothing about them is changed.
 */
export async function runCohort(deps: RunDeps, settings: RunSettings): Promise<RunResult> {
  const runId = randomUUID();
  return withLogContext({ runId }, () => new CohortRun(deps, settings, runId).run());
}

class CohortRun {
  private readonly started = performance.now();
  private readonly evaluate;
  private readonly candidates: Decision[] = [];
  private readonly all: Decision[] = [];
  private readonly excluded: Record<string, number> = {};
  private readonly skipped: SkippedPatient[] = [];
  private readonly unread = new Set<string>();
  private readonly seen = new Set<string>();
  private population = 0;
  private unattributed = 0;
  private complete = true;
  private record: ProgrammeRecord = { reviewTasks: new Map() };

  constructor(
    private readonly deps: RunDeps,
    private readonly settings: RunSettings,
    private readonly runId: string
  ) {
    this.evaluate = featureEvaluator(deps.mapping, settings.asOf);
  }

  async run(): Promise<RunResult> {
    const { client, programme, logger } = this.deps;
    const population = await resolvePopulation(client, this.settings.scope, this.settings.signal);
    logger.info('run started', {
      programme: programme.id,
      mapping: this.deps.mapping.name,
      population: population.key,
      asOf: this.settings.asOf,
      dryRun: this.settings.dryRun,
    });
    this.record = await readProgrammeRecord(
      client,
      programme.id,
      cohortIdentifier({ programme, populationKey: population.key }),
      this.settings.signal
    );
    await this.readPopulation(population);
    const readMs = performance.now() - this.started;
    const { proposed, waitlisted } = applyCapacity(
      programme,
      this.candidates,
      tierLimits(this.settings.capacity, this.population)
    );
    const writeStarted = performance.now();
    const { writes, conflicts } = await this.write(population, proposed);
    const result: RunResult = {
      runId: this.runId,
      asOf: this.settings.asOf,
      dryRun: this.settings.dryRun,
      complete: this.complete,
      population: this.population,
      populationKey: population.key,
      tiers: { first: countTier(proposed, 'first'), second: countTier(proposed, 'second') },
      proposed,
      waitlisted,
      excluded: this.excluded,
      skipped: this.skipped,
      unattributedResources: this.unattributed,
      writes,
      conflicts,
      ...(this.settings.keepAllDecisions ? { decisions: this.all } : {}),
      timings: {
        readMs: Math.round(readMs),
        writeMs: Math.round(performance.now() - writeStarted),
        totalMs: Math.round(performance.now() - this.started),
      },
    };
    logger.info('run finished', {
      complete: result.complete,
      population: result.population,
      first: result.tiers.first,
      second: result.tiers.second,
      waitlisted: waitlisted.length,
      skipped: this.skipped.length,
      created: writes.created,
      updated: writes.updated,
      unchanged: writes.unchanged,
      failedWrites: writes.failures.length,
      ms: result.timings.totalMs,
    });
    return result;
  }

  /** Pages of patients, each evaluated as a chunk, at most `concurrency` chunks at once. */
  private async readPopulation(population: Population): Promise<void> {
    const inFlight = new Set<Promise<void>>();
    try {
      for await (const page of population.pages(this.settings.signal)) {
        const job: Promise<void> = this.processChunk(page).finally(() => inFlight.delete(job));
        inFlight.add(job);
        if (inFlight.size >= this.settings.concurrency) {
          await Promise.race(inFlight);
        }
      }
    } catch (err) {
      if (!(err instanceof FhirError)) {
        throw err;
      }
      this.complete = false;
      this.deps.logger.error('population could not be read to the end', { kind: err.kind, status: err.status });
    } finally {
      await Promise.all(inFlight);
    }
  }

  private async processChunk(patients: Patient[]): Promise<void> {
    const started = performance.now();
    let chunk;
    try {
      chunk = await readChunk(this.deps.client, this.deps.mapping, patients, this.settings.asOf, {
        dateBounds: this.settings.dateBounds,
        signal: this.settings.signal,
      });
    } catch (err) {
      if (!(err instanceof FhirError)) {
        throw err;
      }
      this.complete = false;
      for (const patient of patients) {
        this.unread.add(patient.id as string);
        this.skipped.push({
          patient: `Patient/${patient.id}`,
          reason: `could not be read (${err.kind}${err.status ? ` ${err.status}` : ''})`,
        });
      }
      this.deps.logger.error('chunk could not be read', {
        patients: patients.length,
        kind: err.kind,
        status: err.status,
      });
      return;
    }
    this.unattributed += chunk.unattributed;
    for (const record of chunk.records) {
      this.evaluatePatient(record);
    }
    this.deps.logger.debug('chunk evaluated', {
      patients: patients.length,
      ms: Math.round(performance.now() - started),
    });
  }

  private evaluatePatient(record: PatientRecord): void {
    const patientId = record.patient.id as string;
    this.population++;
    this.seen.add(patientId);
    let features;
    try {
      features = this.evaluate(record);
    } catch (err) {
      if (!(err instanceof FeatureEvaluationError)) {
        throw err;
      }
      this.skipped.push({ patient: `Patient/${patientId}`, reason: `malformed data: ${err.message}` });
      this.deps.logger.warn('patient skipped', { patientId, feature: err.feature, reason: err.reason });
      return;
    }
    const decision = decide(this.deps.programme, patientId, features, (tier) => this.stateOf(patientId, tier));
    decision.excludedBy.forEach((id) => (this.excluded[id] = (this.excluded[id] ?? 0) + 1));
    if (decision.tier) {
      this.candidates.push(decision);
    }
    if (this.settings.keepAllDecisions) {
      this.all.push(decision);
    }
  }

  private stateOf(patientId: string, tier: TierId | undefined): PatientProgrammeState {
    return patientProgrammeState(
      this.record.reviewTasks.get(patientId),
      this.deps.programme.id,
      tier,
      this.settings.asOf,
      this.deps.programme.parameters.coolOffDays ?? 0
    );
  }

  /** Review Tasks for the proposed candidates and the cohort Group, reconciled with the record. */
  private async write(
    population: Population,
    proposed: Decision[]
  ): Promise<{ writes: WriteOutcome; conflicts: RunResult['conflicts'] }> {
    const ctx: CohortContext = {
      programme: this.deps.programme,
      mapping: this.deps.mapping,
      populationKey: population.key,
      populationTitle: population.title,
      asOf: this.settings.asOf,
      now: (this.settings.now?.() ?? new Date()).toISOString(),
      reviewOwner: this.settings.reviewOwner,
    };
    const desired: Desired[] = [];
    for (const decision of proposed) {
      const state = this.stateOf(decision.patientId, decision.tier);
      // A review the MDT has already acted on is theirs: the connector only keeps its own proposals up to date.
      if (!state.currentReview || state.currentReview.status === 'requested') {
        desired.push(reviewTask(ctx, decision as Decision & { tier: TierId }, state.nextEpisode));
      }
    }
    // If the population could not be read to its end, every member not seen is treated as unread.
    const unread = this.complete ? this.unread : new Set([...this.unread, ...membersNotSeen(this.record, this.seen)]);
    desired.push(cohortGroup(ctx, this.record.group, new Set(proposed.map((d) => d.patientId)), unread));
    const existing: Resource[] = [
      ...(this.record.group ? [this.record.group] : []),
      ...[...this.record.reviewTasks.values()].flat(),
    ];
    const plan = planWrites(desired, existing);
    if (this.settings.dryRun) {
      return {
        writes: {
          created: plan.creates.length,
          updated: plan.updates.length,
          unchanged: plan.unchanged.length,
          failures: [],
        },
        conflicts: plan.conflicts,
      };
    }
    const writes = await applyPlan(this.deps.client, plan, {
      batchSize: this.settings.batchSize,
      logger: this.deps.logger,
      signal: this.settings.signal,
    });
    return { writes, conflicts: plan.conflicts };
  }
}

function membersNotSeen(record: ProgrammeRecord, seen: ReadonlySet<string>): string[] {
  return (record.group?.member ?? [])
    .map((m) => m.entity.reference?.replace(/^Patient\//, '') ?? '')
    .filter((id) => id && !seen.has(id));
}

function countTier(decisions: readonly Decision[], tier: TierId): number {
  return decisions.filter((d) => d.tier === tier).length;
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
