import type { Command } from 'commander';
import { endpointsFrom, rulesFrom, runCohort, runSettingsFrom } from '../../cohort';
import type { CliIo } from '../context';
import { EXIT_FAILED, EXIT_OK } from '../exit';
import { commandContext, stopRequested, writeLine } from '../context';
import { parseInteger } from '../options';
import { runSummary } from '../runtime';
import { EMBEDDED_PORT_KEY, embeddedOptions, startSeededServer } from './fhir-server';
import { progressBar } from '../progress';

/**
 * The newcomer's one-shot command: the embedded FHIR server with a synthetic 5,000-patient practice, one real run of
 * the programme against it (written back), a summary, and exit. `--keep` leaves the server up to be explored.
 */
export function registerDemo(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  program
    .command('demo')
    .description(
      'embedded FHIR server + synthetic 5,000-patient practice + one real run of the programme, written back; then exits'
    )
    .option('--keep', 'keep the embedded server up after the summary, to explore what was written (Ctrl-C to stop)')
    .option('--port <port>', 'port of the embedded server (overrides embedded.port; 0: any free port)')
    .action(async (flags: { keep?: boolean; port?: string }, command: Command) => {
      const ctx = commandContext(io, command.optsWithGlobals().config, {
        'embedded.port': parseInteger(flags.port, '--port'),
      });
      const rules = rulesFrom(ctx.config);
      const options = embeddedOptions(ctx, {});
      const server = await startSeededServer(ctx, options, `--port, or ${EMBEDDED_PORT_KEY}`);
      try {
        const endpoints = endpointsFrom(ctx.config, server.baseUrl, { logger: ctx.logger });
        const progress = progressBar(io.stderr);
        const result = await runCohort(
          { ...endpoints, logger: ctx.logger, ...rules },
          {
            ...runSettingsFrom(ctx.config, { asOf: options.asOf, dryRun: false }),
            stop: stopRequested(io),
            onProgress: progress.active ? progress.update : undefined,
          }
        );
        progress.done();
        writeLine(
          io.stdout,
          `Embedded FHIR R4 server: ${server.baseUrl} (synthetic practice of ${options.seedPractice}, seed ${options.seed})`
        );
        runSummary(result, rules.programme).forEach((line) => writeLine(io.stdout, line));
        // As `hfu run`: a run stopped or left incomplete is not a success, whatever the summary shows.
        setExitCode(result.complete && !result.writes.failures.length ? EXIT_OK : EXIT_FAILED);
        if (flags.keep && !result.stopped) {
          writeLine(io.stdout, `The MDT review Tasks: ${server.baseUrl}/Task?code=mdt-review   (Ctrl-C to stop)`);
          await io.stopSignal;
        } else {
          writeLine(io.stdout, 'The embedded server has stopped: `npx hfu demo --keep` keeps it up to explore.');
        }
      } finally {
        await server.stop();
      }
    });
}
