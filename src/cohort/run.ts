import { randomUUID } from 'node:crypto';
import type { Patient } from '@medplum/fhirtypes';
import type { Allocation } from '../allocation';
import { allocate, Caseloads, dominantRisk, proposedOwnerOf, proposeOwner } from '../allocation';
import type { Scope, WorkforceMember } from '../config';
import type { Capacity, Decision, Programme } from '../criteria';
import { applyCapacity, decide, tierLimits } from '../criteria';
import type { IsoDate } from '../dates';
import type { FhirClient } from '../fhir';
import { FhirError } from '../fhir';
import type { Action, PatientInProgramme, ProgrammeRecord, Stage } from '../lifecycle';
import { isCoolingOff, isOpenStage, readProgrammeRecord, standingOf, tierOfEpisode, transitions } from '../lifecycle';
import type { Logger } from '../logging';
import { withLogContext } from '../logging';
import type { CompiledMapping, FactValue, PatientRecord } from '../mappings';
import { FeatureEvaluationError, featureEvaluator } from '../mappings';
import type { RiskType, TierId } from '../vocabulary';
import type { WriteOutcome, WritePlan } from '../writeback';
import {
  addOutcome,
  applyInTransaction,
  cohortGroup,
  cohortIdentifier,
  emptyOutcome,
  patientChanges,
  planWrites,
  resourcesOf,
} from '../writeback';
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
  workforce?: readonly WorkforceMember[];
  /** Entries per transaction the FHIR server accepts (Medplum: 8 when any entry is conditional). */
  transactionMaxEntries?: number;
  /** Keep every evaluated patient's decision (for `hfu tune` and `hfu explain`). */
  keepAllDecisions?: boolean;
  signal?: AbortSignal;
  /** The wall clock, for the dates the record keeps (authoredOn, recorded); injectable for tests. */
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
  /** Everyone who meets a tier and is not excluded nor over capacity: new proposals and patients already in. */
  candidates: Decision[];
  /** New proposals this run (patient ids). */
  proposed: string[];
  /** Qualifying patients over the tier capacity: reported, not proposed. */
  waitlisted: Decision[];
  /** Accepted by the MDT but nobody in the workforce has room: they wait, nobody is overbooked. */
  awaitingCapacity: { patient: string; risk: RiskType }[];
  excluded: Record<string, number>;
  /** Programme patients by stage, as the record stood when the run began. */
  stages: Partial<Record<Stage, number>>;
  /** Lifecycle actions that changed the record (or, on a dry run, would), by kind. */
  actions: Partial<Record<Action['kind'], number>>;
  skipped: SkippedPatient[];
  unattributedResources: number;
  writes: WriteOutcome;
  conflicts: { identifier: string; reference: string }[];
  decisions?: Decision[];
  timings: { readMs: number; writeMs: number; totalMs: number };
}

/**
 * One refresh of the programme: evaluate the population chunk by chunk, then for each candidate and each patient
 * already in the programme decide the next lifecycle steps from what the record holds (proposal, enrolment once the
 * MDT accepts, check-ins, step-down, discharge, exit, re-entry) and write them, one transaction per patient with its
 * Provenance, then the cohort Group. A patient whose data could not be read whole gets no write at all.
 */
export async function runCohort(deps: RunDeps, settings: RunSettings): Promise<RunResult> {
  const runId = randomUUID();
  return withLogContext({ runId }, () => new CohortRun(deps, settings, runId).run());
}

