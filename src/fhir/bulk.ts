import type { FhirClient } from './client';
import { toQuery } from './client';
import { FhirError } from './errors';
import { parseRetryAfter, sleep } from './retry';

/** A Bulk Data export: a Group's patients or every patient, some types, changed since a time, filtered per type. */
export interface BulkExportRequest {
  groupId?: string;
  types: readonly string[];
  /** An instant: only resources changed since. */
  since?: string;
  /** `Type?query` each, e.g. `Encounter?date=ge2025-11-23`. */
  typeFilters?: readonly string[];
}

export interface BulkManifest {
  transactionTime: string;
  requiresAccessToken: boolean;
  output: { type: string; url: string; count?: number }[];
  error: { type: string; url: string }[];
}

/** How long to wait between status polls when the server gives no Retry-After. */
const DEFAULT_POLL_MS = 1000;

/**
 * Kicks off `$export` (Bulk Data Access v2), polls the status URL honouring `Retry-After` (within the client's
 * `maxRetryAfterMs`) and reporting `X-Progress`, and returns the manifest with the status URL to release afterwards.
 */
export async function bulkExport(
  client: FhirClient,
  request: BulkExportRequest,
  options: { signal?: AbortSignal; onProgress?: (progress: string) => void; maxPollMs: number }
): Promise<{ manifest: BulkManifest; statusUrl: string }> {
  const path = request.groupId ? `Group/${encodeURIComponent(request.groupId)}/$export` : 'Patient/$export';
  const query = toQuery({
    _outputFormat: 'application/fhir+ndjson',
    _type: request.types.join(','),
    _since: request.since,
    _typeFilter: request.typeFilters?.length ? request.typeFilters.join(',') : undefined,
  });
  const kickOff = await client.transport.request({
    method: 'GET',
    url: `${path}?${query}`,
    headers: { Prefer: 'respond-async' },
    signal: options.signal,
  });
  const statusUrl = kickOff.headers.get('content-location');
  if (kickOff.status !== 202 || !statusUrl) {
    throw new FhirError(`${path}: the server did not start an export (HTTP ${kickOff.status}, no status URL)`, {
      kind: 'invalid-response',
      status: kickOff.status,
    });
  }
  for (;;) {
    const status = await client.transport.request<BulkManifest>({
      method: 'GET',
      url: statusUrl,
      signal: options.signal,
    });
    if (status.status === 200) {
      return { manifest: checkManifest(status.body), statusUrl };
    }
    if (status.status !== 202) {
      throw new FhirError(`the export status answered HTTP ${status.status}`, {
        kind: 'invalid-response',
        status: status.status,
      });
    }
    const progress = status.headers.get('x-progress');
    if (progress) {
      options.onProgress?.(progress.slice(0, 100));
    }
    const wait = parseRetryAfter(status.headers.get('retry-after'), Date.now()) ?? DEFAULT_POLL_MS;
    await sleep(Math.min(Math.max(wait, 100), options.maxPollMs), options.signal);
  }
}

/** Lets the server delete the export's files (a courtesy: servers expire them anyway). */
export async function releaseExport(client: FhirClient, statusUrl: string): Promise<void> {
  await client.transport.request({ method: 'DELETE', url: statusUrl }).catch(() => undefined);
}

function checkManifest(body: BulkManifest | undefined): BulkManifest {
  if (!body || !Array.isArray(body.output) || typeof body.transactionTime !== 'string') {
    throw new FhirError('the export manifest is not a Bulk Data manifest', { kind: 'invalid-response' });
  }
  if (body.error?.length) {
    // Errors mean some data was not exported: evaluating the rest would treat the missing as absent.
    const types = body.error.map((e) => (/^[A-Za-z]{1,64}$/.test(e.type) ? e.type : 'a resource type'));
    throw new FhirError(`the export reported errors for ${[...new Set(types)].join(', ')}`, {
      kind: 'invalid-response',
    });
  }
  return { ...body, requiresAccessToken: body.requiresAccessToken !== false, error: [] };
}
