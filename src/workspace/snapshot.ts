import type { Patient } from '@medplum/fhirtypes';
import { Caseloads } from '../allocation';
import type { Config } from '../config';
import type { Decision as CriteriaDecision, Programme } from '../criteria';
import type { IsoDate } from '../dates';
import { evaluatePatient } from '../evaluate';
import type { FhirClient, SourceReferences } from '../fhir';
import type { ProgrammeRecord } from '../lifecycle';
import { isOpenStage, readPatientProgramme, readProgrammeRecord, standingOf } from '../lifecycle';
import type { CompiledMapping } from '../mappings';
import { featureEvaluator } from '../mappings';
import { mapConcurrently, readChunk } from '../read';
import { cohortIdentifier } from '../writeback';
import { practiceReferenceOf, readOrganisations } from './people';
import type { Practice, WorklistRow } from './types';

/** A programme patient as the worklist needs them: their Patient and this evaluation's decision. */
export interface KnownPatient {
  patient?: Patient;
  decision?: CriteriaDecision;
}

/**
 * The programme as the workspace shows it between runs: the record (Group, Tasks, Flags, CarePlans), and for each
 * patient in an open episode their Patient and their evaluation on the snapshot's date. Read once; a decision
 * re-reads only its own patient.
 */
export interface Snapshot {
  asOf: IsoDate;
  record: ProgrammeRecord;
  known: Map<string, KnownPatient>;
  organisations: Map<string, Practice>;
  /** Worked out from the record on first use, dropped when a patient is re-read. */
  memo: { rows?: WorklistRow[]; caseloads?: Caseloads };
}

export interface SnapshotDeps {
  source: FhirClient;
  record: FhirClient;
  programme: Programme;
  mapping: CompiledMapping;
  config: Pick<Config, 'extract'>;
  populationKey: () => Promise<string>;
  asOf: () => IsoDate;
  /** How the record refers to the source's patients (absolute when it is kept apart). */
  references: SourceReferences;
}

/** The programme's record: its Group and every Task, Flag and CarePlan, filed by patient (what caseloads need). */
export async function readRecord(deps: SnapshotDeps): Promise<ProgrammeRecord> {
  const key = await deps.populationKey();
  return readProgrammeRecord(deps.record, deps.programme.id, cohortIdentifier(deps.programme, key));
}

/** On the record read, the Patient and data of everyone in an open episode, chunk by chunk, evaluated. */
export async function readSnapshot(
  deps: SnapshotDeps,
  record: ProgrammeRecord,
  organisations: Map<string, Practice>
): Promise<Snapshot> {
  const snapshot: Snapshot = { asOf: deps.asOf(), record, known: new Map(), organisations, memo: {} };
  const open = [...record.patients.values()].filter((p) => isOpenStage(standingOf(p).stage)).map((p) => p.patientId);
  await evaluateInto(deps, snapshot, open);
  return snapshot;
}

/** Re-reads these patients' programme resources into the record. */
export async function refreshRecord(
  deps: SnapshotDeps,
  record: ProgrammeRecord,
  patientIds: readonly string[]
): Promise<void> {
  await Promise.all(
    patientIds.map(async (id) => {
      const place = await readPatientProgramme(deps.record, deps.programme.id, id, deps.references);
      if (place) {
        record.patients.set(id, place);
      } else {
        record.patients.delete(id);
      }
    })
  );
}

/** Re-reads these patients' programme resources (a decision, a targeted refresh) into the snapshot. */
export async function refreshSnapshot(
  deps: SnapshotDeps,
  snapshot: Snapshot,
  patientIds: readonly string[]
): Promise<void> {
  await refreshRecord(deps, snapshot.record, patientIds);
  const unevaluated = patientIds.filter(
    (id) => !snapshot.known.get(id)?.decision && isOpenStage(standingOf(snapshot.record.patients.get(id)).stage)
  );
  await evaluateInto(deps, snapshot, unevaluated);
  snapshot.memo = {};
}

async function evaluateInto(deps: SnapshotDeps, snapshot: Snapshot, patientIds: readonly string[]): Promise<void> {
  const { source, mapping, programme, config } = deps;
  const evaluate = featureEvaluator(mapping, snapshot.asOf);
  const context = { programme, evaluate, asOf: snapshot.asOf, record: snapshot.record };
  async function* chunks(): AsyncGenerator<string[]> {
    for (let i = 0; i < patientIds.length; i += source.chunkSize) {
      yield patientIds.slice(i, i + source.chunkSize);
    }
  }
  for await (const patients of mapConcurrently(chunks(), config.extract.concurrency, async (ids) => {
    const found = await source.searchAll<Patient>('Patient', { _id: ids.join(',') });
    const wanted = new Set(ids);
    const patients = found.filter((p) => p.resourceType === 'Patient' && p.id && wanted.has(p.id));
    const { records } = await readChunk(source, mapping, patients, snapshot.asOf, {
      dateBounds: config.extract.dateBounds,
      subjectSearch: config.extract.subjectSearch,
    });
    return records.map((r) => {
      const evaluation = evaluatePatient(r, context);
      return { patient: r.patient, decision: 'decision' in evaluation ? evaluation.decision : undefined };
    });
  })) {
    for (const known of patients) {
      snapshot.known.set(known.patient.id as string, known);
    }
  }
  const practices = [...snapshot.known.values()].map((k) => (k.patient ? practiceReferenceOf(k.patient) : undefined));
  await readOrganisations(
    source,
    practices.filter((r): r is string => Boolean(r)),
    snapshot.organisations
  );
}

/** Caseloads as the record holds them (who carries whom), worked out once per snapshot. */
export function caseloadsOf(snapshot: Snapshot): Caseloads {
  snapshot.memo.caseloads ??= new Caseloads(snapshot.record);
  return snapshot.memo.caseloads;
}
