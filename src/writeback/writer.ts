import type { Allocation } from '../allocation';
import { allocate, Caseloads, dominantRisk, proposedOwnerOf, proposeOwner } from '../allocation';
import type { WorkforceMember } from '../config';
import type { Decision, LotteryDraw, Programme } from '../criteria';
import { lifecycleParameters } from '../criteria';
import type { IsoDate } from '../dates';
import type { FhirClient, SourceReferences } from '../fhir';
import type { Action, PatientInProgramme, Placement, ProgrammeRecord, Step } from '../lifecycle';
import { isOpenStage, standingOf } from '../lifecycle';
import type { RiskType } from '../vocabulary';
import type { ProvenanceInfo, WriteOutcome } from './apply';
import { emptyOutcome } from './apply';
import { cohortGroup, cohortIdentifier } from './cohort';
import { patientChanges, resourcesOf } from './patient';
import type { WritePlan } from './reconcile';
import { planWrites } from './reconcile';
import type { ReferenceBook } from './resources';
import type { WriteStrategySetting } from './strategy';
import { applyPlan } from './strategy';

export interface WriteSettings {
  asOf: IsoDate;
  dryRun: boolean;
  /** The wall clock for the dates the record keeps (authoredOn, recorded). */
  now: string;
  reviewOwner?: string;
  workforce: readonly WorkforceMember[];
  transactionMaxEntries: number;
  /** How one patient's writes are sent (`writeback.strategy`); default a transaction. */
  writeStrategy?: WriteStrategySetting;
  /** How the record refers to the source's patients and evidence (absolute when the record is elsewhere). */
  source: SourceReferences;
  signal?: AbortSignal;
}

/** One patient's planned step, with what it was planned from. */
export interface PatientStep {
  patientId: string;
  patient?: PatientInProgramme;
  decision?: Decision;
  step: Step;
  /** The lottery a new proposal was drawn in (`programme.capacity.selection: lottery`). */
  draw?: LotteryDraw;
}

/** What writing one patient's step did. */
export interface PatientWritten {
  placement: Placement;
  /** Accepted, and nobody in the workforce has room: they wait. */
  awaitingCapacity?: RiskType;
  /** The actions that changed the record (or, on a dry run, would): a proposal refreshed to what it says is none. */
  changed: Action['kind'][];
  writes: WriteOutcome;
  conflicts: { identifier: string; reference: string }[];
}

/**
 * The write stage: each patient's step as one transaction with its Provenance (on a dry run, only counted), then the
 * cohort Group. It keeps the caseloads, so that enrolments are allocated in the order they are written.
 */
export class ProgrammeWriter {
  private readonly caseloads: Caseloads;
  private readonly cohort;

  constructor(
    private readonly client: FhirClient,
    private readonly programme: Programme,
    private readonly population: { key: string; title: string },
    private readonly record: ProgrammeRecord,
    private readonly settings: WriteSettings
  ) {
    this.caseloads = new Caseloads(record);
    this.cohort = cohortIdentifier(programme, population.key);
  }

  /** The patient leaves every caseload (discharged, or out of the programme): their place is free for enrolments. */
  release(patientId: string): void {
    this.caseloads.release(patientId);
  }

  async patient({ patientId, patient, decision: asEvaluated, step, draw }: PatientStep): Promise<PatientWritten> {
    const { programme, settings } = this;
    const decision = asEvaluated && withEvidenceAsRecorded(asEvaluated, settings.source);
    const standing = standingOf(patient);
    const risk: RiskType = decision ? dominantRisk(programme, decision.facts) : 'clinical';
    const parameters = lifecycleParameters(programme);
    const changes = patientChanges({
      ctx: {
        programme,
        patientId,
        cohort: this.cohort,
        cohortTitle: this.population.title,
        asOf: settings.asOf,
        now: settings.now,
        reviewOwner: settings.reviewOwner,
        source: settings.source,
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
      settings: parameters,
      draw,
    });
    this.followReallocation(patientId, step.actions);
    const plan = planWrites(changes.desired, resourcesOf(patient));
    const changed = plan.creates.length || plan.updates.length ? (changes.events as Action['kind'][]) : [];
    const writes = await this.write(plan, changes.book, {
      subjectKey: `${programme.id}/Patient/${patientId}`,
      events: changes.events,
      reasons: changes.reasons,
      evidence: changes.evidence,
    });
    return {
      placement: changes.waitlisted ? (step.waitlisted ?? step.after) : step.after,
      ...(changes.waitlisted ? { awaitingCapacity: changes.waitlisted } : {}),
      changed,
      writes,
      conflicts: plan.conflicts,
    };
  }

  /**
   * The cohort Group: `members` as they are now, entries of `untouched` patients exactly as they were, and the
   * incremental refresh's watermark when this run moved it on.
   */
  async group(
    members: ReadonlyMap<string, { inactive: boolean }>,
    untouched: ReadonlySet<string>,
    watermark: string | undefined
  ): Promise<Pick<PatientWritten, 'writes' | 'conflicts'>> {
    const { programme, population, record, settings } = this;
    const desired = cohortGroup(
      programme,
      population.key,
      population.title,
      record.group,
      { open: members, unread: untouched },
      { asOf: settings.asOf, now: settings.now, watermark },
      settings.source
    );
    const plan = planWrites([desired], record.group ? [record.group] : []);
    const info = { subjectKey: desired.identifier.value, events: ['cohort-refresh'], reasons: [], evidence: [] };
    return { writes: await this.write(plan, undefined, info), conflicts: plan.conflicts };
  }

  /** The MDT moved the patient to another professional: their place moves with them, for later enrolments. */
  private followReallocation(patientId: string, actions: readonly Action[]): void {
    const moved = actions.find((a) => a.kind === 'reallocate');
    if (moved) {
      this.caseloads.release(patientId);
      this.caseloads.add(moved.owner, patientId);
    }
  }

  private allocate(review: Parameters<typeof allocate>[0], risk: RiskType, patientId: string): Allocation {
    const { workforce, reviewOwner } = this.settings;
    const allocation = allocate(review, risk, workforce, this.caseloads, reviewOwner);
    if (allocation.kind === 'mdt' || allocation.kind === 'proposed') {
      this.caseloads.add(allocation.owner, patientId);
    }
    return allocation;
  }

  private async write(
    plan: WritePlan,
    book: ReferenceBook | undefined,
    info: Pick<ProvenanceInfo, 'subjectKey' | 'events' | 'reasons' | 'evidence'>
  ): Promise<WriteOutcome> {
    const { settings, client, programme } = this;
    if (settings.dryRun) {
      const changed = plan.creates.length + plan.updates.length;
      return {
        ...emptyOutcome(),
        created: plan.creates.length,
        updated: plan.updates.length,
        unchanged: plan.unchanged.length,
        provenance: changed ? 1 : 0,
      };
    }
    const provenance = { programme, asOf: settings.asOf, now: settings.now, ...info };
    const options = {
      maxEntries: settings.transactionMaxEntries,
      strategy: settings.writeStrategy,
      signal: settings.signal,
    };
    return applyPlan(client, plan, book, provenance, options);
  }
}

/** The decision with its evidence referenced as the record writes it (absolute when the record is not the source). */
function withEvidenceAsRecorded(decision: Decision, source: SourceReferences): Decision {
  if (!source.absolute) {
    return decision;
  }
  const evidence = Object.fromEntries(
    Object.entries(decision.evidence).map(([feature, refs]) => [feature, refs.map((r) => source.to(r))])
  );
  return { ...decision, evidence };
}
