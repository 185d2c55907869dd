/**
 * FHIR R4 primitive formats (https://hl7.org/fhir/R4/datatypes.html), by type name, as the record check applies them.
 * A dateTime or instant with a time but no offset is accepted: dates are placed as London days, and a local time is
 * already London's (see `londonDay`).
 */

/** A resource id: letters, digits, '-' and '.', at most 64. */
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

const YEAR = '(?!0000)\\d{4}';
const DATE = new RegExp(`^${YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\\d|3[01]))?)?$`);
const TIME = '([01]\\d|2[0-3]):[0-5]\\d:([0-5]\\d|60)(\\.\\d+)?';
const TIME_OF_DAY = new RegExp(`^${TIME}$`);
const OFFSET = '(Z|[+-]((0\\d|1[0-3]):[0-5]\\d|14:00))';
const DATE_TIME = new RegExp(`^${YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\\d|3[01])(T${TIME}${OFFSET}?)?)?)?$`);
const INSTANT = new RegExp(`^${YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])T${TIME}${OFFSET}?$`);

const isString = (v: unknown): v is string => typeof v === 'string';
/** A full date must also be a real calendar day (no 31 April, no 29 February 2026); the format is checked first. */
function realDay(v: string): boolean {
  if (v.length < 10) {
    return true;
  }
  const digit = (i: number): number => v.charCodeAt(i) - 48;
  const day = digit(8) * 10 + digit(9);
  if (day <= 28) {
    return true; // the common case, with no arithmetic (and no Date) on the hot path
  }
  const month = digit(5) * 10 + digit(6);
  if (month === 2) {
    const year = Number(v.slice(0, 4));
    return day === 29 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  }
  return day <= 30 || LONG_MONTHS.has(month);
}
const LONG_MONTHS = new Set([1, 3, 5, 7, 8, 10, 12]);
const isUri = (v: unknown): boolean => isString(v) && /^\S*$/.test(v);

export const PRIMITIVES: Record<string, (value: unknown) => boolean> = {
  boolean: (v) => typeof v === 'boolean',
  integer: (v) => Number.isInteger(v),
  positiveInt: (v) => Number.isInteger(v) && (v as number) > 0,
  unsignedInt: (v) => Number.isInteger(v) && (v as number) >= 0,
  decimal: (v) => typeof v === 'number' && Number.isFinite(v),
  string: isString,
  markdown: isString,
  xhtml: isString,
  base64Binary: isString,
  code: (v) => isString(v) && /^[^\s]+(\s[^\s]+)*$/.test(v),
  id: (v) => isString(v) && FHIR_ID.test(v),
  uri: isUri,
  url: isUri,
  canonical: isUri,
  oid: isUri,
  uuid: isUri,
  date: (v) => isString(v) && DATE.test(v) && realDay(v),
  dateTime: (v) => isString(v) && DATE_TIME.test(v) && realDay(v),
  instant: (v) => isString(v) && INSTANT.test(v) && realDay(v),
  time: (v) => isString(v) && TIME_OF_DAY.test(v),
  'System.String': isString,
  'System.Boolean': (v) => typeof v === 'boolean',
};
