import type { Command } from 'commander';
import { rulesFrom, runCohort, runSettingsFrom } from '../../cohort';
import { FhirClient } from '../../fhir';
import type { CliIo } from '../context';
import { commandContext, writeLine } from '../context';
import { runSummary } from '../runtime';
import { embeddedOptions, startSeededServer } from './fhir-server';
import { progressBar } from '../progress';

/**
 * The newcomer's first command (`npm start`): the embedded FHIR server with a synthetic 5,000-patient practice, one
 * real run of the programme against it (written back), and a summary. The server then stays up to be explored.
 */
export function registerDemo(program: Command, io: CliIo): void {
  program
    .command('demo')
    .description(
      'embedded FHIR server + synthetic 5,000-patient practice + one real run of the programme, written back'
    )
    .action(async (_flags: unknown, command: Command) => {
      const ctx = commandContext(io, command.optsWithGlobals().config);
      const rules = rulesFrom(ctx.config);
      const options = embeddedOptions(ctx, {});
      const server = await startSeededServer(ctx, options);
      try {
        const client = FhirClient.fromConfig({ ...ctx.config.fhir, baseUrl: server.baseUrl }, { logger: ctx.logger });
        const progress = progressBar(io.stderr);
        const result = await runCohort(
          { client, logger: ctx.logger, ...rules },
          {
            ...runSettingsFrom(ctx.config, { asOf: options.asOf, dryRun: false }),
            onProgress: progress.active ? progress.update : undefined,
          }
        );
        progress.done();
        writeLine(
          io.stdout,
          `Embedded FHIR R4 server: ${server.baseUrl} (synthetic practice of ${options.seedPractice}, seed ${options.seed})`
        );
        runSummary(result, rules.programme).forEach((line) => writeLine(io.stdout, line));
        writeLine(io.stdout, `The MDT review Tasks: ${server.baseUrl}/Task?code=mdt-review   (Ctrl-C to stop)`);
      } catch (err) {
        await server.stop();
        throw err;
      }
      await io.stopSignal;
      await server.stop();
    });
}
