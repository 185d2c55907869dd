/**
 * NHS numbers: ten digits, the last a modulus 11 check digit over the first nine (weights 10 down to 2). A
 * remainder giving check value 10 means the nine digits cannot form a valid number.
 */
export function nhsCheckDigit(nineDigits: string): number | undefined {
  if (!/^\d{9}$/.test(nineDigits)) {
    throw new RangeError('an NHS number check digit needs exactly nine digits');
  }
  return checkDigitOf(weightedSum(nineDigits, 9));
}

/** The first `count` digits weighted 10, 9, 8 and so on. */
function weightedSum(digits: string, count: number): number {
  let sum = 0;
  for (let i = 0; i < count; i++) {
    sum += (digits.charCodeAt(i) - 48) * (10 - i);
  }
  return sum;
}

function checkDigitOf(sum: number): number | undefined {
  const check = 11 - (sum % 11);
  if (check === 10) {
    return undefined;
  }
  return check === 11 ? 0 : check;
}

export function isValidNhsNumber(value: string): boolean {
  if (!/^\d{10}$/.test(value)) {
    return false;
  }
  return nhsCheckDigit(value.slice(0, 9)) === Number(value[9]);
}

/** NHS numbers starting 999 are reserved for test data and are never issued to a real patient. */
const TEST_RANGE_PREFIX = '999';
/** Each five-digit stem has at least nine valid completions (at most one final digit gives check value 10). */
const PER_STEM = 9;
export const MAX_TEST_NHS_NUMBERS = 100_000 * PER_STEM;

/**
 * A distinct valid test-range NHS number for each index in 0..MAX_TEST_NHS_NUMBERS-1, computed directly:
 * `999` + a five-digit stem + the (index mod 9)-th final digit that admits a check digit.
 */
export function testNhsNumber(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_TEST_NHS_NUMBERS) {
    throw new RangeError(`test NHS number index ${index} is outside 0..${MAX_TEST_NHS_NUMBERS - 1}`);
  }
  const stem = TEST_RANGE_PREFIX + String(Math.floor(index / PER_STEM)).padStart(5, '0');
  const stemSum = weightedSum(stem, 8); // the ninth digit, weight 2, is tried in turn
  let wanted = index % PER_STEM;
  for (let digit = 0; digit <= 9; digit++) {
    const check = checkDigitOf(stemSum + 2 * digit);
    if (check !== undefined && wanted-- === 0) {
      return stem + String(digit) + String(check);
    }
  }
  throw new Error('unreachable: every stem has nine valid completions');
}
