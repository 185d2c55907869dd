import type { SearchRequest, WithId } from '@medplum/core';
import {
  badRequest,
  evalFhirPathTyped,
  getSearchParameters,
  matchesSearchRequest,
  OperationOutcomeError,
  Operator,
  splitSearchOnComma,
  toTypedValue,
  validateResource,
} from '@medplum/core';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { MemoryRepository } from '@medplum/fhir-router';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './query';

type Key = string; // "Type/id"

/**
 * Medplum's MemoryRepository with what it lacks to behave like a production server for this connector:
 * - indexes by reference, identifier and tag, so `Encounter?subject=Patient/a,Patient/b` reads only those patients'
 *   resources instead of scanning every Encounter;
 * - a stable order (first-created first) so offset paging never skips or repeats;
 * - validation of every write against the R4 base definitions (400 with an OperationOutcome);
 * - server-assigned `meta.versionId` / `meta.lastUpdated`, whatever the client sent;
 * - page sizes defaulting to 20 and capped at 1,000.
 * The memory repository does not roll back a failed transaction; see README ("Embedded FHIR server").
 */
export class IndexedMemoryRepository extends MemoryRepository {
  private readonly idsByType = new Map<string, Set<string>>();
  private readonly keysByIndex = new Map<string, Set<Key>>();
  private readonly indexKeysOf = new Map<Key, string[]>();
  private readonly sequence = new Map<Key, number>();
  private nextSequence = 0;

  override clear(): void {
    super.clear();
    this.idsByType.clear();
    this.keysByIndex.clear();
    this.indexKeysOf.clear();
    this.sequence.clear();
  }

  /** Create with validation against the R4 base definitions. Also the path every update takes. */
  override async createResource<T extends Resource>(resource: T): Promise<WithId<T>> {
    const incoming = withoutServerMeta(resource);
    validateResource(incoming);
    return this.store(incoming);
  }

  /** Loads trusted resources (the synthetic population) without per-resource validation, for fast seeding. */
  async load(resources: Iterable<Resource>): Promise<number> {
    let n = 0;
    for (const resource of resources) {
      await this.store(resource);
      n++;
    }
    return n;
  }

  /** Ids of every resource of a type, first-created first. */
  idsOf(resourceType: string): string[] {
    return [...(this.idsByType.get(resourceType) ?? [])];
  }

  /** Ids of the resources of `resourceType` that hold a reference to `reference` (e.g. a patient's compartment). */
  referencing(reference: string, resourceType: string): string[] {
    const prefix = resourceType + '/';
    return [...(this.keysByIndex.get(`ref:${reference}`) ?? [])]
      .filter((key) => key.startsWith(prefix))
      .sort((a, b) => (this.sequence.get(a) ?? 0) - (this.sequence.get(b) ?? 0))
      .map((key) => key.slice(prefix.length));
  }

  /** How many resources of each type the repository holds. */
  countsByType(): Record<string, number> {
    return Object.fromEntries([...this.idsByType].map(([type, ids]) => [type, ids.size]));
  }

  override async deleteResource(resourceType: string, id: string): Promise<void> {
    await super.deleteResource(resourceType, id);
    const key = `${resourceType}/${id}`;
    this.unindex(key);
    this.idsByType.get(resourceType)?.delete(id);
    this.sequence.delete(key);
  }

  override async search<T extends Resource>(searchRequest: SearchRequest<T>): Promise<Bundle<WithId<T>>> {
    checkFilterCodes(searchRequest);
    const count = Math.min(searchRequest.count ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    const offset = searchRequest.offset ?? 0;
    const candidates = this.candidates(searchRequest);
    let total: number;
    let page: WithId<T>[];
    if (!searchRequest.filters?.length && !searchRequest.sortRules?.length) {
      total = candidates.length;
      page = await this.readAll<T>(searchRequest.resourceType, candidates.slice(offset, offset + count));
    } else {
      const matched: WithId<T>[] = [];
      for (const resource of await this.readAll<T>(searchRequest.resourceType, candidates)) {
        if (matchesSearchRequest(resource, searchRequest)) {
          matched.push(resource);
        }
      }
      sortResources(matched, searchRequest);
      total = matched.length;
      page = matched.slice(offset, offset + count);
    }
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      total,
      entry: page.length ? page.map((resource) => ({ resource, search: { mode: 'match' } })) : undefined,
    };
  }

  private async store<T extends Resource>(resource: T): Promise<WithId<T>> {
    const stored = await super.createResource(resource);
    const key = `${stored.resourceType}/${stored.id}`;
    let ids = this.idsByType.get(stored.resourceType);
    if (!ids) {
      ids = new Set();
      this.idsByType.set(stored.resourceType, ids);
    }
    if (!this.sequence.has(key)) {
      this.sequence.set(key, this.nextSequence++);
      ids.add(stored.id);
    }
    this.unindex(key);
    const indexKeys = indexKeysFor(stored);
    for (const indexKey of indexKeys) {
      let keys = this.keysByIndex.get(indexKey);
      if (!keys) {
        keys = new Set();
        this.keysByIndex.set(indexKey, keys);
      }
      keys.add(key);
    }
    this.indexKeysOf.set(key, indexKeys);
    return stored;
  }

  private unindex(key: Key): void {
    for (const indexKey of this.indexKeysOf.get(key) ?? []) {
      const keys = this.keysByIndex.get(indexKey);
      keys?.delete(key);
      if (keys?.size === 0) {
        this.keysByIndex.delete(indexKey);
      }
    }
    this.indexKeysOf.delete(key);
  }

