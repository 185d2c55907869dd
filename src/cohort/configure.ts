import type { Config, Scope } from '../config';
import { loadProgramme } from '../criteria';
import type { IsoDate } from '../dates';
import { londonToday } from '../dates';
import { loadMapping } from '../mappings';
import type { RunDeps, RunSettings } from './run';

/** The mapping and programme a configuration names, both compiled (any error names file and key). */
export function rulesFrom(config: Config): Pick<RunDeps, 'mapping' | 'programme'> {
  const mapping = loadMapping(config.mapping);
  const programme = loadProgramme({
    ref: config.programme.file,
    parameters: config.programme.parameters,
    features: mapping.features,
  });
  return { mapping, programme };
}

/** A run's settings from the configuration, with what the caller decides (date, dry run, a targeted refresh). */
export function runSettingsFrom(
  config: Config,
  options: {
    asOf?: IsoDate;
    dryRun: boolean;
    scope?: Scope;
    patients?: string[];
    keepAllDecisions?: boolean;
    /** Read everyone even when incremental refresh is configured. */
    full?: boolean;
  }
): RunSettings {
  return {
    patients: options.patients,
    scope: options.scope ?? config.scope,
    asOf: options.asOf ?? londonToday(),
    dryRun: options.dryRun,
    capacity: config.programme.capacity,
    concurrency: config.extract.concurrency,
    dateBounds: config.extract.dateBounds,
    extract: config.extract.mode,
    maxPollMs: config.fhir.maxRetryAfterMs,
    incremental:
      config.extract.incremental && !options.full
        ? { overlapSeconds: config.extract.incrementalOverlapSeconds }
        : undefined,
    reviewOwner: config.writeback.reviewOwner,
    workforce: config.allocation.workforce,
    transactionMaxEntries: config.writeback.transactionMaxEntries,
    writeStrategy: config.writeback.strategy,
    keepAllDecisions: options.keepAllDecisions,
  };
}
