import type { Command } from 'commander';
import type { CliIo } from '../context';
import { commandContext, writeLine } from '../context';
import { embeddedOptions, startSeededServer } from './fhir-server';

/** The newcomer's first command (`npm start`): the embedded server with a synthetic 5,000-patient practice. */
export function registerDemo(program: Command, io: CliIo): void {
  program
    .command('demo')
    .description('start the embedded FHIR server with a synthetic 5,000-patient practice and show what it holds')
    .action(async (_flags: unknown, command: Command) => {
      const ctx = commandContext(io, command.optsWithGlobals().config);
      const options = embeddedOptions(ctx, {});
      const server = await startSeededServer(ctx, options);
      const counts = server.repo.countsByType();
      writeLine(io.stdout, `Embedded FHIR R4 server: ${server.baseUrl}`);
      writeLine(io.stdout, `Synthetic practice (seed ${options.seed}, data up to ${options.asOf}):`);
      for (const [type, count] of Object.entries(counts).sort()) {
        writeLine(io.stdout, `  ${type.padEnd(18)} ${count}`);
      }
      writeLine(io.stdout, `Try: curl '${server.baseUrl}/Patient?_count=5'   (Ctrl-C to stop)`);
      await io.stopSignal;
      await server.stop();
    });
}
