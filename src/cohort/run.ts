import { randomUUID } from 'node:crypto';
import type { LotteryDraw } from '../criteria';
import type { EvaluationContext } from '../evaluate';
import type { UnprocessableForm } from '../care';
import { readCareForms } from '../care';
import { lifecycleParameters } from '../criteria';
import { evaluateChunk } from '../evaluate';
import type { ProgrammeRecord } from '../lifecycle';
import { planStep, readProgrammeRecord } from '../lifecycle';
import { withLogContext } from '../logging';
import { featureEvaluator } from '../mappings';
import type { PatientChunk, PatientRead, Population, ReadDeps, ReadMode } from '../read';
import { checkSubjectSearch, chooseReadMode, expectedSize, readPatients, resolvePopulation } from '../read';
import type { PatientStep } from '../writeback';
import { cohortIdentifier, ProgrammeWriter, watermarkOf } from '../writeback';
import { nextWatermark, runResult, untouchedMembers } from './finish';
import { rankCandidates } from './rank';
import type { RunDeps, RunSettings } from './configure';
import { sourceReferences } from './configure';
import type { RunProgress, RunResult } from './result';
import { EvaluationTally, releasesPlace, WriteTally } from './tally';

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
  const inputs = await start(deps, settings);
  const stages = await compose(deps, settings, inputs);
  for await (const chunk of stages.read) {
    await evaluateAndWriteEarly(stages, chunk);
  }
  const report = stages.read.report();
  const readMs = performance.now() - started;
  const { record, mode } = inputs;
  const ranking = rankCandidates(deps.programme, stages.evaluated.decisions.values(), record, {
    capacity: settings.capacity,
    population: stages.evaluated.evaluated,
    proposes: mode.kind === 'full' || (mode.kind === 'incremental' && !settings.capacity),
    asOf: settings.asOf,
  });
  const writeStarted = performance.now();
  const stopped = report.stopped || (await writeTheRest(stages, ranking.proposable, drawsByPatient(ranking.draws)));
  if (!stopped) {
    const untouched = untouchedMembers(record, mode, report, stages.evaluated.malformed, sourceReferences(deps));
    const watermark = nextWatermark(settings, record, mode, report);
    stages.written.addWrites(await stages.writer.group(stages.written.members(), untouched, watermark));
  }
  const timings = {
    readMs: Math.round(readMs),
    writeMs: Math.round(performance.now() - writeStarted),
    totalMs: Math.round(performance.now() - started),
  };
  const { evaluated, written } = stages;
  const { unprocessable } = inputs;
  const all = {
    runId,
    population: inputs.population,
    mode,
    report,
    evaluated,
    written,
    ranking,
    stopped,
    unprocessable,
    timings,
  };
  return runResult(deps, settings, all);
}

interface RunInputs {
  population: Population;
  record: ProgrammeRecord;
  mode: ReadMode;
  unprocessable: UnprocessableForm[];
}

/** The population, the programme's record as it stands, and which of the population this run reads. */
async function start(deps: RunDeps, settings: RunSettings): Promise<RunInputs> {
  const { source, programme, logger } = deps;
  const { signal } = settings;
  const population = await resolvePopulation(source, settings.scope, signal, settings.subjectSearch);
  if (settings.extract !== 'bulk') {
    await checkSubjectSearch(source, settings.subjectSearch ?? 'or-list', signal);
  }
  const cohort = cohortIdentifier(programme, population.key);
  const record = await readProgrammeRecord(deps.record, programme.id, cohort, signal);
  // The care team's forms are kept beside the Tasks they complete: in the record.
  const unprocessable = await readCareForms(deps.record, record, sourceReferences(deps), signal);
  for (const item of unprocessable) {
    const what = item.reason.startsWith('reallocate-') ? 'move unresolved' : 'form unprocessable';
    logger.warn(`${what}: left alone`, { ...item }); // a Task reference and a code only
  }
  const mode = await chooseReadMode(readDeps(deps), population, {
    extract: settings.extract ?? 'search',
    patients: settings.patients,
    incremental: settings.incremental,
    watermark: settings.incremental && watermarkOf(record.group),
    programmePatients: [...record.patients.keys()],
    maxPollMs: settings.maxPollMs ?? MAX_POLL_MS,
    signal,
  });
  logger.info('run started', {
    programme: programme.id,
    mapping: deps.mapping.name,
    population: population.key,
    mode: mode.kind,
    patients: mode.kind === 'full' ? undefined : mode.patients.size,
    asOf: settings.asOf,
    dryRun: settings.dryRun,
  });
  return { population, record, mode, unprocessable };
}

/** Each patient a lottery proposed, with their draw. */
function drawsByPatient(draws: readonly LotteryDraw[]): Map<string, LotteryDraw> {
  return new Map(draws.flatMap((draw) => draw.order.slice(0, draw.places).map((id) => [id, draw] as const)));
}

