import type { Patient, QuestionnaireResponse, QuestionnaireResponseItem, Task } from '@medplum/fhirtypes';
import { validateResponse } from '../care';
import type { Config } from '../config';
import type { Programme } from '../criteria';
import type { IsoDate } from '../dates';
import { londonToday } from '../dates';
import { loggableError } from '../errors';
import { evaluatePatient } from '../evaluate';
import type { FhirClient } from '../fhir';
import type { SourceReferences } from '../fhir';
import { FhirError, isVersionConflict } from '../fhir';
import { Caseloads } from '../allocation';
import type { ProgrammeRecord, Stage } from '../lifecycle';
import { isOpenTask, readPatientProgramme, standingOf } from '../lifecycle';
import type { Logger } from '../logging';
import type { CompiledMapping } from '../mappings';
import { featureEvaluator } from '../mappings';
import { sourceReferences } from '../cohort';
import type { Population } from '../read';
import { readChunk, resolvePopulation } from '../read';
import type { RiskType } from '../vocabulary';
import { isTaskInput } from '../vocabulary';
import { auditEvent, recordAudit } from './audit';
import { caseloadView, myCaseloads, programmeSummary } from './caseloads';
import { checkDecision, conflictOf, decidedTask, decisionProvenance, decisionTarget } from './decide';
import { Forbidden, InvalidInput, NotFound } from './errors';
import type { OwnerLabels } from './owners';
import { readOwnerLabels } from './owners';
import { maySee, patientPractice, patientSummary, practiceReferenceOf, readOrganisations } from './people';
import { patientReview } from './review';
import { SharedRead } from './shared-read';
import type { CareFormKind, CareFormResult, CareFormView } from './forms';
import {
  canonicalOf,
  completedTask,
  FORM_IDENTIFIER,
  formResponse,
  formTask,
  planGoals,
  planView,
  questionnaireOf,
  unknownGoals,
} from './forms';
import type { Snapshot, SnapshotDeps } from './snapshot';
import { readRecord, readSnapshot, refreshRecord, refreshSnapshot } from './snapshot';
import type {
  CaseloadView,
  Decision,
  DecisionResult,
  PatientReview,
  Practice,
  ProgrammeSummary,
  WorklistFilters,
  WorklistView,
  WorkspaceUser,
} from './types';
import { ownerOf, worklistRows, worklistView } from './worklist';

export interface WorkspaceDeps {
  /** Where the clinical data are read (`fhir`). */
  source: FhirClient;
  /** Where the programme's state lives and decisions are written (`writeback.fhir`; may be the same client). */
  record: FhirClient;
  config: Pick<Config, 'scope' | 'extract' | 'allocation' | 'writeback'>;
  programme: Programme;
  mapping: CompiledMapping;
  logger: Logger;
  /** A targeted refresh of one patient (the service's run of just them), awaited after each decision. */
  refreshPatient(patientId: string): Promise<void>;
  /** The wall clock, for what decisions and audit records are stamped with. */
  now?: () => Date;
  /** The evaluation date of the figures shown (like `hfu run --now`); default today in London. */
  asOf?: () => IsoDate;
  /** The population's key (names the cohort Group); default resolved from `config.scope` once. */
  populationKey?: () => Promise<string>;
}

export interface Workspace {
  worklist(user: WorkspaceUser, filters?: WorklistFilters): Promise<WorklistView>;
  /** The review page; records the view as an AuditEvent. Throws Forbidden or NotFound (body-free). */
  patient(user: WorkspaceUser, patientId: string): Promise<PatientReview>;
  decide(user: WorkspaceUser, patientId: string, decision: Decision, expectedVersion: string): Promise<DecisionResult>;
  caseloads(user: WorkspaceUser): Promise<CaseloadView>;
  myPatients(user: WorkspaceUser): Promise<CaseloadView>;
  programme(user: WorkspaceUser): Promise<ProgrammeSummary>;
  /** A care team form of the patient's current episode, for the MDT (not a viewer); records the view. */
  careForm(user: WorkspaceUser, patientId: string, form: CareFormKind): Promise<CareFormView>;
  /**
   * Saves the form's answers as a QuestionnaireResponse by the user and completes its Task with If-Match on the
   * version the user saw, then refreshes the patient; invalid answers write nothing.
   */
  recordForm(
    user: WorkspaceUser,
    patientId: string,
    form: CareFormKind,
    items: QuestionnaireResponseItem[],
    expectedVersion: string
  ): Promise<CareFormResult>;
  /**
   * The record changed: a run finished. With patient ids (a targeted refresh) only they are read again; without,
   * the whole view is read again on the next request.
   */
  invalidate(patientIds?: readonly string[]): void;
}

export function createWorkspace(deps: WorkspaceDeps): Workspace {
  return new FhirWorkspace(deps);
}

