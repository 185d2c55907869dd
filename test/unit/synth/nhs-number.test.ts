import { isValidNhsNumber, MAX_TEST_NHS_NUMBERS, nhsCheckDigit, testNhsNumber } from '../../../src/synth';

describe('NHS numbers', () => {
  it('computes the modulus 11 check digit', () => {
    expect(nhsCheckDigit('943476591')).toBe(9); // NHS Digital's published example 943 476 5919
    expect(isValidNhsNumber('9434765919')).toBe(true);
    expect(isValidNhsNumber('9434765918')).toBe(false);
  });

  it('recognises nine digits that cannot form a number (check value 10)', () => {
    const invalid = Array.from({ length: 10 }, (_, d) => `99900000${d}`).filter((n) => nhsCheckDigit(n) === undefined);
    expect(invalid.length).toBe(1);
  });

  it('gives distinct, valid numbers in the 999 test range', () => {
    const indices = [0, 1, 2, 8, 9, 10, 4999, 123_456, MAX_TEST_NHS_NUMBERS - 1];
    const numbers = indices.map((i) => testNhsNumber(i));
    numbers.forEach((n) => {
      expect(n).toMatch(/^999\d{7}$/);
      expect(isValidNhsNumber(n)).toBe(true);
    });
    expect(new Set(numbers).size).toBe(numbers.length);
    const firstThousand = new Set(Array.from({ length: 1000 }, (_, i) => testNhsNumber(i)));
    expect(firstThousand.size).toBe(1000);
    expect(() => testNhsNumber(MAX_TEST_NHS_NUMBERS)).toThrow(RangeError);
  });
});
