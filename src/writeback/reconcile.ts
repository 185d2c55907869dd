import type { Identifier, Meta, Resource } from '@medplum/fhirtypes';
import { isManaged } from '../vocabulary';

/** A resource as the connector wants it, and which of its fields are the connector's to set. */
export interface Desired<T extends Resource = Resource> {
  resource: T;
  identifier: Required<Pick<Identifier, 'system' | 'value'>>;
  /**
   * Top-level fields the connector owns and keeps up to date. Everything else on an existing resource (a status the
   * MDT set, an owner they chose, notes) belongs to the people using the record and is never overwritten. Of `meta`,
   * the connector owns only its tags and profiles (never list `meta` here): the version belongs to the server.
   */
  owned: readonly string[];
}

export interface WritePlan {
  creates: Desired[];
  updates: { existing: Resource; next: Resource; desired: Desired }[];
  unchanged: Resource[];
  /** Resources bearing one of our identifiers that the connector did not write: reported, never touched. */
  conflicts: { identifier: string; reference: string }[];
}

export function identifierKey(identifier: { system?: string; value?: string }): string {
  return `${identifier.system}|${identifier.value}`;
}

/**
 * Compares what the connector wants with what the record holds, by business identifier: create what is missing,
 * update only the connector's own fields where they differ, leave the rest alone. Running it twice on its own output
 * plans nothing.
 */
export function planWrites(desired: readonly Desired[], existing: readonly Resource[]): WritePlan {
  const byIdentifier = new Map<string, Resource>();
  for (const resource of existing) {
    for (const identifier of (resource as { identifier?: Identifier[] }).identifier ?? []) {
      byIdentifier.set(`${resource.resourceType}:${identifierKey(identifier)}`, resource);
    }
  }
  const plan: WritePlan = { creates: [], updates: [], unchanged: [], conflicts: [] };
  for (const want of desired) {
    const current = byIdentifier.get(`${want.resource.resourceType}:${identifierKey(want.identifier)}`);
    if (!current) {
      plan.creates.push(want);
    } else if (!isManaged(current)) {
      plan.conflicts.push({
        identifier: identifierKey(want.identifier),
        reference: `${current.resourceType}/${current.id}`,
      });
    } else {
      const next = mergeOwned(current, want);
      if (sameOwnedFields(current, next, want.owned)) {
        plan.unchanged.push(current);
      } else {
        plan.updates.push({ existing: current, next, desired: want });
      }
    }
  }
  return plan;
}

/** The existing resource with the connector's own fields replaced by the desired ones. */
export function mergeOwned(existing: Resource, desired: Desired): Resource {
  const next: Record<string, unknown> = { ...existing, meta: mergeMeta(existing.meta, desired.resource.meta) };
  for (const field of desired.owned) {
    const value = (desired.resource as unknown as Record<string, unknown>)[field];
    if (value === undefined) {
      delete next[field];
    } else {
      next[field] = value;
    }
  }
  return next as unknown as Resource;
}

/** The server's meta (version, lastUpdated) with the connector's tags added and its profiles set. */
function mergeMeta(existing: Meta | undefined, desired: Meta | undefined): Meta | undefined {
  if (!desired) {
    return existing;
  }
  const tags = [...(existing?.tag ?? [])];
  for (const tag of desired.tag ?? []) {
    if (!tags.some((t) => t.system === tag.system && t.code === tag.code)) {
      tags.push(tag);
    }
  }
  return {
    ...existing,
    ...(tags.length ? { tag: tags } : {}),
    ...(desired.profile ? { profile: desired.profile } : {}),
  };
}

function sameOwnedFields(a: Resource, b: Resource, fields: readonly string[]): boolean {
  if (
    canonical(a.meta?.tag ?? []) !== canonical(b.meta?.tag ?? []) ||
    canonical(a.meta?.profile) !== canonical(b.meta?.profile)
  ) {
    return false;
  }
  return fields.every(
    (f) =>
      canonical((a as unknown as Record<string, unknown>)[f]) ===
      canonical((b as unknown as Record<string, unknown>)[f])
  );
}

/** JSON with object keys sorted, so equal content compares equal whatever order a server returns it in. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
        )
      : v
  );
}