class FhirWorkspace implements Workspace {
  /** The record alone (caseloads, a patient's page), and the worklist's view built on it (every patient evaluated). */
  private readonly programmeRecord: SharedRead<ProgrammeRecord>;
  private readonly snapshot: SharedRead<Snapshot>;
  /** Practices by Organization reference, kept until the next full invalidation. */
  private readonly organisations = new Map<string, Practice>();
  private readonly labels: SharedRead<OwnerLabels>;
  private population?: Promise<Population>;
  private readonly snapshotDeps: SnapshotDeps;

  constructor(private readonly deps: WorkspaceDeps) {
    this.snapshotDeps = {
      source: deps.source,
      record: deps.record,
      programme: deps.programme,
      mapping: deps.mapping,
      config: deps.config,
      populationKey: deps.populationKey ?? (async () => (await this.populationOnce()).key),
      asOf: () => this.asOf(),
      references: sourceReferences(deps),
    };
    this.programmeRecord = new SharedRead(() => readRecord(this.snapshotDeps));
    this.snapshot = new SharedRead(async () =>
      readSnapshot(this.snapshotDeps, await this.programmeRecord.get(), this.organisations)
    );
    this.labels = new SharedRead(() => readOwnerLabels(deps.source, this.workforce));
  }

  private get workforce() {
    return this.deps.config.allocation.workforce;
  }

