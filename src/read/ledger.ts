import { FhirError } from '../fhir';
import type { Logger } from '../logging';

/** A patient the read could not get whole, and why (codes and counts only). */
export interface UnreadPatient {
  patient: string;
  reason: string;
}

/**
 * The one place a read failure is turned into a record of what could not be read. A FHIR failure (after the
 * transport's retries) is a fact about the endpoint and is kept; anything else is a fault of the connector and thrown.
 */
export function readFailure(err: unknown): FhirError {
  if (!(err instanceof FhirError)) {
    throw err;
  }
  return err;
}

/** What the read could not get: patients with a reason, and whether part of the population was never reached. */
export class ReadLedger {
  readonly unread = new Map<string, string>();
  /** The population itself could not be read to the end (a page, an export): who it did not reach is unknown. */
  cut = false;

  constructor(private readonly logger: Logger) {}

  /** Some patients' data could not be read. */
  private lost = false;

  get complete(): boolean {
    return !this.cut && !this.lost;
  }

  /** The population stopped part-way. */
  populationCut(err: FhirError, message: string): void {
    this.cut = true;
    this.logger.error(message, failureCodes(err));
  }

  /** These patients' data could not be read. */
  patientsLost(ids: readonly string[], err: FhirError): void {
    this.lost = true;
    for (const id of ids) {
      this.unread.set(id, unreadReason(err));
    }
    this.logger.error('chunk could not be read', { patients: ids.length, ...failureCodes(err) });
  }

  /** In the programme, asked for by id, and not on the endpoint: their record stays as it is. */
  notFound(id: string): void {
    this.unread.set(id, 'in the programme but not found on the endpoint');
  }

  report(): UnreadPatient[] {
    return [...this.unread].map(([id, reason]) => ({ patient: `Patient/${id}`, reason }));
  }
}

/** What a failure may say in a log line or a report: its kind and HTTP status, never the server's text. */
export function failureCodes(err: FhirError): { kind: string; status?: number } {
  return { kind: err.kind, ...(err.status ? { status: err.status } : {}) };
}

/** Why a patient could not be read, as a skipped patient's reason: `could not be read (http 503)`. */
export function unreadReason(err: FhirError): string {
  return `could not be read (${err.kind}${err.status ? ` ${err.status}` : ''})`;
}
