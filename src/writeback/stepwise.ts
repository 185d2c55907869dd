import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import type { FhirClient } from '../fhir';
import { FhirError, isVersionConflict } from '../fhir';
import type { ProvenanceInfo, WriteOutcome } from './apply';
import { emptyOutcome, provenanceFor } from './apply';
import type { Desired, WritePlan } from './reconcile';
import { isManaged } from '../vocabulary';
import { canonical, identifierKey, mergeOwned, planWrites } from './reconcile';
import type { ReferenceBook } from './resources';

export interface StepwiseOptions {
  /** `batch`: each wave in one Bundle (at most `maxEntries` entries); `individual`: one request per write. */
  strategy: 'batch' | 'individual';
  maxEntries: number;
  signal?: AbortSignal;
}

/** One write: a conditional create, or an update with If-Match. */
interface Step {
  desired: Desired;
  /** The resource to send; references to resources not yet created are left out (see `withoutReferences`). */
  resource: Resource;
  /** For a create, the `urn:uuid` other resources of this plan refer to it by. */
  urn?: string;
  /** For a create sent without some of its references: the full resource, sent as an update once they exist. */
  completeLater?: Resource;
}

interface Written {
  desired: Desired;
  reference: string;
  resource: Resource;
}

/**
 * Applies one subject's plan without a transaction, for servers that have none: conditional creates first, in an
 * order where each resource's references already exist, then updates (If-Match), then the Provenance of what was
 * written. Two resources that refer to each other (a care plan and its conversation Task) are written as a create
 * without the reference and an update adding it. A write that fails stops the rest; a run stopped anywhere leaves
 * only whole resources, which the next run finds by their business identifiers and completes.
 */
export async function applyStepwise(
  client: FhirClient,
  plan: WritePlan,
  book: ReferenceBook | undefined,
  info: ProvenanceInfo,
  options: StepwiseOptions
): Promise<WriteOutcome> {
  const run = new StepwiseRun(client, options);
  run.outcome.unchanged += plan.unchanged.length;
  if (!plan.creates.length && !plan.updates.length) {
    return run.outcome;
  }
  try {
    await run.creates(plan.creates, book);
    await run.updates(plan.updates.map((u) => ({ desired: u.desired, resource: u.next })));
  } catch (err) {
    if (!(err instanceof FhirError) || err.kind === 'aborted') {
      throw err;
    }
    run.outcome.failures.push({ target: info.subjectKey, reason: err.message });
  }
  await run.provenance(info);
  return run.outcome;
}

class StepwiseRun {
  readonly outcome: WriteOutcome = emptyOutcome();
  private readonly created = new Map<string, string>();
  private readonly written: Written[] = [];
  /** What the server holds now for each write sent, created or found. */
  private readonly results = new Map<Desired, Resource>();

  constructor(
    private readonly client: FhirClient,
    private readonly options: StepwiseOptions
  ) {}

  async creates(creates: readonly Desired[], book: ReferenceBook | undefined): Promise<void> {
    let pending: Step[] = creates.map((desired) => ({
      desired,
      resource: desired.resource,
      urn: book?.fullUrlFor(identifierKey(desired.identifier)),
    }));
    const completions: Step[] = [];
    while (pending.length) {
      const unresolved = new Set(pending.flatMap((s) => (s.urn ? [s.urn] : [])));
      let ready = pending.filter((s) => !mentionsAny(this.resolved(s.resource), unresolved));
      if (!ready.length) {
        // A cycle: the first is created without its references to the others, and completed once they exist.
        const [first] = pending as [Step];
        const complete = this.resolved(first.resource);
        ready = [{ ...first, resource: withoutReferences(complete, unresolved), completeLater: complete }];
      }
      const wave = ready.map((s) => ({ ...s, resource: this.resolved(s.resource) }));
      await this.send(wave, 'create');
      completions.push(...wave.filter((s) => s.completeLater));
      const done = new Set(wave.map((s) => s.desired));
      pending = pending.filter((s) => !done.has(s.desired));
    }
    const completeUpdates = completions.flatMap((s) => {
      const now = this.results.get(s.desired);
      if (!now || !isManaged(now)) {
        return []; // found, not created: someone else's, left alone
      }
      // The fields the create left references out of, merged onto what the server holds: nothing else is touched.
      const resource = this.resolved(s.completeLater as Resource);
      const owned = Object.keys(resource).filter(
        (k) => canonical(field(resource, k)) !== canonical(field(s.resource, k))
      );
      return [{ desired: s.desired, resource: mergeOwned(now, { ...s.desired, resource, owned }) }];
    });
    await this.send(completeUpdates, 'complete');
  }

