import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config';
import type { CliIo } from './context';
import { processIo, writeLine } from './context';
import { UsageError } from './options';
import { registerDemo } from './commands/demo';
import { registerFhirServer } from './commands/fhir-server';
import { registerSynth } from './commands/synth';
import { registerValidateConfig } from './commands/validate-config';

/** Exit codes: 0 success, 1 a failed run, 2 bad configuration or usage. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export function buildProgram(io: CliIo): Command {
  const program = new Command('hfu')
    .description('High Frequency Users connector: finds the cohort in a FHIR R4 record and writes the programme back')
    .option('--config <file>', 'YAML or JSON configuration file (default: $HFU_CONFIG, else defaults)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showHelpAfterError();
  registerDemo(program, io);
  registerFhirServer(program, io);
  registerSynth(program, io);
  registerValidateConfig(program, io);
  return program;
}

/** The CLI as a function: runs one command and returns its exit code (bin/hfu.js sets process.exitCode). */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof ConfigError || err instanceof UsageError) {
      writeLine(io.stderr, `hfu: ${err.message}`);
      return EXIT.usage;
    }
    writeLine(io.stderr, `hfu: ${(err as Error)?.message ?? String(err)}`);
    return EXIT.failed;
  }
}
