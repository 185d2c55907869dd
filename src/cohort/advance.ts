import type { Allocation } from '../allocation';
import { allocate, Caseloads, dominantRisk, proposedOwnerOf, proposeOwner } from '../allocation';
import type { WorkforceMember } from '../config';
import type { Decision, Programme } from '../criteria';
import type { IsoDate } from '../dates';
import type { FhirClient } from '../fhir';
import type { Action, PatientInProgramme, ProgrammeRecord, Stage } from '../lifecycle';
import { isOpenStage, standingOf, transitions } from '../lifecycle';
import type { RiskType } from '../vocabulary';
import type { ProvenanceInfo, ReferenceBook, WriteOutcome, WritePlan, WriteStrategySetting } from '../writeback';
import {
  addOutcome,
  applyPlan,
  cohortGroup,
  cohortIdentifier,
  emptyOutcome,
  patientChanges,
  planWrites,
  resourcesOf,
} from '../writeback';
import type { Population } from './population';

/** What the write phase needs from the run: the record as read, this run's decisions, and who was not read. */
export interface AdvanceInputs {
  client: FhirClient;
  programme: Programme;
  population: Pick<Population, 'key' | 'title'>;
  record: ProgrammeRecord;
  decisions: ReadonlyMap<string, Decision>;
  /** Patients this run could not read whole: nothing is written for them. */
  unread: ReadonlySet<string>;
  /** A targeted refresh advances only these patients. */
  only?: ReadonlySet<string>;
  settings: AdvanceSettings;
  onPatient?: (writes: WriteOutcome, advanced: number) => void;
}

/** What is known once the whole population has been read. */
export interface FinishInputs {
  /** Candidates to propose this run (qualifying, not cooling off, within capacity). */
  proposable: ReadonlySet<string>;
  /** Patients whose Group entry must stay exactly as it is (unread, not seen, outside a targeted refresh). */
  untouchedMembers: ReadonlySet<string>;
  /** The incremental refresh's new watermark, when this run read what it had to completely. */
  watermark?: string;
  /** The run was stopped while reading: nothing more is advanced and the Group is left as it was. */
  stopped: boolean;
}

export interface AdvanceSettings {
  asOf: IsoDate;
  dryRun: boolean;
  now: string;
  reviewOwner?: string;
  workforce: readonly WorkforceMember[];
  transactionMaxEntries: number;
  writeStrategy?: WriteStrategySetting;
  signal?: AbortSignal;
  stop?: AbortSignal;
}

export interface AdvanceOutcome {
  writes: WriteOutcome;
  conflicts: { identifier: string; reference: string }[];
  actions: Partial<Record<Action['kind'], number>>;
  proposed: string[];
  awaitingCapacity: { patient: string; risk: RiskType }[];
  /** Every programme patient's stage once the writes are done. */
  stages: Partial<Record<Stage, number>>;
  /** Stopped on request before every patient was advanced (the Group is then left as it was). */
  stopped: boolean;
}

interface PlannedStep {
  patientId: string;
  patient?: PatientInProgramme;
  decision?: Decision;
  actions: Action[];
}

/**
 * The write phase of a run: each patient's lifecycle actions, written one transaction per patient with its
 * Provenance, then the cohort Group. Steps that neither propose nor enrol (a refreshed proposal, a check-in, a
 * step-down, a discharge, an exit) depend on nothing but the patient, so they are written as soon as the patient's
 * chunk is evaluated (`advanceEarly`); proposals wait for the whole population to be ranked against capacity, and
 * enrolments for every discharge and exit to have released its place (`finish`), then go in patient id order.
 */
export class ProgrammeAdvance {
  private readonly cohort;
  private readonly caseloads;
  private readonly membership = new Map<string, { inactive: boolean }>();
  private readonly stageOf = new Map<string, Stage>();
  /** Patients already advanced while the population was read. */
  private readonly done = new Set<string>();
  private advanced = 0;
  private readonly outcome: AdvanceOutcome = {
    writes: emptyOutcome(),
    conflicts: [],
    actions: {},
    proposed: [],
    awaitingCapacity: [],
    stages: {},
    stopped: false,
  };

