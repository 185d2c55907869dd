import { getStatus, serverError } from '@medplum/core';
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

/**
 * The connector's canned outcomes, after medplum's `outcomes.ts` (whose own, such as `notFound`, `badRequest` and
 * `tooManyRequests`, stand as they are): an OperationOutcome whose `id` says what kind of failure it is, so that each
 * surface translates it one way everywhere (the CLI to an exit code, the service to an HTTP status, the embedded
 * server to the body itself). Their texts are the connector's own: keys, files, methods, paths, codes and counts,
 * never patient data nor an upstream server's error text.
 */
export const OUTCOME_ID = {
  /** A configuration, programme or mapping that cannot be used (the CLI's exit 2). */
  invalidConfiguration: 'invalid-configuration',
  /** A command line or request the connector cannot act on (exit 2, HTTP 400). */
  usage: 'usage',
  /** The FHIR endpoint could not be reached, or asked to be left alone for longer than allowed (HTTP 503). */
  upstreamUnreachable: 'upstream-unreachable',
  /** The FHIR endpoint did not answer in time (HTTP 504). */
  upstreamTimeout: 'upstream-timeout',
  /** The FHIR endpoint answered something the connector cannot use: an error status, HTML, a broken body (502). */
  upstreamUnusable: 'upstream-unusable',
} as const;

const STATUS_BY_ID: Record<string, number> = {
  [OUTCOME_ID.invalidConfiguration]: 500,
  [OUTCOME_ID.usage]: 400,
  [OUTCOME_ID.upstreamUnreachable]: 503,
  [OUTCOME_ID.upstreamTimeout]: 504,
  [OUTCOME_ID.upstreamUnusable]: 502,
};

/** What a configuration error is about, as its headline names it. */
export type Definition = 'configuration' | 'programme' | 'mapping';

/** The request to the FHIR endpoint that failed, as far as it is known: never its query (it may name patients). */
export interface UpstreamRequest {
  method?: string;
  /** Relative to the base URL, without the query string. */
  path?: string;
  /** The upstream's HTTP status, when it answered. */
  status?: number;
}

/** `invalid configuration (x.yaml)`, `invalid programme /path/p.yaml`, `invalid mapping /path/mapping.yaml`. */
export function definitionHeadline(what: Definition, source: string): string {
  return what === 'configuration' ? `invalid configuration (${source})` : `invalid ${what} ${source}`;
}

/** A definition that cannot be used: the headline first, then one issue per problem, each naming its key. */
export function invalidConfiguration(what: Definition, source: string, problems: readonly string[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    id: OUTCOME_ID.invalidConfiguration,
    issue: [
      errorIssue('invalid', definitionHeadline(what, source), [source]),
      ...problems.map((problem) => errorIssue('invalid', problem)),
    ],
  };
}

export function usageError(message: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', id: OUTCOME_ID.usage, issue: [errorIssue('invalid', message)] };
}

export function upstreamUnreachable(request: UpstreamRequest, why = 'could not be reached'): OperationOutcome {
  return upstream(OUTCOME_ID.upstreamUnreachable, 'transient', request, why);
}

export function upstreamTimeout(request: UpstreamRequest): OperationOutcome {
  return upstream(OUTCOME_ID.upstreamTimeout, 'timeout', request, 'did not answer in time');
}

export function upstreamUnusable(
  request: UpstreamRequest,
  why = 'gave an answer the connector cannot use'
): OperationOutcome {
  return upstream(OUTCOME_ID.upstreamUnusable, 'exception', request, why);
}

/** Medplum's server error without its diagnostics: an unexpected error's text may echo what it was given. */
export const internalError: OperationOutcome = (() => {
  const outcome = serverError(new Error('internal error'));
  return { ...outcome, issue: outcome.issue.map(({ diagnostics: _omitted, ...issue }) => issue) };
})();

/** The HTTP status of an outcome: the connector's own ids, then medplum's. */
export function httpStatusOf(outcome: OperationOutcome): number {
  return (outcome.id && STATUS_BY_ID[outcome.id]) || getStatus(outcome);
}

/** The first issue's text: the one-line summary of an outcome. */
export function outcomeHeadline(outcome: OperationOutcome): string {
  return outcome.issue[0]?.details?.text ?? outcome.issue[0]?.code ?? 'error';
}

function upstream(
  id: string,
  code: OperationOutcomeIssue['code'],
  request: UpstreamRequest,
  why: string
): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    id,
    issue: [errorIssue(code, `the FHIR endpoint ${why}${describe(request)}`)],
  };
}

/** ` (GET Patient: HTTP 404)`, ` (POST /)`, or nothing when nothing is known. */
function describe({ method, path, status }: UpstreamRequest): string {
  const request = [method, path].filter(Boolean).join(' ');
  const answer = status === undefined ? '' : `HTTP ${status}`;
  const text = [request, answer].filter(Boolean).join(': ');
  return text ? ` (${text})` : '';
}

function errorIssue(code: OperationOutcomeIssue['code'], text: string, expression?: string[]): OperationOutcomeIssue {
  return { severity: 'error', code, details: { text }, ...(expression ? { expression } : {}) };
}
