import { SearchSnapshots } from '../../../src/server/getpages';

describe('SearchSnapshots (HAPI-style _getpages ids)', () => {
  const resumeQuery = (id: string, offset: string, count?: string) =>
    new URLSearchParams({ _getpages: id, _getpagesoffset: offset, ...(count ? { _count: count } : {}) });

  it('gives each search its own opaque id and resumes it at the page asked for', () => {
    const searches = new SearchSnapshots();
    const a = searches.save('Encounter', new URLSearchParams('subject=Patient/a,Patient/b&status=finished'));
    const b = searches.save('Condition', new URLSearchParams('patient=Patient/c'));
    expect(a).toMatch(/^[0-9a-f-]{36}$/);
    expect(a).not.toBe(b);
    const resumed = searches.resume(resumeQuery(a, '40', '20'), 100);
    expect(resumed?.id).toBe(a);
    const url = new URL(resumed?.url as string, 'http://x');
    expect(url.pathname).toBe('/Encounter');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      subject: 'Patient/a,Patient/b',
      status: 'finished',
      _offset: '40',
      _count: '20',
    });
    expect(new URL(searches.resume(resumeQuery(b, '0'), 100)?.url as string, 'http://x').search).toBe(
      '?patient=Patient%2Fc&_offset=0'
    );
  });

  it('lowers a page size above the cap, and passes a malformed one on to be refused', () => {
    const searches = new SearchSnapshots();
    const id = searches.save('Patient', new URLSearchParams());
    expect(searches.resume(resumeQuery(id, '0', '500'), 100)?.url).toBe('/Patient?_offset=0&_count=100');
    expect(searches.resume(resumeQuery(id, 'x', 'y'), 100)?.url).toBe('/Patient?_offset=x&_count=y');
  });

  it('forgets the oldest searches beyond its capacity, and never knows an id it did not give', () => {
    const searches = new SearchSnapshots(2);
    const ids = [1, 2, 3].map((n) => searches.save('Patient', new URLSearchParams({ _id: `p${n}` })));
    expect(searches.resume(resumeQuery(ids[0] as string, '0'), 100)).toBeUndefined();
    expect(searches.resume(resumeQuery(ids[1] as string, '0'), 100)).toBeDefined();
    expect(searches.resume(resumeQuery(ids[2] as string, '0'), 100)).toBeDefined();
    expect(searches.resume(resumeQuery('not-an-id', '0'), 100)).toBeUndefined();
    expect(searches.resume(new URLSearchParams(), 100)).toBeUndefined();
  });
});
