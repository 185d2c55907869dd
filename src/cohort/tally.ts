import type { Decision } from '../criteria';
import type { Evaluation } from '../evaluate';
import { FeatureCoverage } from '../evaluate';
import type { Action, Placement, ProgrammeRecord, Stage } from '../lifecycle';
import { standingOf } from '../lifecycle';
import type { Logger } from '../logging';
import type { PatientWritten, WriteOutcome } from '../writeback';
import { addOutcome, emptyOutcome } from '../writeback';
import type { RunResult, SkippedPatient } from './result';

/** What the evaluations of a run add up to. */
export class EvaluationTally {
  /** Decisions the run acts on: qualifying patients and everyone in the programme. */
  readonly decisions = new Map<string, Decision>();
  /** Every decision, when the caller keeps them (tune, explain). */
  readonly all: Decision[] = [];
  readonly excluded: Record<string, number> = {};
  readonly malformed: SkippedPatient[] = [];
  readonly coverage = new FeatureCoverage();
  evaluated = 0;

  constructor(
    private readonly record: ProgrammeRecord,
    private readonly logger: Logger,
    private readonly keepAll: boolean
  ) {}

  add(evaluations: readonly Evaluation[]): void {
    const debug = this.logger.isDebugEnabled(); // per-patient lines cost time at info level for a whole ICB
    for (const evaluation of evaluations) {
      const { patientId } = evaluation;
      this.evaluated++;
      if ('malformed' in evaluation) {
        const { feature, reason, message } = evaluation.malformed;
        this.malformed.push({ patient: `Patient/${patientId}`, reason: `malformed data: ${message}` });
        this.logger.warn('patient skipped', { patientId, feature, reason });
        continue;
      }
      const { decision } = evaluation;
      decision.excludedBy.forEach((id) => (this.excluded[id] = (this.excluded[id] ?? 0) + 1));
      this.coverage.add(decision);
      if (decision.tier || this.record.patients.has(patientId)) {
        this.decisions.set(patientId, decision);
      }
      if (this.keepAll) {
        this.all.push(decision);
      }
      if (debug) {
        this.logger.debug('patient evaluated', { patientId, tier: decision.tier, excludedBy: decision.excludedBy });
      }
    }
  }
}

/** What the writes of a run add up to, and where they leave each patient. */
export class WriteTally {
  readonly writes: WriteOutcome = emptyOutcome();
  readonly conflicts: RunResult['conflicts'] = [];
  readonly actions: RunResult['actions'] = {};
  readonly proposed: string[] = [];
  readonly awaitingCapacity: RunResult['awaitingCapacity'] = [];
  /** Patients whose step this run has written. */
  readonly done = new Set<string>();
  private readonly placements = new Map<string, Placement>();

  constructor(private readonly record: ProgrammeRecord) {}

  add(patientId: string, written: PatientWritten): void {
    this.done.add(patientId);
    this.placements.set(patientId, written.placement);
    if (written.awaitingCapacity) {
      this.awaitingCapacity.push({ patient: `Patient/${patientId}`, risk: written.awaitingCapacity });
    }
    for (const kind of written.changed) {
      this.actions[kind] = (this.actions[kind] ?? 0) + 1;
    }
    if (written.changed.includes('propose')) {
      this.proposed.push(patientId);
    }
    this.addWrites(written);
  }

  addWrites(written: Pick<PatientWritten, 'writes' | 'conflicts'>): void {
    addOutcome(this.writes, written.writes);
    this.conflicts.push(...written.conflicts);
  }

  /** The cohort's members once the writes are done: those written this run (the Group keeps the rest as it is). */
  members(): Map<string, { inactive: boolean }> {
    const members = new Map<string, { inactive: boolean }>();
    for (const [patientId, placement] of this.placements) {
      if (placement.member) {
        members.set(patientId, placement.member);
      }
    }
    return members;
  }

  /** Every programme patient by stage once the writes are done. */
  stages(): Partial<Record<Stage, number>> {
    const stageOf = new Map<string, Stage | undefined>();
    for (const [patientId, patient] of this.record.patients) {
      stageOf.set(patientId, standingOf(patient).stage);
    }
    for (const [patientId, placement] of this.placements) {
      stageOf.set(patientId, placement.stage);
    }
    const stages: Partial<Record<Stage, number>> = {};
    for (const stage of stageOf.values()) {
      if (stage) {
        stages[stage] = (stages[stage] ?? 0) + 1;
      }
    }
    return stages;
  }
}

/** Whether an action frees the patient's place in a caseload. */
export function releasesPlace(actions: readonly Action[]): boolean {
  return actions.some((a) => ['discharge', 'exit', 'patient-declined', 'complete-plan'].includes(a.kind));
}