  constructor(private readonly inputs: AdvanceInputs) {
    this.cohort = cohortIdentifier(inputs.programme, inputs.population.key);
    this.caseloads = new Caseloads(inputs.record);
    for (const [patientId, patient] of inputs.record.patients) {
      const stage = standingOf(patient).stage;
      if (stage) {
        this.stageOf.set(patientId, stage);
      }
    }
  }

  /** A patient of the programme just evaluated: their steps now, unless they propose or enrol (see above). */
  async advanceEarly(patientId: string): Promise<void> {
    const { record, decisions, unread, only, settings } = this.inputs;
    const patient = record.patients.get(patientId);
    if (!patient || unread.has(patientId) || (only && !only.has(patientId)) || settings.stop?.aborted) {
      return;
    }
    const decision = decisions.get(patientId);
    const actions = this.transitionsOf(patient, decision, false);
    const rankingMatters = JSON.stringify(actions) !== JSON.stringify(this.transitionsOf(patient, decision, true));
    if (rankingMatters || actions.some((a) => a.kind === 'propose' || a.kind === 'enrol')) {
      return;
    }
    this.done.add(patientId);
    if (actions.some((a) => a.kind === 'discharge' || a.kind === 'exit')) {
      this.caseloads.release(patientId);
    }
    await this.advancePatient({ patientId, patient, decision, actions });
    this.inputs.onPatient?.(this.outcome.writes, ++this.advanced);
  }

  /** Everyone not yet advanced, in patient id order, then the cohort Group. */
  async finish(finish: FinishInputs): Promise<AdvanceOutcome> {
    if (finish.stopped) {
      return this.summary(true);
    }
    const steps = this.plannedSteps(finish.proposable).filter((s) => !this.done.has(s.patientId));
    steps
      .filter((s) => s.actions.some((a) => a.kind === 'discharge' || a.kind === 'exit'))
      .forEach((s) => this.caseloads.release(s.patientId));
    for (const step of steps) {
      if (this.inputs.settings.stop?.aborted) {
        return this.summary(true);
      }
      await this.advancePatient(step);
      this.inputs.onPatient?.(this.outcome.writes, ++this.advanced);
    }
    await this.writeCohortGroup(finish);
    return this.summary(false);
  }

  private summary(stopped: boolean): AdvanceOutcome {
    this.outcome.stopped = stopped;
    this.outcome.stages = {};
    for (const stage of this.stageOf.values()) {
      this.outcome.stages[stage] = (this.outcome.stages[stage] ?? 0) + 1;
    }
    return this.outcome;
  }

  private transitionsOf(patient: PatientInProgramme | undefined, decision: Decision | undefined, proposable: boolean) {
    const { programme } = this.inputs;
    return transitions(patient, decision, proposable, {
      asOf: this.inputs.settings.asOf,
      checkInEveryDays: programme.parameters.checkInEveryDays ?? 14,
      checkInCount: programme.parameters.checkInCount ?? 6,
    });
  }

  /** Each patient's next steps, in patient id order: those in the programme, and new proposals. */
  private plannedSteps(proposable: ReadonlySet<string>): PlannedStep[] {
    const { record, decisions, unread, only } = this.inputs;
    const ids = [...new Set([...record.patients.keys(), ...proposable])].sort();
    return ids
      .filter((id) => !unread.has(id) && (!only || only.has(id)))
      .map((patientId) => {
        const patient = record.patients.get(patientId);
        const decision = decisions.get(patientId);
        return {
          patientId,
          patient,
          decision,
          actions: this.transitionsOf(patient, decision, proposable.has(patientId)),
        };
      });
  }

