import { OperationOutcomeError } from '@medplum/core';
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { Definition } from './outcomes';
import { definitionHeadline, internalError, invalidConfiguration, usageError } from './outcomes';

export {
  httpStatusOf,
  internalError,
  OUTCOME_ID,
  outcomeHeadline,
  upstreamTimeout,
  upstreamUnreachable,
  upstreamUnusable,
} from './outcomes';
export type { Definition, UpstreamRequest } from './outcomes';

/**
 * An error that says what went wrong as one of the canned outcomes. Its message is for the operator's terminal and
 * log; its outcome and details are what an API caller may be shown.
 */
export abstract class OutcomeError extends Error {
  abstract toOutcome(): OperationOutcome;

  /** Facts a caller may be shown beside the outcome's text: keys, ids, methods, paths, codes, counts. */
  callerDetails(): Record<string, unknown> | undefined {
    return undefined;
  }
}

/**
 * A configuration, programme or mapping that cannot be used: every problem found, each naming its key (or its file
 * and feature). ConfigError, ProgrammeError and MappingError are this with the kind fixed.
 */
export class DefinitionError extends OutcomeError {
  constructor(
    readonly what: Definition,
    readonly source: string,
    readonly problems: readonly string[]
  ) {
    super(`${definitionHeadline(what, source)}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'DefinitionError';
  }

  toOutcome(): OperationOutcome {
    return invalidConfiguration(this.what, this.source, this.problems);
  }

  override callerDetails(): Record<string, unknown> {
    return { problems: [...this.problems] };
  }
}

/** A command-line mistake: reported in one line, exit code 2. */
export class UsageError extends OutcomeError {
  override name = 'UsageError';

  toOutcome(): OperationOutcome {
    return usageError(this.message);
  }
}

/**
 * Any error as a canned outcome: the connector's own say what they are, medplum's carry theirs, and anything else is
 * an internal error that names nothing of what it was.
 */
export function outcomeOf(err: unknown): OperationOutcome {
  if (err instanceof OutcomeError) {
    return err.toOutcome();
  }
  if (err instanceof OperationOutcomeError) {
    return err.outcome;
  }
  return internalError;
}

/**
 * A request body that body-parser refused (an http-errors error: a 4xx `status`, `expose`, and body-parser's `type`
 * unless the body would not even decompress). Checked after the connector's own errors, which may carry an
 * upstream's `status`.
 */
export function bodyRefusal(err: unknown): { status: number; type?: string } | undefined {
  const { status, type, expose } = (err ?? {}) as { status?: unknown; type?: unknown; expose?: unknown };
  if (typeof status !== 'number' || status < 400 || status >= 500 || (typeof type !== 'string' && expose !== true)) {
    return undefined;
  }
  return { status, ...(typeof type === 'string' ? { type } : {}) };
}

/**
 * What of an unexpected error may be logged: its name and stack frames, never its message (a third-party message may
 * echo what it was given, over several lines).
 */
export function loggableError(err: unknown): { error: string; frames?: string } {
  const frames = (err as Error)?.stack
    ?.split('\n')
    .filter((line) => /^\s+at /.test(line))
    .join('\n');
  return { error: (err as Error)?.name ?? 'unknown', ...(frames ? { frames } : {}) };
}
