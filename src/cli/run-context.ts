import type { Command } from 'commander';
import type { RunDeps, RunSettings } from '../cohort';
import { endpointsFrom, rulesFrom, runSettingsFrom } from '../cohort';
import type { CliIo, CommandContext } from './context';
import { commandContext } from './context';
import { parseDate } from './options';
import { requireBaseUrl } from './runtime';

export interface RunContext {
  ctx: CommandContext;
  deps: RunDeps;
  settings: RunSettings;
}

/**
 * What `run`, `explain` and `tune` start from: the configuration with the command's `--fhir-base-url`, `--mapping`,
 * `--programme` and `--now`, the rules it names, clients for the source and the record (one client when they are one
 * endpoint), and the run's settings.
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
  const endpoints = endpointsFrom(ctx.config, requireBaseUrl(ctx.config), { logger: ctx.logger });
  const asOf = parseDate(flags.now as string | undefined, '--now');
  return {
    ctx,
    deps: { ...endpoints, logger: ctx.logger, ...rules },
    settings: runSettingsFrom(ctx.config, { asOf, ...options }),
  };
}
