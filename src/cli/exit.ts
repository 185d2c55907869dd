/** Exit codes: 0 success, 1 a failed (or incomplete) run, 2 bad configuration or usage. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