  private asOf(): IsoDate {
    return this.deps.asOf?.() ?? londonToday(this.now());
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  private populationOnce(): Promise<Population> {
    this.population ??= resolvePopulation(this.deps.source, this.deps.config.scope).catch((err: unknown) => {
      this.population = undefined;
      throw err;
    });
    return this.population;
  }

  async worklist(user: WorkspaceUser, filters: WorklistFilters = {}): Promise<WorklistView> {
    const [snapshot, labels] = await Promise.all([this.snapshot.get(), this.labels.get()]);
    const rows = worklistRows(snapshot, this.deps.programme, labels, this.deps.config.writeback.reviewOwner);
    return worklistView(rows, snapshot, this.deps.programme, user, filters);
  }

  async patient(user: WorkspaceUser, patientId: string): Promise<PatientReview> {
    checkId(patientId);
    const asOf = this.asOf();
    // Everything the page needs is read at once, the patient's data with it (by id: a search needs no more); none of
    // it is shown, nor the view recorded, unless the user may see the patient.
    const [patient, programmeRecord, place, population, labels, { records }] = await Promise.all([
      this.authorise(user, patientId),
      this.programmeRecord.get(),
      readPatientProgramme(this.deps.record, this.deps.programme.id, patientId, this.snapshotDeps.references),
      this.populationOnce(),
      this.labels.get(),
      readChunk(this.deps.source, this.deps.mapping, [{ resourceType: 'Patient', id: patientId }], asOf, {
        dateBounds: this.deps.config.extract.dateBounds,
        subjectSearch: this.deps.config.extract.subjectSearch,
      }),
    ]);
    if (!place && !population.includes(patient)) {
      throw new NotFound();
    }
    await recordAudit(
      this.deps.record,
      auditEvent(
        user,
        { kind: 'view', patient: this.snapshotDeps.references.patient(patientId) },
        this.now().toISOString()
      )
    );
    const record = { patient, resources: records[0]?.resources ?? {} };
    const evaluation = evaluatePatient(record, {
      programme: this.deps.programme,
      evaluate: featureEvaluator(this.deps.mapping, asOf),
      asOf,
      record: { patients: new Map(place ? [[patientId, place]] : []) },
    });
    const review = patientReview({
      programme: this.deps.programme,
      asOf,
      user,
      summary: patientSummary(patient, asOf, this.organisations),
      record,
      ...('decision' in evaluation ? { decision: evaluation.decision } : {}),
      place,
      workforce: this.workforce,
      caseloads: new Caseloads(programmeRecord),
      labels,
      reviewOwner: this.deps.config.writeback.reviewOwner,
    });
    return { ...review, plan: planView(patientId, standingOf(place).latest) };
  }

  async decide(
    user: WorkspaceUser,
    patientId: string,
    decision: Decision,
    expectedVersion: string
  ): Promise<DecisionResult> {
    if (user.role === 'viewer') {
      throw new Forbidden();
    }
    checkId(patientId);
    const [patient, programmeRecord, place, labels] = await Promise.all([
      this.authorise(user, patientId),
      this.programmeRecord.get(),
      readPatientProgramme(this.deps.record, this.deps.programme.id, patientId, this.snapshotDeps.references),
      this.labels.get(),
    ]);
    const { latest, stage } = standingOf(place);
    const target = decisionTarget(latest, stage);
    const task = target?.task;
    if (!target || !task?.id) {
      throw new InvalidInput('review', 'the patient has no review to decide');
    }
    if (task.meta?.versionId !== expectedVersion) {
      return conflictOf(task, target.kind);
    }
    if (!target.open) {
      throw new InvalidInput('review', 'already decided');
    }
    const rules = {
      workforce: this.workforce,
      caseloads: new Caseloads(programmeRecord),
      risk: riskOfReview(latest?.review ?? task),
      labels,
      currentOwner: latest && ownerOf(latest, this.deps.config.writeback.reviewOwner),
    };
    checkDecision(decision, rules, target.kind);
    const now = this.now().toISOString();
    let written: Task;
    try {
      written = await this.deps.record.update(decidedTask(task, decision, user, now, labels), {
        ifMatch: expectedVersion,
      });
    } catch (err) {
      if (err instanceof FhirError && isVersionConflict(err.status)) {
        return conflictOf(await this.deps.record.read<Task>('Task', task.id), target.kind);
      }
      throw err;
    }
    const version = written.meta?.versionId ?? '';
    const reference = `Task/${task.id}`;
    const onBehalfOf = user.organisation ?? organisationOf(patient, this.snapshotDeps.references);
    await Promise.all([
      this.deps.record.update(decisionProvenance(this.deps.programme, written, decision, user, onBehalfOf, now)),
      recordAudit(
        this.deps.record,
        auditEvent(
          user,
          {
            kind: 'decision',
            patient: this.snapshotDeps.references.patient(patientId),
            review: reference,
            version,
            decision: decision.kind,
          },
          now
        )
      ),
    ]);
    const refreshed = await this.refresh(patientId);
    const after = await this.patchSnapshot(patientId);
    return { kind: 'done', review: { reference, version }, refreshed, ...(after ? { stage: after } : {}) };
  }

  async caseloads(user: WorkspaceUser): Promise<CaseloadView> {
    const [snapshot, labels] = await Promise.all([this.snapshot.get(), this.labels.get()]);
    return caseloadView(snapshot, this.workforce, labels, user);
  }

  async myPatients(user: WorkspaceUser): Promise<CaseloadView> {
    const [snapshot, labels] = await Promise.all([this.snapshot.get(), this.labels.get()]);
    return myCaseloads(snapshot, this.workforce, labels, user);
  }

  async programme(user: WorkspaceUser): Promise<ProgrammeSummary> {
    const snapshot = await this.snapshot.get();
    return programmeSummary(snapshot, this.deps.programme, this.workforce, user);
  }

  async careForm(user: WorkspaceUser, patientId: string, form: CareFormKind): Promise<CareFormView> {
    const { task, episode } = await this.formTaskOf(user, patientId, form);
    await recordAudit(
      this.deps.record,
      auditEvent(
        user,
        { kind: 'view', patient: this.snapshotDeps.references.patient(patientId) },
        this.now().toISOString()
      )
    );
    return {
      form,
      questionnaire: questionnaireOf(form),
      task: { reference: `Task/${task.id}`, version: task.meta?.versionId ?? '' },
      open: isOpenTask(task),
      goals: form.kind === 'check-in' ? planGoals(episode) : [],
    };
  }

  async recordForm(
    user: WorkspaceUser,
    patientId: string,
    form: CareFormKind,
    items: QuestionnaireResponseItem[],
    expectedVersion: string
  ): Promise<CareFormResult> {
    const { task, episode } = await this.formTaskOf(user, patientId, form);
    if (!isOpenTask(task)) {
      return formConflict(task); // recorded (or closed) since the user opened the form
    }
    const questionnaire = questionnaireOf(form);
    const now = this.now().toISOString();
    const subject = this.snapshotDeps.references.patient(patientId);
    const response = formResponse({
      task,
      canonical: canonicalOf(task, questionnaire),
      subject,
      author: user.agent,
      items,
      now,
    });
    const issues = [
      ...validateResponse(questionnaire, response),
      ...(form.kind === 'check-in' ? unknownGoals(items, planGoals(episode)) : []),
    ];
    if (issues.length) {
      return { kind: 'invalid', issues };
    }
    if (task.meta?.versionId !== expectedVersion) {
      return formConflict(task);
    }
    const { resource: saved } = await this.deps.record.create<QuestionnaireResponse>(response, {
      ifNoneExist: { identifier: `${FORM_IDENTIFIER}|${response.identifier?.value ?? ''}` },
    });
    const reference = `QuestionnaireResponse/${saved.id}`;
    let written: Task;
    try {
      written = await this.deps.record.update(completedTask(task, reference, now), { ifMatch: expectedVersion });
    } catch (err) {
      if (err instanceof FhirError && isVersionConflict(err.status)) {
        return formConflict(await this.deps.record.read<Task>('Task', task.id as string));
      }
      throw err;
    }
    const version = written.meta?.versionId ?? '';
    await recordAudit(
      this.deps.record,
      auditEvent(
        user,
        { kind: 'decision', patient: subject, review: `Task/${task.id}`, version, decision: `${form.kind}-recorded` },
        now
      )
    );
    const refreshed = await this.refresh(patientId);
    await this.patchSnapshot(patientId);
    return { kind: 'done', response: reference, task: { reference: `Task/${task.id}`, version }, refreshed };
  }

  /** The Task of the form in the patient's latest episode, for a user who may record it; else NotFound. */
  private async formTaskOf(user: WorkspaceUser, patientId: string, form: CareFormKind) {
    if (user.role === 'viewer') {
      throw new Forbidden();
    }
    checkId(patientId);
    await this.authorise(user, patientId);
    const place = await readPatientProgramme(
      this.deps.record,
      this.deps.programme.id,
      patientId,
      this.snapshotDeps.references
    );
    const episode = standingOf(place).latest;
    const task = formTask(episode, form);
    if (!task?.id) {
      throw new NotFound();
    }
    return { task, episode };
  }

  invalidate(patientIds?: readonly string[]): void {
    const inUse = Boolean(this.snapshot.peek() ?? this.programmeRecord.peek());
    if (!patientIds || !inUse) {
      this.programmeRecord.invalidate();
      this.snapshot.invalidate();
      this.labels.invalidate();
      this.organisations.clear();
      if (inUse) {
        // In use: read the new view now, so the meeting's next page finds it ready rather than waiting for it.
        this.snapshot.get().catch(() => undefined);
      }
      return;
    }
    this.reread(patientIds).catch(() => {
      // A failed partial re-read: read everything next time.
      this.programmeRecord.invalidate();
      this.snapshot.invalidate();
    });
  }

  /** The patient, if this user may see them: NotFound when there is none, Forbidden for another practice. */
  private async authorise(user: WorkspaceUser, patientId: string): Promise<Patient> {
    checkId(patientId);
    const patient = await this.readPatient(patientId);
    const gp = practiceReferenceOf(patient);
    if (gp) {
      await readOrganisations(this.deps.source, [gp], this.organisations);
    }
    if (!maySee(user, patientPractice(patient, this.organisations))) {
      throw new Forbidden();
    }
    return patient;
  }

  private async readPatient(patientId: string): Promise<Patient> {
    try {
      return await this.deps.source.read<Patient>('Patient', patientId);
    } catch (err) {
      if (err instanceof FhirError && (err.status === 404 || err.status === 410)) {
        throw new NotFound();
      }
      throw err;
    }
  }

  /** The targeted refresh after a decision; a failure leaves the decision recorded and the next run to follow it. */
  private async refresh(patientId: string): Promise<boolean> {
    try {
      await this.deps.refreshPatient(patientId);
      return true;
    } catch (err) {
      this.deps.logger.warn('workspace: the refresh after a decision failed; the next run will follow it', {
        patient: `Patient/${patientId}`,
        ...loggableError(err),
      });
      return false;
    }
  }

  /** The decided patient read again into the views held (if any), so the next worklist shows the decision. */
  private async patchSnapshot(patientId: string): Promise<Stage | undefined> {
    await this.reread([patientId]);
    const record = await this.programmeRecord.peek();
    return record ? standingOf(record.patients.get(patientId)).stage : undefined;
  }

  /** These patients read again into the view (and so into the record it holds), or into the record alone. */
  private async reread(patientIds: readonly string[]): Promise<void> {
    const snapshot = this.snapshot.peek();
    if (snapshot) {
      await refreshSnapshot(this.snapshotDeps, await snapshot, patientIds);
      return;
    }
    const record = this.programmeRecord.peek();
    if (record) {
      await refreshRecord(this.snapshotDeps, await record, patientIds);
    }
  }
}

/** A FHIR id, else there is no such patient (nothing else reaches a URL). */
function checkId(patientId: string): void {
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(patientId)) {
    throw new NotFound();
  }
}

/** Who changed the form's Task since the user opened it, and when, as a decision's conflict says. */
function formConflict(current: Task): Extract<CareFormResult, { kind: 'conflict' }> {
  const { by, at } = conflictOf(current);
  return { kind: 'conflict', ...(by ? { by } : {}), ...(at ? { at } : {}) };
}

function riskOfReview(review: Task): RiskType {
  const code = review.input?.find((i) => isTaskInput(i, 'dominantRisk'))?.valueCodeableConcept?.coding?.[0]?.code;
  return code === 'psychosocial' ? 'psychosocial' : 'clinical';
}

/** The patient's practice, as the record refers to the source's Organization. */
function organisationOf(patient: Patient, references: SourceReferences): { reference: string } | undefined {
  const reference = practiceReferenceOf(patient);
  return reference ? { reference: references.to(reference) } : undefined;
}
