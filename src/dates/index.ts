/**
 * Calendar dates as the NHS in England counts them: in Europe/London local time. A date is an ISO `YYYY-MM-DD`
 * string; an instant is a JavaScript Date. "12 months before" is calendar months (2024-02-29 → 2023-02-28), not 365
 * days, as the programme's look-back windows require.
 */
export type IsoDate = string;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_ZONE = 'Europe/London';

export function isIsoDate(value: string): boolean {
  const match = ISO_DATE.exec(value);
  if (!match) {
    return false;
  }
  const [, y, m, d] = match.map(Number) as [number, number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

function parts(date: IsoDate): [number, number, number] {
  if (!isIsoDate(date)) {
    throw new RangeError(`not a calendar date (YYYY-MM-DD): '${date}'`);
  }
  return date.split('-').map(Number) as [number, number, number];
}

function format(y: number, m: number, d: number): IsoDate {
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** Adds calendar months, clamping the day to the end of a shorter month. */
export function addMonths(date: IsoDate, months: number): IsoDate {
  const [y, m, d] = parts(date);
  const monthIndex = y * 12 + (m - 1) + months;
  const ny = Math.floor(monthIndex / 12);
  const nm = monthIndex - ny * 12 + 1;
  const lastDay = new Date(Date.UTC(ny, nm, 0)).getUTCDate();
  return format(ny, nm, Math.min(d, lastDay));
}

export function addDays(date: IsoDate, days: number): IsoDate {
  const [y, m, d] = parts(date);
  const next = new Date(Date.UTC(y, m - 1, d + days));
  return format(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate());
}

/** Whole years from `from` to `to` (an age on a date). */
export function yearsBetween(from: IsoDate, to: IsoDate): number {
  const [fy, fm, fd] = parts(from);
  const [ty, tm, td] = parts(to);
  return ty - fy - (tm < fm || (tm === fm && td < fd) ? 1 : 0);
}

const offsetFormat = new Intl.DateTimeFormat('en-GB', { timeZone: TIME_ZONE, timeZoneName: 'longOffset' });

/** Offsets by UTC hour: Intl is slow and London's offset only ever changes on the hour. */
const offsetByHour = new Map<number, number>();

/** Minutes east of UTC in London at `instant` (0 in winter, 60 in summer). */
export function londonOffsetMinutes(instant: Date): number {
  const hour = Math.floor(instant.getTime() / 3_600_000);
  let offset = offsetByHour.get(hour);
  if (offset === undefined) {
    const name = offsetFormat.formatToParts(instant).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
    const match = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
    offset = match ? (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) : 0;
    offsetByHour.set(hour, offset);
  }
  return offset;
}

/** The instant London's local day `date` begins. */
export function londonStartOfDay(date: IsoDate): Date {
  const [y, m, d] = parts(date);
  const utcMidnight = Date.UTC(y, m - 1, d);
  // DST changes at 01:00 UTC, so the offset in force at UTC midnight is the one at local midnight.
  return new Date(utcMidnight - londonOffsetMinutes(new Date(utcMidnight)) * 60_000);
}

/** London's calendar date at `instant`. */
export function londonDate(instant: Date): IsoDate {
  return new Date(instant.getTime() + londonOffsetMinutes(instant) * 60_000).toISOString().slice(0, 10);
}

/** `instant` as a FHIR dateTime with London's offset, e.g. `2025-06-01T10:30:00+01:00`. */
export function toLondonDateTime(instant: Date): string {
  const offset = londonOffsetMinutes(instant);
  const local = new Date(instant.getTime() + offset * 60_000);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${local.toISOString().slice(0, 19)}${sign}${hh}:${mm}`;
}

/** Today's date in London, for defaults only; computations take the evaluation date as an explicit input. */
export function londonToday(now: Date = new Date()): IsoDate {
  return londonDate(now);
}

/** The London calendar day of a FHIR date or dateTime (partial dates: their first day). */
export function londonDay(value: unknown): IsoDate | undefined {
  if (typeof value !== 'string') {
    return undefined;
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    return value;
  }
  if (/^\d{4}-\d{2}$/.test(value)) {
    return `${value}-01`;
  }
  if (/^\d{4}$/.test(value)) {
    return `${value}-01-01`;
  }
  if (/^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    const instant = new Date(value);
    return Number.isNaN(instant.getTime()) ? undefined : londonDate(instant);
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(value)) {
    return value.slice(0, 10); // a local time without offset: already London's day
  }
  return undefined;
}

const longDateFormat = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  timeZone: 'UTC',
});

/**
 * A date as the NHS style guide writes it: "1 December 2026" (no leading zero, the month in full). A calendar date
 * is London's already and is formatted as it stands; a dateTime is first placed on London's calendar. Anything that
 * is not a FHIR date or dateTime is returned as it is. The one formatter for dates people read: report and pages.
 */
export function longDate(date: string): string {
  const day = londonDay(date);
  return day ? longDateFormat.format(new Date(`${day}T00:00:00Z`)) : date;
}

const longMonthFormat = new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });

/** A calendar month (`2026-12`) as the NHS style guide writes it: "December 2026"; anything else as it is. */
export function longMonth(month: string): string {
  return /^\d{4}-(0[1-9]|1[0-2])$/.test(month) ? longMonthFormat.format(new Date(`${month}-01T00:00:00Z`)) : month;
}
