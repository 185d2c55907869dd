import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { endpointsFrom, rulesFrom } from '../../cohort';
import { londonToday } from '../../dates';
import {
  buildReport,
  renderReportDocument,
  renderReportText,
  reportCharts,
  reportSettingsFrom,
  writeMeasureReport,
} from '../../report';
import type { CliIo } from '../context';
import { commandContext, writeLine } from '../context';
import { parseDate } from '../options';
import { requireBaseUrl } from '../runtime';

export function registerReport(program: Command, io: CliIo): void {
  program
    .command('report')
    .description('insights: who the frequent users are, whether they stay frequent, and whether the programme works')
    .option('--fhir-base-url <url>', 'FHIR R4 endpoint (overrides fhir.baseUrl)')
    .option('--mapping <mapping>', 'a built-in mapping (uk-core, synthea), a mapping folder, or its mapping.yaml')
    .option('--programme <programme>', 'nhse-hfu-2022, nhse-hiu, or a path to a programme YAML file')
    .option('--now <date>', 'report date YYYY-MM-DD (default: today in London)')
    .option('--json', 'write the report as one JSON document to stdout')
    .option('--out <file>', 'also write the report as one self-contained HTML file')
    .action(async (flags: Record<string, string | boolean | undefined>, command: Command) => {
      const asOf = parseDate(flags.now as string | undefined, '--now') ?? londonToday();
      const ctx = commandContext(io, (command.optsWithGlobals() as { config?: string }).config, {
        'fhir.baseUrl': flags.fhirBaseUrl,
        mapping: flags.mapping,
        'programme.file': flags.programme,
      });
      const { config, logger } = ctx;
      const endpoints = endpointsFrom(config, requireBaseUrl(config), { logger });
      const deps = { ...endpoints, logger, ...rulesFrom(config) };
      const report = await buildReport(deps, reportSettingsFrom(config, asOf));
      if (typeof flags.out === 'string') {
        await writeFile(flags.out, renderReportDocument(report, await reportCharts(report)));
      }
      if (config.report.writeMeasureReport) {
        const written = await writeMeasureReport(deps.record, report);
        logger.info('measure report written', { outcome: written.outcome, id: written.id });
      }
      if (flags.json) {
        io.stdout.write(JSON.stringify(report, null, 2) + '\n');
        return;
      }
      renderReportText(report).forEach((line) => writeLine(io.stdout, line));
      if (typeof flags.out === 'string') {
        writeLine(io.stdout, `\nThe report with its charts: ${flags.out}`);
      }
    });
}
