/**
 * `npm run bench`: performance figures, measured, never asserted in tests.
 *   npm run bench                      10,000 patients
 *   npm run bench -- --patients 100000 (or --large)
 *   npm run bench -- --only evaluation|run|search-index|read-requests|workspace|report
 *   npm run bench -- --large --only workspace   (the workspace's figures at 100,000 patients)
 *   npm run bench -- --large --only report --rounds 1   (one round of the report's three jobs, not three)
 */
import { benchEvaluation } from './evaluation';
import { benchReadRequests } from './read-requests';
import { benchReport } from './report-vs-raw';
import { benchRunVsRaw } from './run-vs-raw';
import { benchSearchIndex } from './search-index';
import { benchWorkspace } from './workspace';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const patients = process.argv.includes('--large') ? 100_000 : Number(option('patients') ?? 10_000);
  const only = option('only');
  if (!only || only === 'evaluation') {
    benchEvaluation(Math.min(patients, 10_000));
  }
  if (!only || only === 'run') {
    await benchRunVsRaw(patients);
  }
  if (!only || only === 'search-index') {
    await benchSearchIndex();
  }
  if (!only || only === 'read-requests') {
    await benchReadRequests(Math.min(patients, 1000));
  }
  if (!only || only === 'workspace') {
    await benchWorkspace(patients);
  }
  if (!only || only === 'report') {
    await benchReport(patients, Number(option('rounds') ?? 3));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
