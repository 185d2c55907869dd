import type { Command } from 'commander';
import { runCohort } from '../../cohort';
import type { Programme } from '../../criteria';
import { tune } from '../../criteria';
import type { CliIo } from '../context';
import { writeLine } from '../context';
import { UsageError } from '../options';
import { runContext } from '../run-context';

/** `name=from-to`, e.g. `repeatItems=5-15`. */
function parseRange(text: string, flag: string): { parameter: string; values: number[] } {
  const match = /^([A-Za-z][A-Za-z0-9]*)=(\d+)-(\d+)$/.exec(text);
  if (!match || Number(match[2]) > Number(match[3])) {
    throw new UsageError(`${flag} takes parameter=from-to, e.g. repeatItems=5-15, not '${text}'`);
  }
  const [from, to] = [Number(match[2]), Number(match[3])];
  return { parameter: match[1] as string, values: Array.from({ length: to - from + 1 }, (_, i) => from + i) };
}

/** Before the run, not after it: a misspelt parameter is a usage error (exit 2). */
function checkParameters(programme: Programme, parameters: Record<string, string>): void {
  for (const [flag, parameter] of Object.entries(parameters)) {
    if (!(parameter in programme.parameters)) {
      const known = Object.keys(programme.parameters).join(', ');
      throw new UsageError(`${flag}: ${parameter} is not a parameter of ${programme.id} (${known})`);
    }
  }
}

export function registerTune(program: Command, io: CliIo): void {
  program
    .command('tune')
    .description('cohort size per threshold pair, so a practice can pick thresholds that fit its workforce')
    .option('--fhir-base-url <url>', 'FHIR R4 endpoint (overrides fhir.baseUrl)')
    .option('--mapping <mapping>', 'a built-in mapping (uk-core, synthea), a mapping folder, or its mapping.yaml')
    .option('--programme <programme>', 'nhse-hfu-2022, nhse-hiu, or a path to a programme YAML file')
    .option('--now <date>', 'evaluation date YYYY-MM-DD (default: today in London)')
    .option('--tier <tier>', 'the tier whose rule is varied', 'first')
    .option('--rows <range>', "parameter=from-to for the rows (default: the programme's tune.rows)")
    .option('--columns <range>', "parameter=from-to for the columns (default: the programme's tune.columns)")
    .option('--json', 'write one JSON document to stdout')
    .action(async (flags: Record<string, string | boolean | undefined>, command: Command) => {
      const tier = flags.tier === 'second' ? 'second' : flags.tier === 'first' ? 'first' : undefined;
      if (!tier) {
        throw new UsageError(`--tier takes first or second, not '${String(flags.tier)}'`);
      }
      const { deps, settings } = runContext(io, command, flags, { dryRun: true, keepAllDecisions: true });
      const rows = parseRange(String(flags.rows ?? deps.programme.tune?.rows ?? ''), '--rows');
      const columns = parseRange(String(flags.columns ?? deps.programme.tune?.columns ?? ''), '--columns');
      checkParameters(deps.programme, { '--rows': rows.parameter, '--columns': columns.parameter });
      const result = await runCohort(deps, settings);
      const eligible = (result.decisions ?? []).filter((d) => !d.excludedBy.length).map((d) => d.facts);
      const grid = {
        rowParameter: rows.parameter,
        columnParameter: columns.parameter,
        rows: rows.values,
        columns: columns.values,
      };
      const table = tune(deps.programme, tier, eligible, result.population, grid);
      if (flags.json) {
        io.stdout.write(JSON.stringify({ asOf: result.asOf, complete: result.complete, ...table }, null, 2) + '\n');
        return;
      }
      const target = result.population / 1000;
      const closest = Math.min(...table.counts.flat().map((n) => Math.abs(n - target)));
      writeLine(
        io.stdout,
        `Tier '${tier}' size over ${result.population} patients on ${result.asOf} (${eligible.length} not excluded).`
      );
      writeLine(
        io.stdout,
        `Rows: ${rows.parameter}; columns: ${columns.parameter}. * = closest to 1 per 1,000 patients (${target.toFixed(1)}).`
      );
      const header = `${rows.parameter.padStart(16)} |` + columns.values.map((c) => String(c).padStart(6)).join('');
      writeLine(io.stdout, header);
      writeLine(io.stdout, '-'.repeat(header.length));
      table.counts.forEach((counts, i) => {
        const cells = counts.map((n) => `${n}${Math.abs(n - target) === closest ? '*' : ' '}`.padStart(6)).join('');
        writeLine(io.stdout, `${String(rows.values[i]).padStart(16)} |${cells}`);
      });
    });
}
