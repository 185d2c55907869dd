import {
  addDays,
  addMonths,
  isIsoDate,
  londonDate,
  londonStartOfDay,
  longDate,
  longMonth,
  toLondonDateTime,
  yearsBetween,
} from '../../../src/dates';

describe('calendar arithmetic', () => {
  it.each([
    ['2026-11-23', -12, '2025-11-23'],
    ['2024-02-29', -12, '2023-02-28'],
    ['2025-03-31', -1, '2025-02-28'],
    ['2025-01-31', 1, '2025-02-28'],
    ['2025-12-15', 1, '2026-01-15'],
  ])('%s plus %i months is %s', (date, months, expected) => {
    expect(addMonths(date, months)).toBe(expected);
  });

  it('adds days across month and year ends', () => {
    expect(addDays('2025-12-31', 1)).toBe('2026-01-01');
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29');
  });

  it('counts whole years for an age', () => {
    expect(yearsBetween('1950-11-24', '2026-11-23')).toBe(75);
    expect(yearsBetween('1950-11-23', '2026-11-23')).toBe(76);
  });

  it('rejects what is not a calendar date', () => {
    expect(isIsoDate('2025-02-30')).toBe(false);
    expect(() => addMonths('23/11/2026', 1)).toThrow(/not a calendar date/);
  });
});

describe('Europe/London', () => {
  it('starts a winter day at midnight UTC and a summer day at 23:00 UTC the evening before', () => {
    expect(londonStartOfDay('2025-12-01').toISOString()).toBe('2025-12-01T00:00:00.000Z');
    expect(londonStartOfDay('2025-07-01').toISOString()).toBe('2025-06-30T23:00:00.000Z');
  });

  it('handles the days the clocks change', () => {
    expect(londonStartOfDay('2025-03-30').toISOString()).toBe('2025-03-30T00:00:00.000Z');
    expect(londonStartOfDay('2025-10-26').toISOString()).toBe('2025-10-25T23:00:00.000Z');
  });

  it('writes dateTimes with the offset in force', () => {
    expect(toLondonDateTime(new Date('2025-06-01T09:30:00Z'))).toBe('2025-06-01T10:30:00+01:00');
    expect(toLondonDateTime(new Date('2025-01-15T09:30:00Z'))).toBe('2025-01-15T09:30:00+00:00');
  });

  it('reads the London date of an instant', () => {
    expect(londonDate(new Date('2025-06-30T23:30:00Z'))).toBe('2025-07-01');
    expect(londonDate(new Date('2025-12-31T23:30:00Z'))).toBe('2025-12-31');
  });
});

describe('dates as people read them (NHS style: "1 December 2026")', () => {
  const nhs = new Intl.DateTimeFormat('en-GB', {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'Europe/London',
  });

  it('writes every calendar day of a year, clock changes included, as London writes it, with no leading zero', () => {
    for (let t = Date.UTC(2026, 0, 1, 12); t < Date.UTC(2027, 0, 1); t += 86_400_000) {
      const instant = new Date(t);
      const iso = instant.toISOString().slice(0, 10); // noon UTC is on the same London day
      expect(longDate(iso)).toBe(nhs.format(instant));
      expect(longDate(iso)).toMatch(/^[1-9]\d? [A-Z][a-z]+ \d{4}$/);
    }
  });

  it('places a dateTime on London’s calendar and leaves anything else as it is', () => {
    for (const instant of ['2026-03-29T00:30:00Z', '2026-06-30T23:30:00Z', '2026-10-24T23:30:00Z']) {
      expect(longDate(instant)).toBe(nhs.format(new Date(instant)));
    }
    expect(longDate('soon')).toBe('soon');
  });
});

describe('NHS style dates', () => {
  it.each([
    ['2026-12-01', '1 December 2026'],
    ['2027-01-09', '9 January 2027'],
    // An instant is placed on London's calendar: 23:30 UTC on 30 June is 1 July in British Summer Time.
    ['2026-06-30T23:30:00Z', '1 July 2026'],
    ['2026-12-31T23:30:00Z', '31 December 2026'],
  ])('%s → %s', (date, words) => {
    expect(longDate(date)).toBe(words);
  });
});

describe('NHS style months', () => {
  it.each([
    ['2026-12', 'December 2026'],
    ['2027-01', 'January 2027'],
    ['2026-13', '2026-13'],
    ['soon', 'soon'],
  ])('%s → %s', (month, words) => {
    expect(longMonth(month)).toBe(words);
  });
});