/** What reading needs: the source, never the record. */
function readDeps(deps: RunDeps): ReadDeps {
  return { client: deps.source, mapping: deps.mapping, logger: deps.logger };
}

/** Bulk Data: the longest wait between status polls, unless configured. */
const MAX_POLL_MS = 120_000;

interface Stages {
  read: PatientRead;
  evaluation: EvaluationContext;
  evaluated: EvaluationTally;
  writer: ProgrammeWriter;
  written: WriteTally;
  record: ProgrammeRecord;
  stop?: AbortSignal;
  /** One patient's step: their record and decision planned, with proposals allowed or not (and the lottery drawn in). */
  plan(patientId: string, proposable: boolean, draw?: LotteryDraw): PatientStep;
  write(step: PatientStep, phase: RunProgress['phase']): Promise<void>;
  progress(phase: RunProgress['phase']): void;
}

/** The stages of this run, wired to each other. */
async function compose(deps: RunDeps, settings: RunSettings, { population, record, mode }: RunInputs): Promise<Stages> {
  const { programme, logger, mapping } = deps;
  const { asOf, signal, stop } = settings;
  const read = readPatients(readDeps(deps), {
    ...{ population, mode, programmePatients: [...record.patients.keys()], asOf, signal, stop },
    maxPollMs: settings.maxPollMs ?? MAX_POLL_MS,
    dateBounds: settings.dateBounds,
    subjectSearch: settings.subjectSearch,
    concurrency: settings.concurrency,
    trackNewest: Boolean(settings.incremental),
  });
  const writer = new ProgrammeWriter(deps.record, programme, population, record, {
    ...{ asOf, dryRun: settings.dryRun, signal, reviewOwner: settings.reviewOwner },
    source: sourceReferences(deps),
    now: (settings.now?.() ?? new Date()).toISOString(),
    workforce: settings.workforce ?? [],
    transactionMaxEntries: settings.transactionMaxEntries ?? 8,
    writeStrategy: settings.writeStrategy,
  });
  const evaluated = new EvaluationTally(record, logger, Boolean(settings.keepAllDecisions));
  const written = new WriteTally(record);
  const parameters = { asOf, ...lifecycleParameters(programme) };
  const expected = settings.onProgress ? await expectedSize(population, mode, signal) : undefined;
  const progress = (phase: RunProgress['phase']): void => {
    const { created, updated, unchanged, provenance } = written.writes;
    const writes = { created, updated, unchanged, provenance };
    const counts = { evaluated: evaluated.evaluated, advanced: written.done.size, writes };
    settings.onProgress?.({ phase, ...counts, ...(expected !== undefined ? { expected } : {}) });
  };
  return {
    ...{ read, writer, evaluated, written, record, stop, progress },
    evaluation: { programme, evaluate: featureEvaluator(mapping, asOf), asOf, record },
    plan: (patientId, proposable, draw) => {
      const [patient, decision] = [record.patients.get(patientId), evaluated.decisions.get(patientId)];
      return { patientId, patient, decision, step: planStep(patient, decision, proposable, parameters), draw };
    },
    write: async (step, phase) => {
      written.add(step.patientId, await writer.patient(step));
      progress(phase);
    },
  };
}

/** One chunk evaluated; the programme's patients in it whose steps depend on nobody else are written at once. */
async function evaluateAndWriteEarly(stages: Stages, chunk: PatientChunk): Promise<void> {
  const evaluations = await evaluateChunk(chunk.records, stages.evaluation);
  stages.evaluated.add(evaluations);
  if (!stages.stop?.aborted) {
    const early = evaluations
      .filter(
        (e) => 'decision' in e && stages.record.patients.has(e.patientId) && !stages.written.done.has(e.patientId)
      )
      .map((e) => stages.plan(e.patientId, false))
      .filter((s) => !s.step.needsRanking);
    early.filter((s) => releasesPlace(s.step.actions)).forEach((s) => stages.writer.release(s.patientId));
    await Promise.all(early.map((s) => stages.write(s, 'reading')));
  }
  stages.progress('reading');
}

/**
 * Everyone not yet written, in patient id order: programme patients read this run and new proposals; the places
 * discharges and exits free are released before any enrolment is allocated. True when stopped part-way.
 */
async function writeTheRest(
  stages: Stages,
  proposable: ReadonlySet<string>,
  draws: ReadonlyMap<string, LotteryDraw>
): Promise<boolean> {
  const { record, evaluated, written } = stages;
  const ids = [...new Set([...record.patients.keys(), ...proposable])].sort();
  const steps = ids
    .filter((id) => evaluated.decisions.has(id) && !written.done.has(id))
    .map((id) => stages.plan(id, proposable.has(id), draws.get(id)));
  steps.filter((s) => releasesPlace(s.step.actions)).forEach((s) => stages.writer.release(s.patientId));
  for (const step of steps) {
    if (stages.stop?.aborted) {
      return true;
    }
    await stages.write(step, 'writing');
  }
  return false;
}
