import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RunResult } from '../cohort';
import type { TransportObserver } from '../fhir';

export type RunTrigger = 'api' | 'schedule' | 'notification' | 'startup' | 'workspace';
export type RunOutcome = 'succeeded' | 'incomplete' | 'stopped' | 'failed';

/** The service's Prometheus metrics: counts, durations and sizes only, never a patient. */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly runs = new Counter({
    name: 'hfu_runs_total',
    help: 'Runs finished, by trigger and outcome',
    labelNames: ['trigger', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly runDuration = new Histogram({
    name: 'hfu_run_duration_seconds',
    help: 'Run duration',
    labelNames: ['trigger'] as const,
    buckets: [1, 5, 15, 60, 300, 900, 1800, 3600],
    registers: [this.registry],
  });
  private readonly running = new Gauge({
    name: 'hfu_run_in_progress',
    help: '1 while a run is in progress',
    registers: [this.registry],
  });
  private readonly evaluated = new Counter({
    name: 'hfu_patients_evaluated_total',
    help: 'Patients evaluated by runs',
    registers: [this.registry],
  });
  private readonly candidates = new Gauge({
    name: 'hfu_candidates',
    help: 'Patients meeting each tier at the last complete run',
    labelNames: ['tier'] as const,
    registers: [this.registry],
  });
  private readonly stages = new Gauge({
    name: 'hfu_programme_patients',
    help: 'Patients in the programme by stage after the last complete run',
    labelNames: ['stage'] as const,
    registers: [this.registry],
  });
  private readonly writes = new Counter({
    name: 'hfu_writes_total',
    help: 'Resources written back, by outcome (created, updated, unchanged, provenance, failed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly fhirRequests = new Counter({
    name: 'hfu_fhir_requests_total',
    help: 'Requests to the FHIR endpoint, by method and HTTP status',
    labelNames: ['method', 'status'] as const,
    registers: [this.registry],
  });
  private readonly fhirDuration = new Histogram({
    name: 'hfu_fhir_request_duration_seconds',
    help: 'FHIR request duration',
    labelNames: ['method'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly fhirRetries = new Counter({
    name: 'hfu_fhir_retries_total',
    help: 'Retries of FHIR requests, by method and reason (status or failure kind)',
    labelNames: ['method', 'reason'] as const,
    registers: [this.registry],
  });
  private readonly apiRequests = new Counter({
    name: 'hfu_api_requests_total',
    help: 'API requests, by route and status',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'hfu_' });
  }

  /** For the FHIR client: every attempt and retry. */
  readonly fhirObserver: TransportObserver = {
    onResponse: (method, status, durationMs) => {
      this.fhirRequests.inc({ method, status: String(status) });
      this.fhirDuration.observe({ method }, durationMs / 1000);
    },
    onRetry: (method, reason) => this.fhirRetries.inc({ method, reason }),
  };

  runStarted(): void {
    this.running.set(1);
  }

  runFinished(trigger: RunTrigger, outcome: RunOutcome, seconds: number, result?: RunResult): void {
    this.running.set(0);
    this.runs.inc({ trigger, outcome });
    this.runDuration.observe({ trigger }, seconds);
    if (!result) {
      return;
    }
    this.evaluated.inc(result.population);
    const w = result.writes;
    if (!result.dryRun) {
      this.writes.inc({ outcome: 'created' }, w.created);
      this.writes.inc({ outcome: 'updated' }, w.updated);
      this.writes.inc({ outcome: 'unchanged' }, w.unchanged);
      this.writes.inc({ outcome: 'provenance' }, w.provenance);
      this.writes.inc({ outcome: 'failed' }, w.failures.length);
    }
    // Sizes only from a complete, whole-population run: a partial or targeted run does not see the whole cohort.
    if (outcome === 'succeeded' && trigger !== 'notification' && !result.dryRun) {
      this.candidates.set({ tier: 'first' }, result.tiers.first);
      this.candidates.set({ tier: 'second' }, result.tiers.second);
      this.stages.reset();
      for (const [stage, n] of Object.entries(result.stages)) {
        this.stages.set({ stage }, n ?? 0);
      }
    }
  }

  apiRequest(route: string, status: number): void {
    this.apiRequests.inc({ route, status: String(status) });
  }
}
