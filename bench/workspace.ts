/**
 * The MDT workspace's pages' domain calls against a large programme: the embedded server in its own process seeded
 * with the synthetic practice, one real write run with thresholds that put about 1 in 100 patients in the programme
 * (1,000 at 100,000), then, in this process, the worklist and the patient review timed call by call (what the web
 * layer waits for: the server time of a page, less its rendering). The worklist is served from the workspace's view,
 * read once after the run; each patient review reads that patient's data and programme resources and writes its
 * AuditEvent. Then decisions (defer, with the targeted refresh each one runs) and the worklist after each.
 */
import { rulesFrom, runCohort, runSettingsFrom } from '../src/cohort';
import { configSchema } from '../src/config';
import { FhirClient } from '../src/fhir';
import { silentLogger } from '../src/logging';
import type { WorkspaceUser } from '../src/workspace';
import { createWorkspace } from '../src/workspace';
import { median, report } from './report';
import { AS_OF, startServerProcess } from './run-vs-raw';

const CALLS = 200;
const DECISIONS = 20;

const MDT_USER: WorkspaceUser = {
  subject: 'bench-user',
  name: 'Bench User',
  role: 'mdt',
  agent: { type: 'Practitioner', identifier: { system: 'https://fhir.nhs.uk/Id/sds-user-id', value: 'bench' } },
};

/** A workforce big enough for the programme: five clinicians and three psychosocial roles. */
const WORKFORCE = [
  ...['gp-1', 'gp-2', 'nurse-1', 'pharm-1', 'anp-1'].map((id, i) => ({
    reference: `PractitionerRole/${id}`,
    role: (['gp', 'gp', 'nurse', 'pharmacist', 'advanced-nurse-practitioner'] as const)[i],
    caseload: 200,
  })),
  ...['coach-1', 'splw-1', 'cc-1'].map((id, i) => ({
    reference: `PractitionerRole/${id}`,
    role: (['health-and-wellbeing-coach', 'social-prescribing-link-worker', 'care-coordinator'] as const)[i],
    caseload: 200,
  })),
];

export async function benchWorkspace(patients: number): Promise<void> {
  const server = await startServerProcess(patients);
  try {
    const config = configSchema.parse({
      fhir: { baseUrl: server.baseUrl },
      // 9 repeat items (the guidance's 10, one lower), and places for 2 first- and 8 second-priority patients in 1,000.
      programme: { parameters: { repeatItems: 9 }, capacity: { perThousand: { first: 2, second: 8 } } },
      allocation: { workforce: WORKFORCE },
      writeback: { reviewOwner: 'CareTeam/pcn-mdt' },
    });
    const rules = rulesFrom(config);
    const logger = silentLogger();
    const client = FhirClient.fromConfig({ ...config.fhir, baseUrl: server.baseUrl }, { logger });
    const deps = { source: client, record: client, logger, ...rules };
    const runStarted = performance.now();
    const run = await runCohort(deps, runSettingsFrom(config, { asOf: AS_OF, dryRun: false }));
    const runMs = performance.now() - runStarted;
    const workspace = createWorkspace({
      source: client,
      record: client,
      config,
      programme: rules.programme,
      mapping: rules.mapping,
      logger,
      asOf: () => AS_OF,
      refreshPatient: async (id) => {
        await runCohort(deps, { ...runSettingsFrom(config, { asOf: AS_OF, dryRun: false, patients: [id] }) });
      },
    });

    const coldStarted = performance.now();
    const first = await workspace.worklist(MDT_USER, {});
    const coldMs = performance.now() - coldStarted;
    const pages = first.page.pages;
    const filters = [{}, { tier: 'first' }, { tier: 'second' }, { stage: 'new' }];
    const worklistMs = await timed(CALLS, (i) =>
      workspace.worklist(MDT_USER, { ...filters[i % filters.length], page: 1 + (i % pages) })
    );

    const ids = first.sections.flatMap((s) => s.rows).map((r) => r.patient.id);
    const all: string[] = [];
    for (let page = 1; page <= pages && all.length < CALLS; page++) {
      all.push(
        ...(await workspace.worklist(MDT_USER, { page })).sections.flatMap((s) => s.rows.map((r) => r.patient.id))
      );
    }
    const reviewIds = all.length ? all : ids;
    const patientMs = await timed(CALLS, (i) => workspace.patient(MDT_USER, reviewIds[i % reviewIds.length] as string));

    const decideMs: number[] = [];
    const afterMs: number[] = [];
    for (let i = 0; i < Math.min(DECISIONS, reviewIds.length); i++) {
      const id = reviewIds[reviewIds.length - 1 - i] as string;
      const review = await workspace.patient(MDT_USER, id);
      if (!review.review) {
        continue;
      }
      let started = performance.now();
      await workspace.decide(MDT_USER, id, { kind: 'defer' }, review.review.version);
      decideMs.push(performance.now() - started);
      started = performance.now();
      await workspace.worklist(MDT_USER, { stage: 'deferred' });
      afterMs.push(performance.now() - started);
    }

    report(
      `MDT workspace: ${patients.toLocaleString('en-GB')} patients (embedded server), ${first.counts.total} on the worklist`,
      {
        'write run that built the programme': `${(runMs / 1000).toFixed(1)} s (${run.proposed.length} proposed)`,
        'first worklist (reads the programme view)': `${(coldMs / 1000).toFixed(2)} s`,
        [`worklist, ${CALLS} calls (pages, filters): p50 / p95`]: p50p95(worklistMs),
        [`patient review, ${CALLS} calls (+ AuditEvent each): p50 / p95`]: p50p95(patientMs),
        'target p95 <= 300 ms':
          Math.max(percentile(worklistMs, 95), percentile(patientMs, 95)) <= 300 ? 'met' : 'NOT met',
        [`decision (defer) with its targeted refresh, ${decideMs.length} calls: p50 / p95`]: p50p95(decideMs),
        'worklist right after each decision: p50 / p95': p50p95(afterMs),
      }
    );
  } finally {
    server.child.kill('SIGTERM');
  }
}

async function timed(calls: number, call: (i: number) => Promise<unknown>): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await call(i);
    ms.push(performance.now() - started);
  }
  return ms;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function p50p95(values: readonly number[]): string {
  return values.length ? `${median(values).toFixed(1)} ms / ${percentile(values, 95).toFixed(1)} ms` : 'none';
}
