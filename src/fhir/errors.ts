import type { OperationOutcome } from '@medplum/fhirtypes';
import type { UpstreamRequest } from '../errors';
import { OutcomeError, upstreamTimeout, upstreamUnreachable, upstreamUnusable } from '../errors';

/**
 * Why a FHIR interaction failed; `http` carries the server's status and OperationOutcome's issue codes. Messages name
 * the method, path, status and issue codes, never the server's free text (servers echo patient data there).
 */
export type FhirErrorKind =
  | 'http'
  | 'network'
  | 'timeout'
  | 'invalid-response'
  | 'cross-origin'
  | 'paging-loop'
  | 'paging-limit'
  | 'url-too-long'
  | 'response-too-large'
  | 'retry-after-too-long'
  | 'auth'
  | 'aborted';

export interface FhirErrorDetails {
  kind: FhirErrorKind;
  method?: string;
  /** Path relative to the base URL, without the query string (queries may carry identifiers). */
  path?: string;
  status?: number;
  outcome?: OperationOutcome;
  retryAfterMs?: number;
  attempts?: number;
  /** The body ended before its JSON did: cut short on the way, worth another attempt. */
  truncated?: boolean;
  cause?: unknown;
}

/**
 * A failed FHIR interaction. Its message is for the operator; its outcome, for any caller, says only which request
 * failed and how (unreachable, too slow, or an answer that cannot be used), never what the server said.
 */
export class FhirError extends OutcomeError {
  readonly kind: FhirErrorKind;
  readonly method?: string;
  readonly path?: string;
  readonly status?: number;
  readonly outcome?: OperationOutcome;
  readonly retryAfterMs?: number;
  readonly truncated: boolean;
  attempts?: number;

  constructor(message: string, details: FhirErrorDetails) {
    super(message, { cause: details.cause });
    this.name = 'FhirError';
    this.kind = details.kind;
    this.method = details.method;
    this.path = details.path;
    this.status = details.status;
    this.outcome = details.outcome && codesOnly(details.outcome);
    this.retryAfterMs = details.retryAfterMs;
    this.attempts = details.attempts;
    this.truncated = details.truncated ?? false;
  }

  toOutcome(): OperationOutcome {
    const request = this.request();
    switch (this.kind) {
      case 'network':
      case 'aborted':
        return upstreamUnreachable(request);
      case 'retry-after-too-long':
        return upstreamUnreachable(request, 'asked to be retried later than the connector waits');
      case 'timeout':
        return upstreamTimeout(request);
      case 'auth':
        return upstreamUnusable(request, 'refused the connector its access token');
      default:
        return upstreamUnusable(request);
    }
  }

  override callerDetails(): Record<string, unknown> {
    return { upstream: this.request() };
  }

  private request(): UpstreamRequest {
    const { method, path, status } = this;
    return Object.fromEntries(Object.entries({ method, path, status }).filter(([, v]) => v !== undefined));
  }
}

/** The issue codes of an OperationOutcome (`not-found, processing`): what a message may say of the server's answer. */
export function outcomeCodes(outcome: OperationOutcome | undefined): string {
  const codes = (outcome?.issue ?? []).map((issue) => issue.code).filter((code) => /^[a-z-]{1,40}$/.test(code ?? ''));
  return [...new Set(codes)].join(', ');
}

/** An OperationOutcome reduced to its issues' severities and codes: its text may carry what the server echoed. */
function codesOnly(outcome: OperationOutcome): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: (outcome.issue ?? []).map((issue) => ({ severity: issue.severity, code: issue.code })),
  };
}

export function isOperationOutcome(body: unknown): body is OperationOutcome {
  return (
    typeof body === 'object' &&
    body !== null &&
    (body as { resourceType?: unknown }).resourceType === 'OperationOutcome'
  );
}

/**
 * A conditional write refused because the resource is no longer the version it was conditioned on: 412 Precondition
 * Failed in the FHIR specification (and Medplum), 409 Conflict on HAPI FHIR (its ResourceVersionConflictException),
 * whether for a single request, a batch entry or a whole transaction. Either way: re-read and plan again.
 */
export function isVersionConflict(status: number | undefined): boolean {
  return status === 412 || status === 409;
}