class CohortRun {
  private readonly started = performance.now();
  private readonly evaluate;
  private readonly decisions = new Map<string, Decision>();
  private readonly all: Decision[] = [];
  private readonly excluded: Record<string, number> = {};
  private readonly skipped: SkippedPatient[] = [];
  private readonly unread = new Set<string>();
  private readonly seen = new Set<string>();
  private population = 0;
  private unattributed = 0;
  private complete = true;
  private record: ProgrammeRecord = { patients: new Map() };

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
      cohortIdentifier(programme, population.key),
      this.settings.signal
    );
    const stages = this.stageCounts();
    await this.readPopulation(population);
    await this.readProgrammePatientsNotSeen();
    const readMs = performance.now() - this.started;

    const qualifying = [...this.decisions.values()]
      .filter((d) => d.tier)
      .sort((a, b) => (a.patientId < b.patientId ? -1 : 1));
    const fresh = qualifying.filter((d) => !isOpenStage(standingOf(this.record.patients.get(d.patientId)).stage));
    const { proposed: proposable, waitlisted } = applyCapacity(programme, fresh, this.remainingCapacity());
    const proposableIds = new Set(proposable.map((d) => d.patientId));
    const waitlistedIds = new Set(waitlisted.map((d) => d.patientId));

    const writeStarted = performance.now();
    const outcome = await this.advancePatients(population, proposableIds);
    const candidates = qualifying.filter((d) => !waitlistedIds.has(d.patientId));
    const result: RunResult = {
      runId: this.runId,
      asOf: this.settings.asOf,
      dryRun: this.settings.dryRun,
      complete: this.complete,
      population: this.population,
      populationKey: population.key,
      tiers: {
        first: candidates.filter((d) => d.tier === 'first').length,
        second: candidates.filter((d) => d.tier === 'second').length,
      },
      candidates,
      proposed: outcome.proposed,
      waitlisted,
      awaitingCapacity: outcome.awaitingCapacity,
      excluded: this.excluded,
      stages,
      actions: outcome.actions,
      skipped: this.skipped,
      unattributedResources: this.unattributed,
      writes: outcome.writes,
      conflicts: outcome.conflicts,
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
      proposed: result.proposed.length,
      waitlisted: waitlisted.length,
      skipped: this.skipped.length,
      created: outcome.writes.created,
      updated: outcome.writes.updated,
      unchanged: outcome.writes.unchanged,
      failedWrites: outcome.writes.failures.length,
      ms: result.timings.totalMs,
    });
    return result;
  }

  private stageCounts(): Partial<Record<Stage, number>> {
    const counts: Partial<Record<Stage, number>> = {};
    for (const patient of this.record.patients.values()) {
      const stage = standingOf(patient).stage;
      if (stage) {
        counts[stage] = (counts[stage] ?? 0) + 1;
      }
    }
    return counts;
  }

  /** Tier capacity left for new proposals: the limit less the patients whose episode of that tier is open. */
  private remainingCapacity(): Partial<Record<TierId, number>> {
    const limits = tierLimits(this.settings.capacity, this.population);
    const open: Record<TierId, number> = { first: 0, second: 0 };
    for (const patient of this.record.patients.values()) {
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

  /** Patients in the programme whom the population did not include this time (moved, scope changed): read by id. */
  private async readProgrammePatientsNotSeen(): Promise<void> {
    if (!this.complete) {
      return;
    }
    const ids = [...this.record.patients.keys()].filter((id) => !this.seen.has(id));
    for (let i = 0; i < ids.length; i += this.deps.client.chunkSize) {
      const chunkIds = ids.slice(i, i + this.deps.client.chunkSize);
      try {
        const patients = await this.deps.client.searchAll<Patient>(
          'Patient',
          { _id: chunkIds.join(',') },
          this.settings.signal
        );
        await this.processChunk(patients);
      } catch (err) {
        if (!(err instanceof FhirError)) {
          throw err;
        }
        this.markUnread(chunkIds, err);
      }
      for (const id of chunkIds.filter((id) => !this.seen.has(id) && !this.unread.has(id))) {
        this.unread.add(id); // no longer on the endpoint: leave their record untouched
        this.skipped.push({ patient: `Patient/${id}`, reason: 'in the programme but not found on the endpoint' });
      }
    }
  }

  private markUnread(ids: readonly string[], err: FhirError): void {
    this.complete = false;
    for (const id of ids) {
      this.unread.add(id);
      this.skipped.push({
        patient: `Patient/${id}`,
        reason: `could not be read (${err.kind}${err.status ? ` ${err.status}` : ''})`,
      });
    }
    this.deps.logger.error('chunk could not be read', { patients: ids.length, kind: err.kind, status: err.status });
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
      this.markUnread(
        patients.map((p) => p.id as string),
        err
      );
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
      this.unread.add(patientId); // data that cannot be evaluated is data not read whole: no writes for them
      this.skipped.push({ patient: `Patient/${patientId}`, reason: `malformed data: ${err.message}` });
      this.deps.logger.warn('patient skipped', { patientId, feature: err.feature, reason: err.reason });
      return;
    }
    const standing = standingOf(this.record.patients.get(patientId));
    const decision = decide(this.deps.programme, patientId, features, (tier) => ({
      coolingOff: isCoolingOff(standing, tier, this.settings.asOf, this.deps.programme.parameters.coolOffDays ?? 0),
    }));
    decision.excludedBy.forEach((id) => (this.excluded[id] = (this.excluded[id] ?? 0) + 1));
    if (decision.tier || this.record.patients.has(patientId)) {
      this.decisions.set(patientId, decision);
    }
    if (this.settings.keepAllDecisions) {
      this.all.push(decision);
    }
  }

  /**
   * Lifecycle actions and their writes for every patient who has one, then the cohort Group. Capacity freed by
   * discharges and exits is released before anyone is allocated, so one run reaches the state a second would.
   */
  private async advancePatients(population: Population, proposable: ReadonlySet<string>): Promise<Progress> {
    const cohort = cohortIdentifier(this.deps.programme, population.key);
    const now = (this.settings.now?.() ?? new Date()).toISOString();
    const steps = this.plannedSteps(proposable);
    const caseloads = new Caseloads(this.record);
    steps
      .filter((s) => s.actions.some((a) => a.kind === 'discharge' || a.kind === 'exit'))
      .forEach((s) => caseloads.release(s.patientId));
    const progress: Progress = {
      writes: emptyOutcome(),
      conflicts: [],
      actions: {},
      proposed: [],
      awaitingCapacity: [],
      membership: new Map(),
    };
    for (const step of steps) {
      await this.advancePatient(step, { cohort, cohortTitle: population.title, now, caseloads }, progress);
    }
    await this.writeCohortGroup(population, now, progress);
    return progress;
  }

  /** Each patient's next steps, in patient id order: those in the programme, and new proposals. */
  private plannedSteps(proposable: ReadonlySet<string>): PlannedStep[] {
    const { programme } = this.deps;
    const settings = {
      asOf: this.settings.asOf,
      checkInEveryDays: programme.parameters.checkInEveryDays ?? 14,
      checkInCount: programme.parameters.checkInCount ?? 6,
    };
    const ids = [...new Set([...this.record.patients.keys(), ...proposable])].sort();
    return ids
      .filter((id) => !this.unread.has(id))
      .map((patientId) => {
        const patient = this.record.patients.get(patientId);
        const decision = this.decisions.get(patientId);
        return {
          patientId,
          patient,
          decision,
          actions: transitions(patient, decision, proposable.has(patientId), settings),
        };
      });
  }

  private async advancePatient(
    step: PlannedStep,
    shared: { cohort: { system: string; value: string }; cohortTitle: string; now: string; caseloads: Caseloads },
    progress: Progress
  ): Promise<void> {
    const { programme } = this.deps;
    const { patientId, patient, decision } = step;
    const workforce = this.settings.workforce ?? [];
    const standing = standingOf(patient);
    const risk: RiskType = decision ? dominantRisk(programme, decision.facts) : 'clinical';
    const changes = patientChanges({
      ctx: {
        programme,
        patientId,
        cohort: shared.cohort,
        cohortTitle: shared.cohortTitle,
        asOf: this.settings.asOf,
        now: shared.now,
        reviewOwner: this.settings.reviewOwner,
      },
      patient,
      decision,
      actions: step.actions,
      risk,
      // A pending proposal keeps the owner it proposed; a new one proposes whoever has room now.
      proposedOwner: isOpenStage(standing.stage)
        ? proposedOwnerOf(standing.latest?.review)
        : proposeOwner(workforce, shared.caseloads, risk)?.reference,
      allocate: (episode): Allocation => {
        const allocation = allocate(episode.review, risk, workforce, shared.caseloads, this.settings.reviewOwner);
        if (allocation.kind === 'mdt' || allocation.kind === 'proposed') {
          shared.caseloads.add(allocation.owner, patientId);
        }
        return allocation;
      },
      settings: {
        conversationWithinDays: programme.parameters.conversationWithinDays ?? 14,
        checkInEveryDays: programme.parameters.checkInEveryDays ?? 14,
      },
    });
    if (changes.waitlisted) {
      progress.awaitingCapacity.push({ patient: `Patient/${patientId}`, risk: changes.waitlisted });
    }
    const membership = membershipAfter(standing.stage, changes.events, Boolean(changes.waitlisted));
    if (membership) {
      progress.membership.set(patientId, membership);
    }
    const plan = planWrites(changes.desired, resourcesOf(patient));
    progress.conflicts.push(...plan.conflicts);
    if (plan.creates.length || plan.updates.length) {
      // Counted when they change the record: a proposal refreshed to what it already says is no action.
      for (const kind of changes.events as Action['kind'][]) {
        progress.actions[kind] = (progress.actions[kind] ?? 0) + 1;
      }
      if (changes.events.includes('propose')) {
        progress.proposed.push(patientId);
      }
    }
    addOutcome(
      progress.writes,
      await this.write(plan, changes.book, {
        subjectKey: `${programme.id}/Patient/${patientId}`,
        events: changes.events,
        reasons: changes.reasons,
        evidence: changes.evidence,
        now: shared.now,
      })
    );
  }

  private async writeCohortGroup(population: Population, now: string, progress: Progress): Promise<void> {
    const { programme } = this.deps;
    const desired = cohortGroup(
      programme,
      population.key,
      population.title,
      this.record.group,
      { open: progress.membership, unread: this.unreadMembers() },
      { asOf: this.settings.asOf, now }
    );
    const plan = planWrites([desired], this.record.group ? [this.record.group] : []);
    progress.conflicts.push(...plan.conflicts);
    const info = { subjectKey: desired.identifier.value, events: ['cohort-refresh'], reasons: [], evidence: [], now };
    addOutcome(progress.writes, await this.write(plan, undefined, info));
  }

  /** Patients whose Group entry must stay as it is: unread, or (population read in part) not seen at all. */
  private unreadMembers(): Set<string> {
    if (this.complete) {
      return this.unread;
    }
    const notSeen = (this.record.group?.member ?? [])
      .map((m) => m.entity.reference?.replace(/^Patient\//, '') ?? '')
      .filter((id) => id && !this.seen.has(id));
    return new Set([...this.unread, ...notSeen]);
  }

  private async write(
    plan: WritePlan,
    book: Parameters<typeof applyInTransaction>[2],
    info: {
      subjectKey: string;
      events: readonly string[];
      reasons: readonly string[];
      evidence: readonly string[];
      now: string;
    }
  ): Promise<WriteOutcome> {
    if (this.settings.dryRun) {
      const changed = plan.creates.length + plan.updates.length;
      return {
        created: plan.creates.length,
        updated: plan.updates.length,
        unchanged: plan.unchanged.length,
        provenance: changed ? 1 : 0,
        failures: [],
      };
    }
    return applyInTransaction(
      this.deps.client,
      plan,
      book,
      { programme: this.deps.programme, asOf: this.settings.asOf, ...info },
      {
        maxEntries: this.settings.transactionMaxEntries ?? 8,
        signal: this.settings.signal,
      }
    );
  }
}

interface PlannedStep {
  patientId: string;
  patient?: PatientInProgramme;
  decision?: Decision;
  actions: Action[];
}

/** What the run has done so far, patient by patient. */
interface Progress {
  writes: WriteOutcome;
  conflicts: RunResult['conflicts'];
  actions: RunResult['actions'];
  proposed: string[];
  awaitingCapacity: RunResult['awaitingCapacity'];
  /** Patients in the cohort after this run, and whether their membership is inactive (not yet enrolled). */
  membership: Map<string, { inactive: boolean }>;
}

/** Whether, and how, a patient is in the cohort once this run's actions are done. */
function membershipAfter(
  stage: Stage | undefined,
  events: readonly string[],
  waitlisted: boolean
): { inactive: boolean } | undefined {
  if (events.includes('exit') || events.includes('discharge')) {
    return undefined;
  }
  if (events.includes('propose')) {
    return { inactive: true };
  }
  if (stage === 'enrolled' || (events.includes('enrol') && !waitlisted)) {
    return { inactive: false };
  }
  return isOpenStage(stage) ? { inactive: true } : undefined;
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
