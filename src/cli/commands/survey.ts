import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { resolvePopulation } from '../../cohort';
import { londonToday } from '../../dates';
import { FhirClient } from '../../fhir';
import { loadMapping } from '../../mappings';
import { runSurvey, surveyHtml, surveyText } from '../../survey';
import type { CliIo } from '../context';
import { commandContext, writeLine } from '../context';
import { parseDate, parseInteger, UsageError } from '../options';
import { fhirClient } from '../runtime';

const DEFAULT_SAMPLE = 500;

export function registerSurvey(program: Command, io: CliIo): void {
  program
    .command('survey')
    .description('what the endpoint holds against what the mapping expects: codes, counts and gaps, read only')
    .option('--fhir-base-url <url>', 'FHIR R4 endpoint (overrides fhir.baseUrl)')
    .option('--mapping <mapping>', 'a built-in mapping (uk-core, synthea), a mapping folder, or its mapping.yaml')
    .option('--sample <n>', `patients to sample across the population (default ${DEFAULT_SAMPLE})`)
    .option('--seed <n>', 'seed of the sample, for a repeatable survey (default 1)')
    .option('--now <date>', 'survey date YYYY-MM-DD for future-date checks and windows (default: today in London)')
    .option('--json', 'write one JSON document to stdout')
    .option('--out <file>', 'also write the report as an HTML page')
    .action(async (flags: Record<string, string | boolean | undefined>, command: Command) => {
      const sample = parseInteger(flags.sample as string | undefined, '--sample') ?? DEFAULT_SAMPLE;
      if (sample < 1) {
        throw new UsageError('--sample takes a whole number of at least 1');
      }
      const ctx = commandContext(io, command.optsWithGlobals().config, {
        'fhir.baseUrl': flags.fhirBaseUrl,
        mapping: flags.mapping,
      });
      const mapping = loadMapping(ctx.config.mapping);
      const client = fhirClient(ctx.config, ctx.logger);
      const targetConfig = ctx.config.writeback.fhir;
      const target = targetConfig ? FhirClient.fromConfig(targetConfig, { logger: ctx.logger }) : undefined;
      const population = await resolvePopulation(client, ctx.config.scope, undefined, ctx.config.extract.subjectSearch);
      const report = await runSurvey(client, mapping, population, {
        sample,
        seed: parseInteger(flags.seed as string | undefined, '--seed') ?? 1,
        asOf: parseDate(flags.now as string | undefined, '--now') ?? londonToday(),
        target,
      });
      if (typeof flags.out === 'string') {
        writeFileSync(flags.out, surveyHtml(report));
      }
      if (flags.json) {
        writeLine(io.stdout, JSON.stringify(report, null, 2));
      } else {
        io.stdout.write(surveyText(report));
        if (typeof flags.out === 'string') {
          writeLine(io.stdout, `\nHTML report written to ${flags.out}`);
        }
      }
    });
}
