import { Command } from 'commander';
import type { CliIo } from './context';
import { processIo, writeLine } from './context';
import { registerApiKey } from './commands/api-key';
import { registerDemo } from './commands/demo';
import { registerExplain } from './commands/explain';
import { registerFhirServer } from './commands/fhir-server';
import { registerMappingTest } from './commands/mapping-test';
import { registerProfiles } from './commands/profiles';
import { registerReport } from './commands/report';
import { registerRun } from './commands/run';
import { registerServe } from './commands/serve';
import { registerSurvey } from './commands/survey';
import { registerSynth } from './commands/synth';
import { registerTune } from './commands/tune';
import { registerValidateConfig } from './commands/validate-config';
import { EXIT_OK, exitFor } from './exit';

export { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './exit';

export function buildProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('hfu')
    .description('High Frequency Users connector: finds the cohort in a FHIR R4 record and writes the programme back')
    .option('--config <file>', 'YAML or JSON configuration file (default: $HFU_CONFIG, else defaults)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showHelpAfterError();
  registerApiKey(program, io);
  registerDemo(program, io, setExitCode);
  registerExplain(program, io, setExitCode);
  registerFhirServer(program, io);
  registerMappingTest(program, io, setExitCode);
  registerProfiles(program, io);
  registerReport(program, io);
  registerRun(program, io, setExitCode);
  registerServe(program, io);
  registerSurvey(program, io);
  registerSynth(program, io);
  registerTune(program, io);
  registerValidateConfig(program, io);
  return program;
}

/** The CLI as a function: runs one command and returns its exit code (bin/hfu.js sets process.exitCode). */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let exitCode: number = EXIT_OK;
  const program = buildProgram(io, (code) => (exitCode = code));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    const { code, message } = exitFor(err);
    if (message) {
      writeLine(io.stderr, message);
    }
    return code;
  }
}
