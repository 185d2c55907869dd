import type { RunResult } from '../cohort';
import { candidateReport } from '../cohort';
import type { Config } from '../config';
import type { Decision, LotteryDraw, Programme } from '../criteria';
import { candidateSummary, compareSeverity, exclusionTitle, featureTitle } from '../criteria';
import { FhirClient } from '../fhir';
import type { Logger } from '../logging';
import { UsageError } from './options';

/** What happens with no fhir.baseUrl, said the same way by `validate-config` and by the commands that need one. */
export const NO_ENDPOINT =
  'only `hfu serve` (npm start) and `hfu demo` start the embedded server; run, explain, tune and survey need fhir.baseUrl ' +
  '(HFU_FHIR__BASE_URL) or --fhir-base-url (`hfu fhir-server` runs the embedded server alone, to point them at)';

export function fhirClient(config: Config, logger: Logger, baseUrl = config.fhir.baseUrl): FhirClient {
  return FhirClient.fromConfig({ ...config.fhir, baseUrl: requireBaseUrl(config, baseUrl) }, { logger });
}

/** The source's base URL (`fhir.baseUrl`), or a usage error saying how to give one. */
export function requireBaseUrl(config: Config, baseUrl = config.fhir.baseUrl): string {
  if (!baseUrl) {
    throw new UsageError(`no FHIR endpoint configured: ${NO_ENDPOINT}`);
  }
  return baseUrl;
}

/** The one JSON document `hfu run --json` writes to stdout. */
export function runJson(result: RunResult): Record<string, unknown> {
  return {
    runId: result.runId,
    asOf: result.asOf,
    dryRun: result.dryRun,
    complete: result.complete,
    population: result.population,
    mode: result.mode,
    ...(result.changedSince ? { changedSince: result.changedSince } : {}),
    tiers: result.tiers,
    candidates: result.candidates.map(candidateReport),
    proposed: result.proposed.map((id) => `Patient/${id}`),
    waitlisted: result.waitlisted.map((d) => ({ patient: `Patient/${d.patientId}`, tier: d.tier })),
    ...(result.lottery?.length ? { lottery: result.lottery.map(lotteryReport) } : {}),
    awaitingCapacity: result.awaitingCapacity,
    stages: result.stages,
    actions: result.actions,
    excluded: result.excluded,
    skipped: result.skipped,
    ignoredEntries: result.ignoredEntries,
    warnings: result.warnings,
    unattributedResources: result.unattributedResources,
    writes: {
      created: result.writes.created,
      updated: result.writes.updated,
      unchanged: result.writes.unchanged,
      provenance: result.writes.provenance,
    },
    writeFailures: result.writes.failures,
    conflicts: result.conflicts,
    unprocessable: result.unprocessable,
    timings: result.timings,
  };
}

/** A lottery as the run report gives it: the draw, the seed, the candidates in draw order, who was drawn. */
function lotteryReport(draw: LotteryDraw): Record<string, unknown> {
  const patients = (ids: readonly string[]) => ids.map((id) => `Patient/${id}`);
  return {
    tier: draw.tier,
    drawId: draw.drawId,
    seed: draw.seed,
    places: draw.places,
    candidates: patients(draw.order),
    drawn: patients(draw.order.slice(0, draw.places)),
    waiting: patients(draw.order.slice(draw.places)),
  };
}

/** A few lines for a person: population, tiers, the top candidates and why, what was written. */
export function runSummary(result: RunResult, programme: Programme, top = 10): string[] {
  const lines = [
    `${programme.title}`,
    `Evaluated ${result.population} patients on ${result.asOf}${incompleteNote(result)}`,
    `  first priority:  ${result.tiers.first}`,
    `  second priority: ${result.tiers.second}`,
  ];
  if (result.waitlisted.length) {
    lines.push(`  waitlisted (over capacity): ${result.waitlisted.length}`);
  }
  for (const draw of result.lottery ?? []) {
    lines.push(
      `  lottery (${draw.tier} priority): ${draw.places} places drawn from ${draw.order.length}, seed ${draw.seed}`
    );
  }
  const excluded = Object.entries(result.excluded).map(([id, n]) => `${exclusionTitle(programme, id)} ${n}`);
  if (excluded.length) {
    lines.push(`  excluded: ${excluded.join(', ')}`);
  }
  if (result.skipped.length) {
    lines.push(`  skipped: ${result.skipped.length} (see --json for reasons)`);
  }
  result.warnings.forEach((warning) => lines.push(`  warning: ${warning}`));
  if (result.awaitingCapacity.length) {
    lines.push(`  accepted, awaiting workforce capacity: ${result.awaitingCapacity.length}`);
  }
  const actions = Object.entries(result.actions).map(([kind, n]) => `${kind} ${n}`);
  if (actions.length) {
    lines.push(`  lifecycle: ${actions.join(', ')}`);
  }
  if (result.candidates.length) {
    const shown = Math.min(top, result.candidates.length);
    const ranking = programme.rankBy.map((key) =>
      key === 'riskFactorCount' ? 'Risk factors' : featureTitle(programme, key)
    );
    lines.push(
      `Top ${shown} of ${result.candidates.length} candidates, in the programme's priority order ` +
        `(${programme.tiers.map((t) => t.title).join(', then ')}; within each, most first by: ${ranking.join(', ')}):`
    );
    for (const d of inPriorityOrder(programme, result.candidates).slice(0, top)) {
      lines.push(`  Patient/${d.patientId}  ${candidateSummary(programme, d, result.asOf)}`);
    }
  }
  const w = result.writes;
  lines.push(
    result.dryRun
      ? `Dry run: would create ${w.created}, update ${w.updated}, leave ${w.unchanged} unchanged`
      : `Written: ${w.created} created, ${w.updated} updated, ${w.unchanged} unchanged${w.failures.length ? `, ${w.failures.length} FAILED` : ''}`
  );
  return lines;
}

function incompleteNote(result: RunResult): string {
  if (result.stopped) {
    return ' (STOPPED on request before the end: run it again to finish)';
  }
  return result.complete ? '' : ' (INCOMPLETE: part of the population could not be read)';
}

/** Candidates as the programme ranks them: by tier in the programme's order, then its severity order (capacity's). */
export function inPriorityOrder(programme: Programme, candidates: readonly Decision[]): Decision[] {
  const tierIndex = (d: Decision): number => programme.tiers.findIndex((t) => t.id === d.tier);
  return [...candidates].sort((a, b) => tierIndex(a) - tierIndex(b) || compareSeverity(programme.rankBy, a, b));
}
