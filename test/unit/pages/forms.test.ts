import { worklistView } from '../../../src/pages/view-models';
import { readDecision } from '../../../src/pages/workspace-routes';
import { formatDate, formatDateTime, formatNhsNumber } from '../../../src/pages/views';
import type { WorklistView } from '../../../src/workspace';

describe('readDecision', () => {
  it('reads accept with its owner and note, decline with its reason, defer, keeping the version the user saw', () => {
    expect(readDecision({ decision: 'accept', owner: 'PractitionerRole/gp-1', note: ' ok ', version: '3' })).toEqual({
      decision: { kind: 'accept', owner: 'PractitionerRole/gp-1', note: 'ok' },
      version: '3',
      errors: [],
    });
    expect(readDecision({ decision: 'decline', reason: 'not-appropriate', owner: 'x', version: '4' }).decision).toEqual(
      {
        kind: 'decline',
        reason: 'not-appropriate',
      }
    );
    expect(readDecision({ decision: 'defer', reason: 'ignored', version: '1' }).decision).toEqual({ kind: 'defer' });
    expect(readDecision({ decision: 'step-down', note: 'Doing well', version: '2' }).decision).toEqual({
      kind: 'step-down',
      note: 'Doing well',
    });
  });

  it('says what is missing in the form’s words, deciding nothing', () => {
    expect(readDecision({ version: '1' })).toEqual({
      version: '1',
      errors: [{ field: 'decision', text: 'Choose accept, decline or defer' }],
    });
    expect(readDecision({ decision: 'decline', reason: '', version: '1' })).toEqual({
      version: '1',
      errors: [{ field: 'reason', text: 'Choose a reason for declining' }],
    });
    expect(readDecision({ target: 'step-down', version: '1' }).errors).toEqual([
      {
        field: 'decision',
        text: 'Choose what the MDT decides: step the patient down, keep them in the programme or defer',
      },
    ]);
    expect(readDecision({ decision: ['accept', 'defer'], version: '1' }).decision).toBeUndefined();
    expect(readDecision({ decision: 'delete', version: '1' }).decision).toBeUndefined();
  });
});

describe('formatting', () => {
  it('shows NHS numbers 3 3 4 and leaves anything else alone', () => {
    expect(formatNhsNumber('9434765919')).toBe('943 476 5919');
    expect(formatNhsNumber('943 476 5919')).toBe('943 476 5919');
    expect(formatNhsNumber(undefined)).toBe('');
  });

  it('shows a FHIR date as the calendar date it is, and an instant in UK time', () => {
    expect(formatDate('2026-03-29')).toBe('29 March 2026');
    expect(formatDate('2026-12-01T23:30:00Z')).toBe('1 December 2026');
    // An instant is placed on London's calendar: 23:30 UTC on 30 June is 1 July in British Summer Time.
    expect(formatDate('2026-06-30T23:30:00Z')).toBe('1 July 2026');
    expect(formatDate('not a date')).toBe('not a date');
    expect(formatDate('')).toBe('');
    expect(formatDateTime('2026-07-01T13:05:00Z')).toBe('1 July 2026 at 14:05');
  });
});

describe('worklistView', () => {
  const view = (number: number, pages: number): WorklistView => ({
    asOf: '2026-12-01',
    counts: { escalated: 0, new: 0, deferred: 0, 'step-down': 0, 'awaiting-capacity': 0, total: 0, byTier: {} },
    sections: [],
    filters: { practice: 'Y99001', tier: 'first', page: number },
    options: { practices: [{ ods: 'Y99001', name: 'Example practice' }], tiers: [], stages: [] },
    page: { number, size: 50, rows: 120, pages },
  });

  it('links to the previous and next pages keeping the filters, and chooses the filters applied', () => {
    const middle = worklistView(view(2, 3), '/worklist');
    expect(middle.previous).toEqual({ href: '/mdt/worklist?practice=Y99001&tier=first&page=1', labelText: 'Page 1' });
    expect(middle.next).toEqual({ href: '/mdt/worklist?practice=Y99001&tier=first&page=3', labelText: 'Page 3' });
    expect(middle.practiceOptions).toEqual([
      { value: '', text: 'All practices', selected: false },
      { value: 'Y99001', text: 'Example practice', selected: true },
    ]);
    expect(worklistView(view(1, 3), '/worklist').previous).toBeUndefined();
    expect(worklistView(view(3, 3), '/worklist').next).toBeUndefined();
  });
});