  async updates(updates: readonly { desired: Desired; resource: Resource }[]): Promise<void> {
    await this.send(
      updates.map((u) => ({ desired: u.desired, resource: this.resolved(u.resource) })),
      'update'
    );
  }

  /** The Provenance of what was written, last, so that it never names a change that did not happen. */
  async provenance(info: ProvenanceInfo): Promise<void> {
    const byDesired = new Map(this.written.map((w) => [w.desired, w]));
    const written = [...byDesired.values()];
    if (!written.length) {
      return;
    }
    const provenance = provenanceFor(
      info,
      written.map((w) => w.reference),
      written.map((w) => w.desired)
    );
    try {
      await this.client.update(provenance, { signal: this.options.signal });
      this.outcome.provenance++;
    } catch (err) {
      if (!(err instanceof FhirError) || err.kind === 'aborted') {
        throw err;
      }
      this.outcome.failures.push({ target: info.subjectKey, reason: err.message });
    }
  }

  /** `Type/id` in place of the `urn:uuid` of each resource created so far. */
  private resolved(resource: Resource): Resource {
    if (!this.created.size) {
      return resource;
    }
    let text = JSON.stringify(resource);
    for (const [urn, reference] of this.created) {
      text = text.replaceAll(`"${urn}"`, `"${reference}"`);
    }
    return JSON.parse(text) as Resource;
  }

  private async send(steps: readonly Step[], kind: 'create' | 'update' | 'complete'): Promise<void> {
    if (!steps.length) {
      return;
    }
    if (this.options.strategy === 'individual') {
      for (const step of steps) {
        this.record(step, kind, await this.one(step, kind));
      }
      return;
    }
    for (let i = 0; i < steps.length; i += this.options.maxEntries) {
      const chunk = steps.slice(i, i + this.options.maxEntries);
      const results = await this.batch(chunk, kind);
      // Entries succeed or fail on their own: what was written is counted (and in the Provenance) before a failure
      // stops the rest.
      chunk.forEach((step, n) => {
        const result = results[n];
        if (result && !(result instanceof FhirError)) {
          this.record(step, kind, result);
        }
      });
      const failure = results.find((r) => r instanceof FhirError);
      if (failure) {
        throw failure;
      }
    }
  }

  private async one(step: Step, kind: 'create' | 'update' | 'complete'): Promise<Result> {
    const { signal } = this.options;
    if (kind === 'create') {
      const { resource, created } = await this.client.create(step.resource, {
        ifNoneExist: { identifier: `${step.desired.identifier.system}|${step.desired.identifier.value}` },
        signal,
      });
      return { resource, status: created ? 201 : 200 };
    }
    try {
      const resource = await this.client.update(step.resource, { ifMatch: step.resource.meta?.versionId, signal });
      return { resource, status: 200 };
    } catch (err) {
      if (err instanceof FhirError && isVersionConflict(err.status)) {
        return this.afterConflict(step);
      }
      throw err;
    }
  }

  private async batch(steps: readonly Step[], kind: 'create' | 'update' | 'complete'): Promise<(Result | FhirError)[]> {
    const entries: BundleEntry[] = steps.map((step) =>
      kind === 'create'
        ? {
            resource: step.resource,
            request: {
              method: 'POST',
              url: step.resource.resourceType,
              ifNoneExist: new URLSearchParams({
                identifier: `${step.desired.identifier.system}|${step.desired.identifier.value}`,
              }).toString(),
            },
          }
        : {
            resource: step.resource,
            request: {
              method: 'PUT',
              url: `${step.resource.resourceType}/${step.resource.id}`,
              ...(step.resource.meta?.versionId ? { ifMatch: `W/"${step.resource.meta.versionId}"` } : {}),
            },
          }
    );
    const bundle = { resourceType: 'Bundle', type: 'batch', entry: entries } as Bundle;
    const response = await this.client.batch(bundle, this.options.signal);
    const results: (Result | FhirError)[] = [];
    for (const [i, step] of steps.entries()) {
      const entry = response.entry?.[i];
      const status = Number.parseInt(entry?.response?.status ?? '0', 10);
      try {
        if (kind !== 'create' && isVersionConflict(status)) {
          results.push(await this.afterConflict(step));
        } else if (status >= 200 && status < 300) {
          const resource = entry?.resource ?? (await this.readLocation(entry?.response?.location));
          results.push({ resource, status });
        } else {
          results.push(
            new FhirError(`batch entry ${i} (${step.resource.resourceType}) answered HTTP ${status}`, {
              kind: 'http',
              method: entries[i]?.request?.method,
              path: step.resource.resourceType,
              status,
            })
          );
        }
      } catch (err) {
        if (!(err instanceof FhirError) || err.kind === 'aborted') {
          throw err;
        }
        results.push(err);
      }
    }
    return results;
  }

