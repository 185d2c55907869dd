import type { OperationOutcome } from '@medplum/fhirtypes';

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

export class FhirError extends Error {
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
