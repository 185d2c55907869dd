import type { Allocation } from '../allocation';
import { allocate, Caseloads, dominantRisk, proposedOwnerOf, proposeOwner } from '../allocation';
import type { WorkforceMember } from '../config';
import type { Decision, Programme } from '../criteria';
import type { IsoDate } from '../dates';
import type { FhirClient } from '../fhir';
import type { Action, PatientInProgramme, ProgrammeRecord, Stage } from '../lifecycle';
import { isOpenStage, standingOf, transitions } from '../lifecycle';
import type { RiskType } from '../vocabulary';
import type { ProvenanceInfo, ReferenceBook, WriteOutcome, WritePlan } from '../writeback';
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
  /** Patients whose Group entry must stay exactly as it is (unread, not seen, outside a targeted refresh). */
  untouchedMembers: ReadonlySet<string>;
  /** Candidates to propose this run (qualifying, not cooling off, within capacity). */
  proposable: ReadonlySet<string>;
  /** A targeted refresh advances only these patients. */
  only?: ReadonlySet<string>;
  settings: AdvanceSettings;
  onPatient?: (writes: WriteOutcome, advanced: number) => void;
}

export interface AdvanceSettings {
  asOf: IsoDate;
  dryRun: boolean;
  now: string;
  reviewOwner?: string;
  workforce: readonly WorkforceMember[];
  transactionMaxEntries: number;
  /** The incremental refresh's new watermark, when this run read what it had to completely. */
  watermark?: string;
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
 * Provenance, then the cohort Group. Capacity freed by discharges and exits is released before anyone is
 * allocated, so one run reaches the state a second would.
 */
export async function advanceProgramme(inputs: AdvanceInputs): Promise<AdvanceOutcome> {
  return new ProgrammeAdvance(inputs).run();
}

class ProgrammeAdvance {
  private readonly cohort;
  private readonly caseloads;
  private readonly membership = new Map<string, { inactive: boolean }>();
  private readonly stageOf = new Map<string, Stage>();
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

  async run(): Promise<AdvanceOutcome> {
    const steps = this.plannedSteps();
    steps
      .filter((s) => s.actions.some((a) => a.kind === 'discharge' || a.kind === 'exit'))
      .forEach((s) => this.caseloads.release(s.patientId));
    let advanced = 0;
    for (const step of steps) {
      if (this.inputs.settings.stop?.aborted) {
        this.outcome.stopped = true;
        break;
      }
      await this.advancePatient(step);
      this.inputs.onPatient?.(this.outcome.writes, ++advanced);
    }
    if (!this.outcome.stopped) {
      await this.writeCohortGroup();
    }
    for (const stage of this.stageOf.values()) {
      this.outcome.stages[stage] = (this.outcome.stages[stage] ?? 0) + 1;
    }
    return this.outcome;
  }

  /** Each patient's next steps, in patient id order: those in the programme, and new proposals. */
  private plannedSteps(): PlannedStep[] {
    const { programme, record, proposable, decisions, unread, only } = this.inputs;
    const settings = {
      asOf: this.inputs.settings.asOf,
      checkInEveryDays: programme.parameters.checkInEveryDays ?? 14,
      checkInCount: programme.parameters.checkInCount ?? 6,
    };
    const ids = [...new Set([...record.patients.keys(), ...proposable])].sort();
    return ids
      .filter((id) => !unread.has(id) && (!only || only.has(id)))
      .map((patientId) => {
        const patient = record.patients.get(patientId);
        const decision = decisions.get(patientId);
        const actions = transitions(patient, decision, proposable.has(patientId), settings);
        return { patientId, patient, decision, actions };
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

  private async writeCohortGroup(): Promise<void> {
    const { programme, population, record, settings } = this.inputs;
    const desired = cohortGroup(
      programme,
      population.key,
      population.title,
      record.group,
      { open: this.membership, unread: this.inputs.untouchedMembers },
      { asOf: settings.asOf, now: settings.now, watermark: settings.watermark }
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
    const options = { maxEntries: settings.transactionMaxEntries, signal: settings.signal };
    addOutcome(this.outcome.writes, await applyInTransaction(client, plan, book, provenance, options));
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