  /**
   * A 412 (409 on HAPI) on an update: the resource changed since the plan read it, often because an earlier attempt
   * was applied and its answer lost. Read it again: if it already holds what is wanted there is nothing to do, else
   * write the connector's fields onto the current version once more.
   */
  private async afterConflict(step: Step): Promise<Result> {
    const { signal } = this.options;
    const current = await this.client.read(step.resource.resourceType, step.resource.id as string, signal);
    const again = planWrites([{ ...step.desired, resource: step.resource }], [current]);
    const update = again.updates[0];
    if (!update) {
      return { resource: current, status: again.unchanged.length ? 304 : 409 };
    }
    const resource = await this.client.update(update.next, { ifMatch: current.meta?.versionId, signal });
    return { resource, status: 200 };
  }

  private async readLocation(location: string | undefined): Promise<Resource> {
    const [type, id] = (location ?? '').replace(/^.*?\b([A-Z][A-Za-z]+\/[^/]+)(\/_history\/.*)?$/, '$1').split('/');
    if (!type || !id) {
      throw new FhirError('a batch entry was answered without its resource or location', { kind: 'invalid-response' });
    }
    return this.client.read(type as Resource['resourceType'], id, this.options.signal);
  }

  private record(step: Step, kind: 'create' | 'update' | 'complete', result: Result): void {
    const reference = `${result.resource.resourceType}/${result.resource.id}`;
    if (result.status === 409) {
      this.outcome.failures.push({ target: reference, reason: 'not written by the connector: left alone' });
      return;
    }
    this.results.set(step.desired, result.resource);
    if (step.urn) {
      this.created.set(step.urn, reference);
    }
    if (kind === 'create') {
      if (result.status === 201) {
        this.outcome.created++;
      } else {
        // Found by its identifier: an earlier attempt whose answer was lost created it (then the Provenance names
        // it), or someone else did (then it is not the connector's, and left alone).
        this.outcome.unchanged++;
        if (!isManaged(result.resource)) {
          return;
        }
      }
    } else if (kind === 'update') {
      if (result.status === 304) {
        this.outcome.unchanged++;
        return;
      }
      this.outcome.updated++;
    }
    this.written.push({ desired: step.desired, reference, resource: result.resource });
  }
}

interface Result {
  resource: Resource;
  /** 201 created; 200 found (create) or updated; 304 already as wanted; 409 held by a resource not the connector's. */
  status: number;
}

function field(resource: Resource, key: string): unknown {
  return (resource as unknown as Record<string, unknown>)[key];
}

function mentionsAny(resource: Resource, urns: ReadonlySet<string>): boolean {
  if (!urns.size) {
    return false;
  }
  const text = JSON.stringify(resource);
  return [...urns].some((urn) => text.includes(`"${urn}"`));
}

const DROPPED = Symbol('dropped');

/** The resource without the references it holds to `urns`: a Reference to one is removed with what holds it. */
export function withoutReferences(resource: Resource, urns: ReadonlySet<string>): Resource {
  const strip = (value: unknown): unknown => {
    if (typeof value === 'string') {
      return urns.has(value) ? DROPPED : value;
    }
    if (Array.isArray(value)) {
      const kept = value.map(strip).filter((v) => v !== DROPPED);
      return kept.length ? kept : DROPPED;
    }
    if (value && typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, strip(v)] as const);
      if (entries.some(([k, v]) => k === 'reference' && v === DROPPED)) {
        return DROPPED;
      }
      const kept = entries.filter(([, v]) => v !== DROPPED);
      return kept.length ? Object.fromEntries(kept) : DROPPED;
    }
    return value;
  };
  return strip(resource) as Resource;
}
