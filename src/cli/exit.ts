import { CommanderError } from 'commander';
import { OUTCOME_ID, outcomeOf } from '../errors';
import { FhirError } from '../fhir';

/** Exit codes: 0 success, 1 a failed (or incomplete) run, 2 bad configuration or usage. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Outcomes that mean "fix the configuration or the command line". */
const USAGE_OUTCOMES: ReadonlySet<string | undefined> = new Set([OUTCOME_ID.invalidConfiguration, OUTCOME_ID.usage]);

/**
 * The CLI's error funnel: what a command's error becomes, an exit code and the line(s) for stderr (none for
 * commander's own errors, which it has already printed with the help).
 */
export function exitFor(err: unknown): { code: number; message?: string } {
  if (err instanceof CommanderError) {
    return { code: err.exitCode === 0 ? EXIT_OK : EXIT_USAGE };
  }
  if (USAGE_OUTCOMES.has(outcomeOf(err).id)) {
    return { code: EXIT_USAGE, message: `hfu: ${(err as Error).message}` };
  }
  if (err instanceof FhirError) {
    return { code: EXIT_FAILED, message: `hfu: FHIR endpoint: ${err.message}` };
  }
  return { code: EXIT_FAILED, message: `hfu: ${(err as Error)?.message ?? String(err)}` };
}
