import type { Command } from 'commander';
import type { RunDeps, RunSettings } from '../cohort';
import { rulesFrom, runSettingsFrom } from '../cohort';
import type { CliIo, CommandContext } from './context';
import { commandContext } from './context';
import { parseDate } from './options';
import { fhirClient } from './runtime';

export interface RunContext {
  ctx: CommandContext;
  deps: RunDeps;
  settings: RunSettings;
}

/**
 * What `run`, `explain` and `tune` start from: the configuration with the command's `--fhir-base-url`, `--mapping`,
 * `--programme` and `--now`, the rules it names, a client for the endpoint, and the run's settings.
 */
export function runContext(
  io: CliIo,
  command: Command,
  flags: Record<string, string | boolean | undefined>,
  options: Omit<Parameters<typeof runSettingsFrom>[1], 'asOf'>
): RunContext {
  const ctx = commandContext(io, (command.optsWithGlobals() as { config?: string }).config, {
    'fhir.baseUrl': flags.fhirBaseUrl,
    mapping: flags.mapping,
    'programme.file': flags.programme,
  });
  const rules = rulesFrom(ctx.config);
  const client = fhirClient(ctx.config, ctx.logger);
  const asOf = parseDate(flags.now as string | undefined, '--now');
  return {
    ctx,
    deps: { client, logger: ctx.logger, ...rules },
    settings: runSettingsFrom(ctx.config, { asOf, ...options }),
  };
}
