import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import type { FhirClient } from '../fhir';
import { outcomeText, toQuery } from '../fhir';
import type { Logger } from '../logging';
import type { WritePlan } from './reconcile';

export interface WriteCounts {
  created: number;
  updated: number;
  unchanged: number;
}

export interface WriteOutcome extends WriteCounts {
  /** Writes that failed: the resource reference or identifier and the server's reason. Re-running converges. */
  failures: { target: string; reason: string }[];
}

/**
 * Carries out a plan in batches. Creates are conditional (If-None-Exist on the business identifier), so a resource
 * someone else created meanwhile is found, not duplicated; updates carry If-Match, so a change made since the read
 * is never overwritten (412, reported, reconciled on the next run). Each identifier appears once per plan and
 * batches run one after another: no two writes for the same identifier are ever in flight together.
 */
export async function applyPlan(
  client: FhirClient,
  plan: WritePlan,
  options: { batchSize: number; logger: Logger; signal?: AbortSignal }
): Promise<WriteOutcome> {
  const outcome: WriteOutcome = { created: 0, updated: 0, unchanged: plan.unchanged.length, failures: [] };
  const entries: { entry: BundleEntry; target: string; kind: 'create' | 'update' }[] = [
    ...plan.creates.map((want) => ({
      kind: 'create' as const,
      target: `${want.resource.resourceType}?identifier=${want.identifier.system}|${want.identifier.value}`,
      entry: {
        resource: want.resource,
        request: {
          method: 'POST' as const,
          url: want.resource.resourceType,
          ifNoneExist: toQuery({ identifier: `${want.identifier.system}|${want.identifier.value}` }),
        },
      },
    })),
    ...plan.updates.map(({ next }) => ({
      kind: 'update' as const,
      target: `${next.resourceType}/${next.id}`,
      entry: {
        resource: next,
        request: {
          method: 'PUT' as const,
          url: `${next.resourceType}/${next.id}`,
          ifMatch: next.meta?.versionId ? `W/"${next.meta.versionId}"` : undefined,
        },
      },
    })),
  ];
  for (let i = 0; i < entries.length; i += options.batchSize) {
    const slice = entries.slice(i, i + options.batchSize);
    const bundle: Bundle = { resourceType: 'Bundle', type: 'batch', entry: slice.map((s) => s.entry) };
    const response = await client.batch(bundle, options.signal);
    slice.forEach((item, n) => {
      const result = response.entry?.[n]?.response;
      const status = Number.parseInt(result?.status ?? '0', 10);
      if (status === 201) {
        outcome.created++;
      } else if (status === 200 && item.kind === 'create') {
        outcome.unchanged++; // created by someone else meanwhile: found, not duplicated
      } else if (status === 200) {
        outcome.updated++;
      } else {
        const reason = outcomeText(result?.outcome as never) || `HTTP ${status || 'unknown'}`;
        outcome.failures.push({ target: item.target, reason });
      }
    });
  }
  if (outcome.failures.length) {
    options.logger.warn('writes failed', { failed: outcome.failures.length, attempted: entries.length });
  }
  return outcome;
}

export function writtenReference(resource: Resource): string {
  return `${resource.resourceType}/${resource.id}`;
}