  private async advancePatient(step: PlannedStep): Promise<void> {
    const { programme, settings } = this.inputs;
    const { patientId, patient, decision } = step;
    const standing = standingOf(patient);
    const risk: RiskType = decision ? dominantRisk(programme, decision.facts) : 'clinical';
    const changes = patientChanges({
      ctx: {
        programme,
        patientId,
        cohort: this.cohort,
        cohortTitle: this.inputs.population.title,
        asOf: settings.asOf,
        now: settings.now,
        reviewOwner: settings.reviewOwner,
      },
      patient,
      decision,
      actions: step.actions,
      risk,
      // A pending proposal keeps the owner it proposed; a new one proposes whoever has room now.
      proposedOwner: isOpenStage(standing.stage)
        ? proposedOwnerOf(standing.latest?.review)
        : proposeOwner(settings.workforce, this.caseloads, risk)?.reference,
      allocate: (episode) => this.allocate(episode.review, risk, patientId),
      settings: {
        conversationWithinDays: programme.parameters.conversationWithinDays ?? 14,
        checkInEveryDays: programme.parameters.checkInEveryDays ?? 14,
      },
    });
    const waitlisted = Boolean(changes.waitlisted);
    if (changes.waitlisted) {
      this.outcome.awaitingCapacity.push({ patient: `Patient/${patientId}`, risk: changes.waitlisted });
    }
    const membership = membershipAfter(standing.stage, changes.events, waitlisted);
    if (membership) {
      this.membership.set(patientId, membership);
    }
    const after = stageAfter(standing.stage, changes.events, waitlisted, Boolean(standing.latest?.carePlan));
    if (after) {
      this.stageOf.set(patientId, after);
    }
    const plan = planWrites(changes.desired, resourcesOf(patient));
    this.outcome.conflicts.push(...plan.conflicts);
    if (plan.creates.length || plan.updates.length) {
      // Counted when they change the record: a proposal refreshed to what it already says is no action.
      for (const kind of changes.events as Action['kind'][]) {
        this.outcome.actions[kind] = (this.outcome.actions[kind] ?? 0) + 1;
      }
      if (changes.events.includes('propose')) {
        this.outcome.proposed.push(patientId);
      }
    }
    await this.write(plan, changes.book, {
      subjectKey: `${programme.id}/Patient/${patientId}`,
      events: changes.events,
      reasons: changes.reasons,
      evidence: changes.evidence,
    });
  }

  private allocate(review: Parameters<typeof allocate>[0], risk: RiskType, patientId: string): Allocation {
    const { workforce, reviewOwner } = this.inputs.settings;
    const allocation = allocate(review, risk, workforce, this.caseloads, reviewOwner);
    if (allocation.kind === 'mdt' || allocation.kind === 'proposed') {
      this.caseloads.add(allocation.owner, patientId);
    }
    return allocation;
  }

  private async writeCohortGroup(finish: FinishInputs): Promise<void> {
    const { programme, population, record, settings } = this.inputs;
    const desired = cohortGroup(
      programme,
      population.key,
      population.title,
      record.group,
      { open: this.membership, unread: finish.untouchedMembers },
      { asOf: settings.asOf, now: settings.now, watermark: finish.watermark }
    );
    const plan = planWrites([desired], record.group ? [record.group] : []);
    this.outcome.conflicts.push(...plan.conflicts);
    await this.write(plan, undefined, {
      subjectKey: desired.identifier.value,
      events: ['cohort-refresh'],
      reasons: [],
      evidence: [],
    });
  }

  private async write(
    plan: WritePlan,
    book: ReferenceBook | undefined,
    info: Pick<ProvenanceInfo, 'subjectKey' | 'events' | 'reasons' | 'evidence'>
  ): Promise<void> {
    const { settings, client, programme } = this.inputs;
    if (settings.dryRun) {
      const changed = plan.creates.length + plan.updates.length;
      addOutcome(this.outcome.writes, {
        created: plan.creates.length,
        updated: plan.updates.length,
        unchanged: plan.unchanged.length,
        provenance: changed ? 1 : 0,
        failures: [],
      });
      return;
    }
    const provenance = { programme, asOf: settings.asOf, now: settings.now, ...info };
    const options = {
      maxEntries: settings.transactionMaxEntries,
      strategy: settings.writeStrategy,
      signal: settings.signal,
    };
    addOutcome(this.outcome.writes, await applyPlan(client, plan, book, provenance, options));
  }
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

/** A patient's stage once this run's actions are written. */
function stageAfter(
  stage: Stage | undefined,
  events: readonly string[],
  waitlisted: boolean,
  hadCarePlan: boolean
): Stage | undefined {
  if (events.includes('discharge')) {
    return 'discharged';
  }
  if (events.includes('exit')) {
    return hadCarePlan ? 'discharged' : 'closed';
  }
  if (events.includes('propose')) {
    return 'under-review';
  }
  return events.includes('enrol') && !waitlisted ? 'enrolled' : stage;
}
