import type { Command } from 'commander';
import type { CliIo } from '../context';
import { commandContext, writeLine } from '../context';

export function registerValidateConfig(program: Command, io: CliIo): void {
  program
    .command('validate-config')
    .description('check the configuration (file and HFU_* variables) and report every problem; exit 2 if invalid')
    .action((_flags: unknown, command: Command) => {
      const { config } = commandContext(io, command.optsWithGlobals().config);
      writeLine(io.stdout, 'configuration is valid');
      writeLine(
        io.stdout,
        `  FHIR endpoint: ${config.fhir.baseUrl ?? '(embedded server)'} (auth: ${config.fhir.auth.type})`
      );
    });
}
