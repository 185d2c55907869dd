// Unit tests; the date-sensitive ones again under two other time zones; integration tests over HTTP against a real
// embedded FHIR server. Type checking happens once, in `npm run lint` (tsc --noEmit): tests only transpile.
// One worker per core: jest's default (cores - 1) is a single worker on a 2-core machine, running every file in turn
// while the other core idles, now that integration tests run the CLI in-process rather than in a second process.
// A worker whose heap has grown past 512 MB is replaced after its file: one that ended with a heap of 1-1.3 GB took
// longer than jest's half second to exit (its 'exit' event came at once; freeing the heap did not), and was killed.
// openid-client and its own dependencies ship only as ES modules. Node 20.19+ loads them with require(); jest's module
// loader does not, so jest transpiles those few packages to CommonJS as it does the tests.
const esmOnly = ['openid-client', 'oauth4webapi', 'jose'];
const transform = {
  '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  [`/node_modules/(${esmOnly.join('|')})/.+\\.js$`]: ['ts-jest', { diagnostics: false, tsconfig: { allowJs: true } }],
};
const transformIgnorePatterns = [`/node_modules/(?!(${esmOnly.join('|')})/)`];
// Math from the outer realm: in jest's vm context every lookup of a global goes through an interceptor, and Math's
// (the synthetic population's random draws, the report's bootstrap) ran some 20-40 times slower than under plain node
// (jestjs/jest#5163, nodejs/node#31658): the impact report's bootstrap over 3,400 patients took 8 s of CPU, not 0.4.
const common = { transform, transformIgnorePatterns, testEnvironment: 'node', sandboxInjectedGlobals: ['Math'] };
const dateSensitive = [
  '<rootDir>/test/unit/dates/**/*.test.ts',
  '<rootDir>/test/unit/synth/population.test.ts',
  '<rootDir>/test/unit/criteria/wording.test.ts',
];

module.exports = {
  testTimeout: 120000,
  maxWorkers: '100%',
  workerIdleMemoryLimit: '512MB',
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
    // The workspace in a real chromium (playwright-core driving /usr/bin/chromium), against the real service.
    { ...common, displayName: 'browser', testMatch: ['<rootDir>/test/browser/**/*.test.ts'] },
  ],
};
