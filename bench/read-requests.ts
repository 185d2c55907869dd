/**
 * Requests a dry run makes per 1,000 patients, for each way of reading (`extract.subjectSearch`, and Bulk Data), on the
 * embedded server behaving as itself, like HAPI (pages of at most 100) and minimal (one reference per search). Every
 * fetch the client makes is counted: pages of patients, data searches and their pages, the programme's record,
 * `metadata`, bulk kick-off, polls and files. The cohorts found must agree, or the figure is not reported.
 */
import type { RunResult } from '../src/cohort';
import { rulesFrom, runCohort, runSettingsFrom } from '../src/cohort';
import { configSchema } from '../src/config';
import { FhirClient } from '../src/fhir';
import { silentLogger } from '../src/logging';
import type { SubjectSearch } from '../src/read';
import type { ServerBehaviour } from '../src/server';
import { startFhirServer } from '../src/server';
import { synthesizePractice } from '../src/synth';
import { report } from './report';

const AS_OF = '2026-11-23';

type Way = SubjectSearch | 'bulk';

const WAYS: Record<ServerBehaviour, readonly Way[]> = {
  default: ['or-list', 'per-patient', 'everything', 'bulk'],
  hapi: ['or-list', 'per-patient', 'everything'],
  minimal: ['per-patient'],
  'read-only': [],
};

export async function benchReadRequests(patients: number): Promise<Record<string, number>> {
  const { resources } = synthesizePractice({ patients, seed: 1, asOf: AS_OF });
  const figures: Record<string, number> = {};
  for (const behave of ['default', 'hapi', 'minimal'] as const) {
    const server = await startFhirServer({ resources, behave });
    try {
      let cohort: string | undefined;
      for (const way of WAYS[behave]) {
        const { requests, result } = await countedDryRun(server.baseUrl, way);
        const found = JSON.stringify([...result.proposed].sort());
        if (!result.complete || (cohort !== undefined && found !== cohort)) {
          throw new Error(`${behave} ${way}: the run was incomplete or found another cohort`);
        }
        cohort = found;
        figures[`${behave} ${way}`] = Math.round((requests * 1000) / patients);
      }
    } finally {
      await server.stop();
    }
  }
  report(
    `requests per 1,000 patients, dry run of ${patients} patients (fhir.pageSize 1000, fhir.chunkSize 100)`,
    figures
  );
  return figures;
}

async function countedDryRun(baseUrl: string, way: Way): Promise<{ requests: number; result: RunResult }> {
  const config = configSchema.parse({
    fhir: { baseUrl },
    extract: way === 'bulk' ? { mode: 'bulk' } : { subjectSearch: way },
  });
  let requests = 0;
  const counting: typeof fetch = (input, init) => {
    requests++;
    return fetch(input, init);
  };
  const client = FhirClient.fromConfig({ ...config.fhir, baseUrl }, { fetch: counting, logger: silentLogger() });
  const deps = { source: client, record: client, logger: silentLogger(), ...rulesFrom(config) };
  const result = await runCohort(deps, { ...runSettingsFrom(config, { asOf: AS_OF, dryRun: true }), maxPollMs: 200 });
  return { requests, result };
}
