/**
 * One job of the report benchmark in a process of its own, so that its peak RSS is its own: `raw` (the fetch of the
 * data the report reads), `dry` (a dry run) or `report` (`hfu report --out`: figures, charts, the HTML file).
 * Prints `{"ms":..,"cpuMs":..,"peakRssMb":..}`: wall and CPU (user and system) time of the job, and its peak RSS.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { rulesFrom, runCohort, runSettingsFrom } from '../src/cohort';
import { configSchema } from '../src/config';
import { addMonths } from '../src/dates';
import { FhirClient } from '../src/fhir';
import { silentLogger } from '../src/logging';
import { buildReport, renderReportDocument, reportCharts } from '../src/report';
import { AS_OF, peakRssMb, rawFetch } from './run-vs-raw';

async function job(kind: string, baseUrl: string): Promise<void> {
  const config = configSchema.parse({ fhir: { baseUrl } });
  const rules = rulesFrom(config);
  const client = FhirClient.fromConfig({ ...config.fhir, baseUrl }, { logger: silentLogger() });
  const deps = { source: client, record: client, logger: silentLogger(), ...rules };
  const started = performance.now();
  const cpu = process.cpuUsage();
  if (kind === 'raw') {
    // the report reads from two years back (persistence), so its searches are bounded there, not at --now
    await rawFetch(client, config, rules, addMonths(AS_OF, -24));
  } else if (kind === 'dry') {
    const result = await runCohort(deps, runSettingsFrom(config, { asOf: AS_OF, dryRun: true }));
    if (!result.complete) {
      throw new Error('the dry run was incomplete');
    }
  } else {
    const report = await buildReport(deps, {
      ...{ scope: config.scope, asOf: AS_OF, concurrency: config.extract.concurrency },
      ...{ dateBounds: config.extract.dateBounds, report: config.report, workforce: [] },
    });
    if (!report.population.complete) {
      throw new Error('the report read was incomplete');
    }
    await writeFile(
      path.join(tmpdir(), 'hfu-bench-report.html'),
      renderReportDocument(report, await reportCharts(report))
    );
  }
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  process.stdout.write(JSON.stringify({ ms, cpuMs, peakRssMb: peakRssMb('self') }) + '\n');
}

job(process.argv[2] ?? '', process.argv[3] ?? '').catch((err: unknown) => {
  process.stderr.write(`report bench job failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
