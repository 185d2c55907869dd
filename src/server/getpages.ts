import { randomUUID } from 'node:crypto';

interface SavedSearch {
  resourceType: string;
  params: string;
}

/**
 * Searches kept under an opaque id, as HAPI FHIR keeps them, so that a next link carries only the id and the page
 * window. The oldest are forgotten first (a forgotten id is 410 Gone, as on HAPI once a search expires). A page is
 * the search run again at its offset: this server's stable order means no entry is skipped or repeated unless
 * resources are added or removed between pages (HAPI would keep the first results).
 */
export class SearchSnapshots {
  private readonly searches = new Map<string, SavedSearch>();

  constructor(private readonly capacity = 1000) {}

  save(resourceType: string, params: URLSearchParams): string {
    const id = randomUUID();
    this.searches.set(id, { resourceType, params: params.toString() });
    if (this.searches.size > this.capacity) {
      this.searches.delete(this.searches.keys().next().value as string);
    }
    return id;
  }

  /** The local search URL a `_getpages` request stands for; undefined when the id is unknown or forgotten. */
  resume(query: URLSearchParams, maxCount: number): { id: string; url: string } | undefined {
    const id = query.get('_getpages') ?? '';
    const saved = this.searches.get(id);
    if (!saved) {
      return undefined;
    }
    const params = new URLSearchParams(saved.params);
    const count = query.get('_count');
    params.set('_offset', query.get('_getpagesoffset') ?? '0'); // not a number: refused as any bad _offset is
    if (count !== null) {
      params.set('_count', /^\d+$/.test(count) ? String(Math.min(Number(count), maxCount)) : count);
    }
    return { id, url: `/${saved.resourceType}?${params.toString()}` };
  }
}
