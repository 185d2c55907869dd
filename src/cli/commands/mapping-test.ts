import type { Command } from 'commander';
import { loadMapping, runMappingTests } from '../../mappings';
import type { CliIo } from '../context';
import { commandContext, writeLine } from '../context';
import { EXIT_FAILED, EXIT_OK } from '../exit';
import { registerMappingAuthoring } from './mapping-authoring';

export function registerMappingTest(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  const mapping = program.command('mapping').description('work with source-system mappings');
  mapping
    .command('test')
    .description("run a mapping's own test cases (tests.yaml beside it) against its features")
    .option('--mapping <mapping>', 'a built-in mapping (uk-core, synthea), a mapping folder, or its mapping.yaml')
    .action((flags: Record<string, string | undefined>, command: Command) => {
      const ctx = commandContext(io, command.optsWithGlobals().config, { mapping: flags.mapping });
      const compiled = loadMapping(ctx.config.mapping);
      const results = runMappingTests(compiled);
      for (const result of results) {
        writeLine(io.stdout, `${result.passed ? 'PASS' : 'FAIL'}  ${result.name}`);
        result.failures.forEach((f) => writeLine(io.stdout, `        ${f}`));
      }
      const failed = results.filter((r) => !r.passed).length;
      writeLine(io.stdout, `${results.length - failed} passed, ${failed} failed (${compiled.name}: ${compiled.file})`);
      setExitCode(failed ? EXIT_FAILED : EXIT_OK);
    });
  registerMappingAuthoring(mapping, io);
}
