import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Measure, MeasureReport, MeasureReportGroup } from '@medplum/fhirtypes';
import { addMonths } from '../dates';
import type { FhirClient } from '../fhir';
import { PACKAGE_ROOT } from '../package-root';
import { CANONICAL_BASE, MANAGED_TAG } from '../vocabulary';
import type { Report } from './build';

/** The project's Measure: what each group of a MeasureReport of the insights means (measures/). */
export const MEASURE_FILE = path.join(PACKAGE_ROOT, 'measures', 'Measure-hfu-insights.json');
const REPORT_IDENTIFIER = `${CANONICAL_BASE}/Id/measure-report`;
const FIGURE_SYSTEM = `${CANONICAL_BASE}/CodeSystem/hfu-insights`;

export type MeasureWrite = 'created' | 'updated' | 'unchanged';

export function projectMeasure(): Measure {
  return JSON.parse(readFileSync(MEASURE_FILE, 'utf8')) as Measure;
}

/** The headline figures, by the code of the Measure's group that defines each. */
function headlines(report: Report): Record<string, number | null> {
  const did = report.impact.emergencyAdmissions.difference;
  return {
    'gp-top5-share': report.concentration.gpEncounters.top5,
    'gp-gini': report.concentration.gpEncounters.gini,
    'ed-top5-share': report.concentration.edAttendances.top5,
    'admissions-top5-share': report.concentration.unplannedAdmissions.top5,
    'top-n-mental-health-share': report.typology.top.mentalHealth.share,
    'top-n-median-distinct-gps': report.continuity?.topN.medianDistinctGps ?? null,
    'top-n-median-upc': report.continuity?.topN.medianUpc ?? null,
    'top1-still-top1-after-a-year': report.persistence.oneYear.groups.top1?.share ?? null,
    'enrolled-in-impact': report.impact.groups.enrolled,
    'admissions-difference-in-differences': did?.estimate ?? null,
    'admissions-difference-in-differences-low': did?.low ?? null,
    'admissions-difference-in-differences-high': did?.high ?? null,
  };
}

/** The report's headline figures as a summary MeasureReport of the project Measure, one per population and date. */
export function measureReportOf(report: Report, measure: Measure = projectMeasure()): MeasureReport {
  const figures = headlines(report);
  const group = (measure.group ?? []).flatMap((g): MeasureReportGroup[] => {
    const code = g.code?.coding?.find((c) => c.system === FIGURE_SYSTEM)?.code;
    const value = code ? figures[code] : undefined;
    if (!code || value === undefined) {
      return [];
    }
    return [
      {
        code: { coding: [{ system: FIGURE_SYSTEM, code }] },
        population: [
          {
            code: {
              coding: [
                { system: 'http://terminology.hl7.org/CodeSystem/measure-population', code: 'initial-population' },
              ],
            },
            count: report.population.patients,
          },
        ],
        ...(value === null ? {} : { measureScore: { value } }),
      },
    ];
  });
  return {
    resourceType: 'MeasureReport',
    meta: { tag: [MANAGED_TAG] },
    identifier: [{ system: REPORT_IDENTIFIER, value: `${report.programmeId}/${report.population.key}/${report.asOf}` }],
    status: report.population.complete ? 'complete' : 'pending',
    type: 'summary',
    measure: `${measure.url}|${measure.version}`,
    date: report.asOf,
    period: { start: addMonths(report.asOf, -12), end: report.asOf },
    group,
  };
}

/**
 * Writes the MeasureReport, idempotent by its identifier: created (If-None-Exist) when the record has none,
 * updated (If-Match) when its figures changed, left alone when they did not. The Measure itself is created when the
 * server has none at its URL, and never changed (another system may own it).
 */
export async function writeMeasureReport(
  client: FhirClient,
  report: Report,
  signal?: AbortSignal
): Promise<{ outcome: MeasureWrite; id?: string }> {
  const measure = projectMeasure();
  await client.create(measure, { ifNoneExist: { url: measure.url as string }, signal });
  const desired = measureReportOf(report, measure);
  const identifier = desired.identifier?.[0] as { system: string; value: string };
  const token = `${identifier.system}|${identifier.value}`;
  const [existing] = await client.searchAll<MeasureReport>('MeasureReport', { identifier: token }, signal);
  if (!existing) {
    const { resource } = await client.create(desired, { ifNoneExist: { identifier: token }, signal });
    return { outcome: 'created', id: resource.id };
  }
  if (sameFigures(existing, desired)) {
    return { outcome: 'unchanged', id: existing.id };
  }
  const updated = await client.update(
    { ...existing, ...desired, id: existing.id },
    { ifMatch: existing.meta?.versionId, signal }
  );
  return { outcome: 'updated', id: updated.id };
}

function sameFigures(a: MeasureReport, b: MeasureReport): boolean {
  const essence = (r: MeasureReport) => JSON.stringify([r.status, r.measure, r.period, r.group]);
  return essence(a) === essence(b);
}
