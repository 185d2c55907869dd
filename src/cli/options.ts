import { isIsoDate } from '../dates';

/** A command-line mistake: reported in one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

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
