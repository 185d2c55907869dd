// Unit tests; the date-sensitive ones again under two other time zones; integration tests over HTTP against a real
// embedded FHIR server. Type checking happens once, in `npm run lint` (tsc --noEmit): tests only transpile.
const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] };
const common = { transform, testEnvironment: 'node' };
const dateSensitive = [
  '<rootDir>/test/unit/dates/**/*.test.ts',
  '<rootDir>/test/unit/synth/population.test.ts',
  '<rootDir>/test/unit/criteria/wording.test.ts',
];

module.exports = {
  testTimeout: 120000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'unit-tz-east',
      testMatch: dateSensitive,
      setupFiles: ['<rootDir>/test/setup/tz-far-east.js'],
    },
    {
      ...common,
      displayName: 'unit-tz-west',
      testMatch: dateSensitive,
      setupFiles: ['<rootDir>/test/setup/tz-west.js'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
    },
  ],
};
