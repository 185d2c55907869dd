import type { Command } from 'commander';
import { runCohort } from '../../cohort';
import type { CliIo } from '../context';
import { stopRequested, writeLine } from '../context';
import { EXIT_FAILED, EXIT_OK } from '../exit';
import { nowhere, progressBar } from '../progress';
import { runContext } from '../run-context';
import { runJson, runSummary } from '../runtime';

export function registerRun(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  program
    .command('run')
    .description(
      'one refresh: evaluate the population and advance the programme (proposals, enrolments, check-ins, step-downs, discharges), write back (unless --dry-run)'
    )
    .option('--fhir-base-url <url>', 'FHIR R4 endpoint (overrides fhir.baseUrl)')
    .option('--mapping <mapping>', 'a built-in mapping (uk-core, synthea), a mapping folder, or its mapping.yaml')
    .option('--programme <programme>', 'nhse-hfu-2022, nhse-hiu, or a path to a programme YAML file')
    .option('--now <date>', 'evaluation date YYYY-MM-DD (default: today in London)')
    .option('--dry-run', 'evaluate and report what would be written, write nothing')
    .option('--json', 'write exactly one JSON document to stdout')
    .option('--full', 'read everyone, even with extract.incremental on')
    .action(async (flags: Record<string, string | boolean | undefined>, command: Command) => {
      const { deps, settings } = runContext(io, command, flags, {
        dryRun: Boolean(flags.dryRun),
        full: Boolean(flags.full),
      });
      const progress = progressBar(flags.json ? nowhere : io.stderr);
      const result = await runCohort(deps, {
        ...settings,
        stop: stopRequested(io),
        onProgress: progress.active ? progress.update : undefined,
      });
      progress.done();
      if (flags.json) {
        io.stdout.write(JSON.stringify(runJson(result), null, 2) + '\n');
      } else {
        runSummary(result, deps.programme).forEach((line) => writeLine(io.stdout, line));
      }
      setExitCode(result.complete && !result.writes.failures.length ? EXIT_OK : EXIT_FAILED);
    });
}
