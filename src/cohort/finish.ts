import type { SourceReferences } from '../fhir';
import { patientIdOfReference } from '../fhir';
import type { ProgrammeRecord } from '../lifecycle';
import type { Population, ReadMode, ReadReport } from '../read';
import { watermarkOf } from '../writeback';
import type { Ranking } from './rank';
import type { RunResult, SkippedPatient } from './result';
import type { RunDeps, RunSettings } from './configure';
import type { EvaluationTally, WriteTally } from './tally';

/**
 * Group members whose entry must stay exactly as it is: patients who could not be read or evaluated; when the
 * population was read in part, everyone it did not reach; when only some patients were read, everyone else.
 */
export function untouchedMembers(
  record: ProgrammeRecord,
  mode: ReadMode,
  report: ReadReport,
  malformed: readonly SkippedPatient[],
  source: SourceReferences
): Set<string> {
  const members = (record.group?.member ?? [])
    .map((m) => source.patientId(m.entity.reference))
    .filter((id): id is string => Boolean(id));
  const untouched = members.filter(
    (id) => (mode.kind !== 'full' && !mode.patients.has(id)) || (!report.complete && !report.seen.has(id))
  );
  const unread = [...report.unread, ...malformed].map((s) => patientIdOfReference(s.patient) ?? s.patient);
  return new Set([...unread, ...untouched]);
}

/** The watermark to leave on the Group: moved on only by a complete read of everyone or of every change. */
export function nextWatermark(
  settings: Pick<RunSettings, 'incremental'>,
  record: ProgrammeRecord,
  mode: ReadMode,
  report: ReadReport
): string | undefined {
  if (!settings.incremental || mode.kind === 'targeted' || !report.complete || report.stopped) {
    return undefined;
  }
  const newest = Math.max(Date.parse(watermarkOf(record.group) ?? '') || 0, Date.parse(report.newestData ?? '') || 0);
  return newest ? new Date(newest).toISOString() : undefined;
}

export interface RunStages {
  runId: string;
  population: Pick<Population, 'key'>;
  mode: ReadMode;
  report: ReadReport;
  evaluated: EvaluationTally;
  written: WriteTally;
  ranking: Ranking;
  stopped: boolean;
  unprocessable: RunResult['unprocessable'];
  timings: RunResult['timings'];
}

/** The run's result from what each stage reported, logged in one line. */
export function runResult(
  deps: Pick<RunDeps, 'logger'>,
  settings: Pick<RunSettings, 'asOf' | 'dryRun' | 'keepAllDecisions'>,
  stages: RunStages
): RunResult {
  const { report, evaluated, written, ranking, mode } = stages;
  const stopped = stages.stopped || report.stopped;
  const { candidates } = ranking;
  const result: RunResult = {
    runId: stages.runId,
    asOf: settings.asOf,
    dryRun: settings.dryRun,
    complete: report.complete && !stopped,
    stopped,
    population: evaluated.evaluated,
    populationKey: stages.population.key,
    mode: mode.kind,
    ...(mode.kind === 'incremental' ? { changedSince: mode.changedSince } : {}),
    tiers: {
      first: candidates.filter((d) => d.tier === 'first').length,
      second: candidates.filter((d) => d.tier === 'second').length,
    },
    candidates,
    proposed: written.proposed,
    waitlisted: ranking.waitlisted,
    ...(ranking.draws.length ? { lottery: ranking.draws } : {}),
    awaitingCapacity: written.awaitingCapacity,
    excluded: evaluated.excluded,
    stages: written.stages(),
    actions: written.actions,
    skipped: [...report.unread, ...evaluated.malformed],
    ignoredEntries: report.ignoredEntries,
    unattributedResources: report.unattributed,
    warnings: mode.kind === 'full' && report.complete ? coverageWarnings(deps, evaluated) : [],
    writes: written.writes,
    conflicts: written.conflicts,
    unprocessable: stages.unprocessable,
    ...(settings.keepAllDecisions ? { decisions: evaluated.all } : {}),
    timings: stages.timings,
  };
  deps.logger.info('run finished', {
    complete: result.complete,
    stopped: result.stopped,
    population: result.population,
    first: result.tiers.first,
    second: result.tiers.second,
    proposed: result.proposed.length,
    waitlisted: result.waitlisted.length,
    skipped: result.skipped.length,
    created: result.writes.created,
    updated: result.writes.updated,
    unchanged: result.writes.unchanged,
    failedWrites: result.writes.failures.length,
    ms: result.timings.totalMs,
  });
  return result;
}

/** A feature that matched no resource in a whole population of hundreds: most likely a mapping reading the wrong element. */
function coverageWarnings(deps: Pick<RunDeps, 'logger'>, evaluated: EvaluationTally): string[] {
  const { features, patients } = evaluated.coverage.unmatched();
  return features.map((feature) => {
    deps.logger.warn('feature matched no resource', { feature, patients });
    return `feature ${feature} matched no resource in ${patients} patients: if some should have it, check its expression in the mapping`;
  });
}
