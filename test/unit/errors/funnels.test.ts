import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CommanderError } from 'commander';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, exitFor } from '../../../src/cli/exit';
import { UsageError } from '../../../src/cli/options';
import { ConfigError, loadConfig } from '../../../src/config';
import { loadProgramme, ProgrammeError } from '../../../src/criteria';
import { DefinitionError, httpStatusOf, OUTCOME_ID, outcomeOf } from '../../../src/errors';
import type { FhirErrorKind } from '../../../src/fhir';
import { FhirError } from '../../../src/fhir';
import { loadMapping, MappingError, runMappingTests } from '../../../src/mappings';

const ECHOED = 'Jane Doe, 9434765919';

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'hfu-errors-'));
  mkdirSync(path.join(dir, 'valuesets'));
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

function thrown(load: () => unknown): unknown {
  try {
    load();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('the configuration, a programme and a mapping fail the same way', () => {
  const loaders: [string, (file: string) => unknown, new (...args: never[]) => DefinitionError, string][] = [
    ['configuration', (file) => loadConfig({ file }), ConfigError, 'fhir:\n  colour: blue\n'],
    [
      'programme',
      (file) => loadProgramme({ ref: file }),
      ProgrammeError,
      "id: p\nversion: '1'\ntitle: t\nparameters: { x: 1 }\ncolour: blue\n",
    ],
    [
      'mapping',
      (file) => loadMapping(file),
      MappingError,
      'name: m\ndescription: d\nsearch: {}\nfeatures: {}\ncolour: blue\n',
    ],
  ];

  it.each(loaders)('a %s with an unknown key names the key, exit 2', (what, load, type, yaml) => {
    const file = tempFile('x.yaml', yaml);
    const err = thrown(() => load(file)) as DefinitionError;
    expect(err).toBeInstanceOf(type);
    expect(err).toBeInstanceOf(DefinitionError);
    expect(err.what).toBe(what);
    expect(err.problems).toContain(what === 'configuration' ? 'fhir.colour: unknown key' : 'colour: unknown key');
    expect(err.message.split('\n')[0]).toBe(
      what === 'configuration' ? `invalid configuration (${file}):` : `invalid ${what} ${file}:`
    );
    expect(exitFor(err)).toEqual({ code: EXIT_USAGE, message: `hfu: ${err.message}` });
    const outcome = outcomeOf(err);
    expect(outcome.id).toBe(OUTCOME_ID.invalidConfiguration);
    expect(outcome.issue.map((i) => i.details?.text)).toEqual([
      err.message.split('\n')[0]?.replace(/:$/, ''),
      ...err.problems,
    ]);
  });

  it.each(loaders)('a %s that is not valid YAML says so', (_what, load, type) => {
    const err = thrown(() => load(tempFile('x.yaml', 'fhir: [unclosed'))) as DefinitionError;
    expect(err).toBeInstanceOf(type);
    expect(err.problems[0]).toMatch(/^not valid YAML: /);
  });
});

describe("a mapping's tests.yaml is read the same way", () => {
  it.each([
    ['a file that is not valid YAML', 'asOf: [unclosed', /^not valid YAML: /],
    [
      'an unknown key',
      "asOf: '2026-11-23'\npatient: { resourceType: Patient }\ncases: []\ncolour: blue\n",
      /^colour: unknown key$/,
    ],
  ])('%s is a failed case naming the problem, not a crash', (_name, yaml, problem) => {
    const results = runMappingTests(loadMapping('uk-core'), tempFile('tests.yaml', yaml));
    expect(results).toHaveLength(1);
    expect(results[0]?.passed).toBe(false);
    expect(results[0]?.failures).toContainEqual(expect.stringMatching(problem));
  });
});

describe('the CLI funnel: exit codes', () => {
  it.each([
    ['a configuration error', new ConfigError('defaults', ['fhir.baseUrl: not a URL']), EXIT_USAGE],
    ['a configuration limit met by a run', new ConfigError('writeback.transactionMaxEntries', ['x']), EXIT_USAGE],
    ['a command-line mistake', new UsageError('--patients takes a whole number'), EXIT_USAGE],
    ['a FHIR failure', new FhirError('GET Patient failed: HTTP 500', { kind: 'http', status: 500 }), EXIT_FAILED],
    ['anything else', new Error('boom'), EXIT_FAILED],
  ])('%s', (_name, err, code) => {
    expect(exitFor(err).code).toBe(code);
  });

  it('prefixes a FHIR failure with the endpoint, and prints nothing more for commander, which has', () => {
    const err = new FhirError('GET Patient: network error (ECONNREFUSED)', { kind: 'network' });
    expect(exitFor(err)).toEqual({
      code: EXIT_FAILED,
      message: 'hfu: FHIR endpoint: GET Patient: network error (ECONNREFUSED)',
    });
    expect(exitFor(new CommanderError(1, 'commander.unknownCommand', 'x'))).toEqual({ code: EXIT_USAGE });
    expect(exitFor(new CommanderError(0, 'commander.helpDisplayed', 'x'))).toEqual({ code: EXIT_OK });
  });
});

describe('a FHIR failure as an outcome', () => {
  it.each<[FhirErrorKind, number | undefined, number]>([
    ['network', undefined, 503],
    ['aborted', undefined, 503],
    ['retry-after-too-long', 429, 503],
    ['timeout', undefined, 504],
    ['http', 500, 502],
    ['http', 404, 502],
    ['invalid-response', 200, 502],
    ['cross-origin', undefined, 502],
    ['paging-loop', 200, 502],
    ['auth', 401, 502],
  ])('%s (upstream %s) is HTTP %i, naming the request but not what the server said', (kind, status, answer) => {
    const err = new FhirError(`GET Task failed: HTTP ${status}: ${ECHOED}`, {
      kind,
      method: 'GET',
      path: 'Task',
      status,
    });
    const outcome = outcomeOf(err);
    expect(httpStatusOf(outcome)).toBe(answer);
    expect(outcome.issue[0]?.details?.text).toMatch(/^the FHIR endpoint .+ \(GET Task(: HTTP \d+)?\)$/);
    expect(err.callerDetails()).toEqual({ upstream: { method: 'GET', path: 'Task', ...(status ? { status } : {}) } });
    expect(JSON.stringify(outcome)).not.toContain('Jane');
  });
});

describe('any other error as an outcome', () => {
  it('is a 500 that names nothing of what it was', () => {
    const outcome = outcomeOf(new Error(`cannot read ${ECHOED}`));
    expect(httpStatusOf(outcome)).toBe(500);
    expect(JSON.stringify(outcome)).not.toMatch(/Jane|9434765919/);
    expect(outcome.issue[0]).toEqual({
      severity: 'error',
      code: 'exception',
      details: { text: 'Internal server error' },
    });
  });
});
