import { isIsoDate } from '../dates';
import { UsageError } from '../errors';

export { UsageError } from '../errors';

/** A flag's integer value; undefined when the flag was not given (the config's value then stands). */
export function parseInteger(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) {
    return undefined;
  }
  if (!/^\d+$/.test(value)) {
    throw new UsageError(`${flag} takes a whole number, not '${value}'`);
  }
  return Number(value);
}

export function parseDate(value: string | undefined, flag: string): string | undefined {
  if (value !== undefined && !isIsoDate(value)) {
    throw new UsageError(`${flag} takes a date as YYYY-MM-DD, not '${value}'`);
  }
  return value;
}