  /**
   * Ids that may match, in creation order: the smallest set an indexed filter allows, or every resource of the type.
   * Every candidate is still checked against all filters, so an index only ever narrows.
   */
  private candidates(searchRequest: SearchRequest): string[] {
    const { resourceType } = searchRequest;
    let best: Set<Key> | undefined;
    for (const filter of searchRequest.filters ?? []) {
      const narrowed = this.indexedCandidates(resourceType, filter.code, filter.operator, filter.value);
      if (narrowed && (!best || narrowed.size < best.size)) {
        best = narrowed;
      }
    }
    if (!best) {
      return [...(this.idsByType.get(resourceType) ?? [])];
    }
    const prefix = resourceType + '/';
    return [...best]
      .filter((key) => key.startsWith(prefix))
      .sort((a, b) => (this.sequence.get(a) ?? 0) - (this.sequence.get(b) ?? 0))
      .map((key) => key.slice(prefix.length));
  }

  private indexedCandidates(resourceType: string, code: string, operator: string, value: string): Set<Key> | undefined {
    if (operator !== Operator.EQUALS) {
      return undefined;
    }
    const param = getSearchParameters(resourceType)?.[code];
    const values = splitSearchOnComma(value);
    let indexKeys: string[] | undefined;
    if (code === '_id') {
      const out = new Set<Key>();
      values.forEach((id) => this.idsByType.get(resourceType)?.has(id) && out.add(`${resourceType}/${id}`));
      return out;
    } else if (param?.type === 'reference' && values.every((v) => REFERENCE.test(v))) {
      indexKeys = values.map((v) => `ref:${v}`);
    } else if ((code === 'identifier' || code === '_tag') && values.every((v) => /^[^|]+\|[^|]+$/.test(v))) {
      indexKeys = values.map((v) => `${code}:${v.toLowerCase()}`);
    }
    if (!indexKeys) {
      return undefined;
    }
    const out = new Set<Key>();
    for (const indexKey of indexKeys) {
      this.keysByIndex.get(indexKey)?.forEach((key) => out.add(key));
    }
    return out;
  }

  private async readAll<T extends Resource>(resourceType: string, ids: readonly string[]): Promise<WithId<T>[]> {
    const out: WithId<T>[] = [];
    for (const id of ids) {
      out.push((await this.readResource<T>(resourceType, id)) as WithId<T>);
    }
    return out;
  }
}

const REFERENCE = /^[A-Z][A-Za-z]+\/[^/]+$/;

/** What a resource is findable by: each relative reference it holds, its identifiers and its tags. */
function indexKeysFor(resource: Resource): string[] {
  const keys = new Set<string>();
  collectReferences(resource, keys);
  for (const identifier of asArray((resource as { identifier?: unknown }).identifier)) {
    const { system, value } = identifier as { system?: string; value?: string };
    if (system && value) {
      keys.add(`identifier:${system}|${value}`.toLowerCase());
    }
  }
  for (const tag of resource.meta?.tag ?? []) {
    if (tag.system && tag.code) {
      keys.add(`_tag:${tag.system}|${tag.code}`.toLowerCase());
    }
  }
  return [...keys];
}

function collectReferences(node: unknown, keys: Set<string>): void {
  if (Array.isArray(node)) {
    node.forEach((item) => collectReferences(item, keys));
  } else if (node && typeof node === 'object') {
    for (const [field, value] of Object.entries(node)) {
      if (field === 'reference' && typeof value === 'string' && REFERENCE.test(value)) {
        keys.add(`ref:${value}`);
      } else if (typeof value === 'object') {
        collectReferences(value, keys);
      }
    }
  }
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

/** The matcher treats an unknown parameter as "no match"; a wrong query must fail loudly instead. */
function checkFilterCodes(searchRequest: SearchRequest): void {
  const known = getSearchParameters(searchRequest.resourceType) ?? {};
  for (const filter of searchRequest.filters ?? []) {
    if (!known[filter.code]) {
      throw new OperationOutcomeError(
        badRequest(`Unknown search parameter '${filter.code}' for ${searchRequest.resourceType}`)
      );
    }
  }
}

function sortResources(resources: Resource[], searchRequest: SearchRequest): void {
  const rules = searchRequest.sortRules ?? [];
  if (!rules.length) {
    return;
  }
  const params = getSearchParameters(searchRequest.resourceType) ?? {};
  const sortKey = (resource: Resource, code: string): string => {
    const expression = params[code]?.expression;
    const values = expression ? evalFhirPathTyped(expression, [toTypedValue(resource)]) : [];
    return JSON.stringify(values[0]?.value ?? '');
  };
  resources.sort((a, b) => {
    for (const rule of rules) {
      const order = sortKey(a, rule.code).localeCompare(sortKey(b, rule.code));
      if (order !== 0) {
        return rule.descending ? -order : order;
      }
    }
    return 0;
  });
}

/** The client's resource without the fields only the server assigns. */
function withoutServerMeta<T extends Resource>(resource: T): T {
  if (!resource.meta) {
    return resource;
  }
  const { versionId: _versionId, lastUpdated: _lastUpdated, ...meta } = resource.meta;
  const copy: T = { ...resource, meta };
  if (!Object.keys(meta).length) {
    delete copy.meta;
  }
  return copy;
}
