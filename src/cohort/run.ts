import { randomUUID } from 'node:crypto';
import type { Scope, WorkforceMember } from '../config';
import type { Capacity, Programme } from '../criteria';
import type { IsoDate } from '../dates';
import { evaluateChunk } from '../evaluate';
import type { FhirClient } from '../fhir';
import { lifecycleParameters, planStep, readProgrammeRecord } from '../lifecycle';
import type { Logger } from '../logging';
import { withLogContext } from '../logging';
import type { CompiledMapping } from '../mappings';
import { featureEvaluator } from '../mappings';
import { chooseReadMode, expectedSize, readPatients, resolvePopulation } from '../read';
import type { PatientStep } from '../writeback';
import { cohortIdentifier, ProgrammeWriter, watermarkOf } from '../writeback';
import { nextWatermark, runResult, untouchedMembers } from './finish';
import { rankCandidates } from './rank';
import type { RunProgress, RunResult } from './result';
import { EvaluationTally, releasesPlace, WriteTally } from './tally';

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
  /** Chunks of patients read at once. */
  concurrency: number;
  dateBounds: boolean;
  /** How the population is read: searches page by page (default), or one Bulk Data export. */
  extract?: 'search' | 'bulk';
  /** Bulk Data: the longest wait between status polls. */
  maxPollMs?: number;
  /**
   * Incremental refresh: when the cohort Group carries a watermark, read only the patients whose data changed since
   * (less `overlapSeconds`, for writes in flight at the last read) and everyone in the programme; move it on after.
   */
  incremental?: { overlapSeconds: number };
  reviewOwner?: string;
  workforce?: readonly WorkforceMember[];
  /** Entries per transaction the FHIR server accepts (Medplum: 8 when any entry is conditional). */
  transactionMaxEntries?: number;
  /** Keep every evaluated patient's decision (for `hfu tune`). */
  keepAllDecisions?: boolean;
  signal?: AbortSignal;
  /** The wall clock, for the dates the record keeps (authoredOn, recorded); injectable for tests. */
  now?: () => Date;
  /** The run's id (for a service that must name a run before it starts); default a new UUID. */
  runId?: string;
  /**
   * Asks the run to stop at the next safe point: before the next page is read or the next patient's transaction is
   * sent (the one in flight finishes). A stopped run writes no Group and reports itself incomplete.
   */
  stop?: AbortSignal;
  /**
   * A targeted refresh: only these patients of the population are read and advanced (a notification that their
   * review or care plan changed). No new proposals: ranking and capacity need the whole population.
   */
  patients?: readonly string[];
  onProgress?: (progress: RunProgress) => void;
}

/**
 * One refresh of the programme, as stages: read the population chunk by chunk; evaluate each chunk; plan each
 * patient's lifecycle step from the record and the decision, writing at once the steps that need no ranking; once
 * everyone is read, rank the candidates against capacity and write the rest (discharges and exits release their
 * places before enrolments take them, in patient id order), then the cohort Group. A patient whose data could not be
 * read whole gets no write at all.
 */
export async function runCohort(deps: RunDeps, settings: RunSettings): Promise<RunResult> {
  const runId = settings.runId ?? randomUUID();
  return withLogContext({ runId }, () => run(deps, settings, runId));
}

