import type { OperationOutcome } from '@medplum/fhirtypes';
import type { UpstreamRequest } from '../errors';
import { OutcomeError, upstreamTimeout, upstreamUnreachable, upstreamUnusable } from '../errors';

/** Why a FHIR interaction failed; `http` carries the server's status and OperationOutcome. */
export type FhirErrorKind =
  | 'http'
  | 'network'
  | 'timeout'
  | 'invalid-response'
  | 'cross-origin'
  | 'paging-loop'
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
  attempts?: number;

  constructor(message: string, details: FhirErrorDetails) {
    super(message, { cause: details.cause });
    this.name = 'FhirError';
    this.kind = details.kind;
    this.method = details.method;
    this.path = details.path;
    this.status = details.status;
    this.outcome = details.outcome;
    this.retryAfterMs = details.retryAfterMs;
    this.attempts = details.attempts;
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

/** The human text of an OperationOutcome: each issue's details.text or diagnostics, joined. */
export function outcomeText(outcome: OperationOutcome | undefined): string {
  const texts = (outcome?.issue ?? [])
    .map((issue) => {
      const text = issue.details?.text ?? issue.diagnostics ?? issue.code;
      return issue.expression?.length ? `${text} (at ${issue.expression.join(', ')})` : text;
    })
    .filter((t): t is string => Boolean(t));
  return texts.join('; ');
}

export function isOperationOutcome(body: unknown): body is OperationOutcome {
  return (
    typeof body === 'object' &&
    body !== null &&
    (body as { resourceType?: unknown }).resourceType === 'OperationOutcome'
  );
}