async function run(deps: RunDeps, settings: RunSettings, runId: string): Promise<RunResult> {
  const started = performance.now();
  const { client, programme, logger, mapping } = deps;
  const { asOf, signal, stop } = settings;
  const population = await resolvePopulation(client, settings.scope, signal);
  const record = await readProgrammeRecord(client, programme.id, cohortIdentifier(programme, population.key), signal);
  const programmePatients = [...record.patients.keys()];
  const maxPollMs = settings.maxPollMs ?? 120_000;
  const mode = await chooseReadMode(deps, population, {
    extract: settings.extract ?? 'search',
    patients: settings.patients,
    incremental: settings.incremental,
    watermark: settings.incremental && watermarkOf(record.group),
    programmePatients,
    maxPollMs,
    signal,
  });
  logger.info('run started', {
    programme: programme.id,
    mapping: mapping.name,
    population: population.key,
    mode: mode.kind,
    patients: mode.kind === 'full' ? undefined : mode.patients.size,
    asOf,
    dryRun: settings.dryRun,
  });
  const read = readPatients(deps, {
    ...{ population, mode, programmePatients, asOf, maxPollMs, signal, stop },
    ...{
      dateBounds: settings.dateBounds,
      concurrency: settings.concurrency,
      trackNewest: Boolean(settings.incremental),
    },
  });
  const writer = new ProgrammeWriter(client, programme, population, record, {
    ...{ asOf, dryRun: settings.dryRun, signal, reviewOwner: settings.reviewOwner },
    now: (settings.now?.() ?? new Date()).toISOString(),
    workforce: settings.workforce ?? [],
    transactionMaxEntries: settings.transactionMaxEntries ?? 8,
  });
  const evaluated = new EvaluationTally(record, logger, Boolean(settings.keepAllDecisions));
  const written = new WriteTally(record);
  const expected = settings.onProgress ? await expectedSize(population, mode, signal) : undefined;
  const progress = (phase: RunProgress['phase']) => {
    const { created, updated, unchanged, provenance } = written.writes;
    const writes = { created, updated, unchanged, provenance };
    const counts = { evaluated: evaluated.evaluated, advanced: written.done.size, writes };
    settings.onProgress?.({ phase, ...counts, ...(expected !== undefined ? { expected } : {}) });
  };
  const parameters = { asOf, ...lifecycleParameters(programme) };
  const plan = (patientId: string, proposable: boolean): PatientStep => {
    const [patient, decision] = [record.patients.get(patientId), evaluated.decisions.get(patientId)];
    return { patientId, patient, decision, step: planStep(patient, decision, proposable, parameters) };
  };
  const write = async (step: PatientStep, phase: RunProgress['phase']) => {
    written.add(step.patientId, await writer.patient(step));
    progress(phase);
  };

  const context = { programme, evaluate: featureEvaluator(mapping, asOf), asOf, record };
  for await (const chunk of read) {
    const evaluations = await evaluateChunk(chunk.records, context);
    evaluated.add(evaluations);
    // The programme's patients just evaluated whose steps depend on nobody else are written now.
    const early = evaluations
      .filter((e) => 'decision' in e && record.patients.has(e.patientId) && !written.done.has(e.patientId))
      .filter(() => !stop?.aborted)
      .map((e) => plan(e.patientId, false))
      .filter((s) => !s.step.needsRanking);
    early.filter((s) => releasesPlace(s.step.actions)).forEach((s) => writer.release(s.patientId));
    await Promise.all(early.map((s) => write(s, 'reading')));
    progress('reading');
  }
  const report = read.report();
  const readMs = performance.now() - started;

  const ranking = rankCandidates(programme, evaluated.decisions.values(), record, {
    capacity: settings.capacity,
    population: evaluated.evaluated,
    proposes: mode.kind === 'full' || (mode.kind === 'incremental' && !settings.capacity),
  });
  const writeStarted = performance.now();
  let stopped = report.stopped;
  if (!stopped) {
    const ids = [...new Set([...record.patients.keys(), ...ranking.proposable])].sort();
    const steps = ids
      .filter((id) => evaluated.decisions.has(id) && !written.done.has(id))
      .map((id) => plan(id, ranking.proposable.has(id)));
    steps.filter((s) => releasesPlace(s.step.actions)).forEach((s) => writer.release(s.patientId));
    for (const step of steps) {
      if ((stopped = Boolean(stop?.aborted))) {
        break;
      }
      await write(step, 'writing');
    }
  }
  if (!stopped) {
    const untouched = untouchedMembers(record, mode, report, evaluated.malformed);
    written.addWrites(await writer.group(written.members(), untouched, nextWatermark(settings, record, mode, report)));
  }
  const timings = {
    readMs: Math.round(readMs),
    writeMs: Math.round(performance.now() - writeStarted),
    totalMs: Math.round(performance.now() - started),
  };
  return runResult(deps, settings, { runId, population, mode, report, evaluated, written, ranking, stopped, timings });
}
