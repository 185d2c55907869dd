import { randomUUID } from 'node:crypto';
import type { RunDeps, RunProgress, RunResult } from '../cohort';
import { runCohort, runSettingsFrom } from '../cohort';
import type { Config } from '../config';
import { loggableError, outcomeOf } from '../errors';
import { withLogContext } from '../logging';
import { HttpError } from './errors';
import type { RunOutcome, RunTrigger, ServiceMetrics } from './metrics';

export type RunStatus = 'running' | RunOutcome;

/** A run as the API shows it: status, timings and counts; errors as the server gave them (no stack traces). */
export interface RunRecord {
  id: string;
  trigger: RunTrigger;
  dryRun: boolean;
  /** Patients of a targeted refresh (a notification), by id. */
  patients?: string[];
  status: RunStatus;
  startedAt: string;
  finishedAt?: string;
  progress?: RunProgress;
  counts?: {
    population: number;
    tiers: RunResult['tiers'];
    proposed: number;
    waitlisted: number;
    awaitingCapacity: number;
    skipped: number;
    actions: RunResult['actions'];
    stages: RunResult['stages'];
    writes: { created: number; updated: number; unchanged: number; provenance: number; failed: number };
  };
  timings?: RunResult['timings'];
  errors: string[];
}

export interface RunRequest {
  trigger: RunTrigger;
  dryRun?: boolean;
  patients?: string[];
}

/** The run already in progress when another is asked for. */
export class RunInProgress extends HttpError {
  constructor(readonly runId: string) {
    super(409, 'a run is already in progress', { runId });
  }
}

/**
 * Runs refreshes one at a time and remembers the last few. A second request while one runs is refused (409 with the
 * running run's id), never queued behind it; a run past its time budget, or any run at shutdown, is asked to stop
 * and finishes the transaction it is in.
 */
export class RunManager {
  private readonly records: RunRecord[] = [];
  private current?: { record: RunRecord; stop: AbortController; done: Promise<void> };
  private readonly finishedListeners: ((record: RunRecord) => void)[] = [];

  constructor(
    private readonly deps: RunDeps & { metrics: ServiceMetrics },
    private readonly config: Config
  ) {}

  get running(): RunRecord | undefined {
    return this.current?.record;
  }

  /** The last finished run failed outright (readiness turns false until one succeeds). */
  get lastFailed(): boolean {
    return this.records.find((r) => r.status !== 'running')?.status === 'failed';
  }

  list(): RunRecord[] {
    return [...this.records];
  }

  get(id: string): RunRecord | undefined {
    return this.records.find((r) => r.id === id);
  }

  /** Called once each run has finished, whatever its outcome (the record may have changed). */
  onFinished(listener: (record: RunRecord) => void): void {
    this.finishedListeners.push(listener);
  }

  /** Starts a run in the background and returns its record, or refuses with the id of the one in progress. */
  start(request: RunRequest): RunRecord {
    if (this.current) {
      throw new RunInProgress(this.current.record.id);
    }
    const record: RunRecord = {
      id: randomUUID(),
      trigger: request.trigger,
      dryRun: request.dryRun ?? false,
      ...(request.patients ? { patients: request.patients } : {}),
      status: 'running',
      startedAt: new Date().toISOString(),
      errors: [],
    };
    this.records.unshift(record);
    this.records.splice(this.config.service.runs.keep);
    const stop = new AbortController();
    const budget = setTimeout(() => stop.abort(), this.config.service.runs.timeBudgetSeconds * 1000);
    budget.unref();
    const done = withLogContext({ runId: record.id }, () => this.execute(record, request, stop.signal)).finally(() => {
      clearTimeout(budget);
      this.current = undefined;
      this.finishedListeners.forEach((listener) => listener(record));
    });
    this.current = { record, stop, done };
    return record;
  }

  /** Asks the run in progress (if any) to stop, and waits until it has. */
  async stop(): Promise<void> {
    const current = this.current;
    if (current) {
      current.stop.abort();
      await current.done;
    }
  }

  /** Waits for the run in progress, if any (tests, and a shutdown that lets a run finish). */
  async settled(): Promise<void> {
    await this.current?.done;
  }

  private async execute(record: RunRecord, request: RunRequest, stop: AbortSignal): Promise<void> {
    const { metrics, logger } = this.deps;
    const started = performance.now();
    metrics.runStarted();
    logger.info('run requested', {
      trigger: record.trigger,
      dryRun: record.dryRun,
      patients: request.patients?.length,
    });
    let result: RunResult | undefined;
    try {
      const settings = runSettingsFrom(this.config, { dryRun: record.dryRun, patients: request.patients });
      result = await runCohort(this.deps, {
        ...settings,
        runId: record.id,
        stop,
        onProgress: (progress) => (record.progress = progress),
      });
      record.status = result.stopped
        ? 'stopped'
        : result.complete && !result.writes.failures.length
          ? 'succeeded'
          : 'incomplete';
      record.counts = countsOf(result);
      record.timings = result.timings;
      record.errors = [
        ...result.writes.failures.map((f) => `${f.target}: ${f.reason}`),
        ...result.skipped.map((s) => `${s.patient}: ${s.reason}`),
      ];
    } catch (err) {
      // What the outcome says, which any reader of the run may see: never an upstream's or a library's own text.
      const outcome = outcomeOf(err);
      record.status = 'failed';
      record.errors = outcome.issue.map((issue) => issue.details?.text ?? issue.code);
      logger.error('run failed', { ...loggableError(err), outcome: outcome.id ?? 'internal' });
    }
    record.finishedAt = new Date().toISOString();
    const seconds = (performance.now() - started) / 1000;
    metrics.runFinished(record.trigger, record.status as RunOutcome, seconds, result);
    logger.info('run ended', {
      trigger: record.trigger,
      status: record.status,
      seconds: Math.round(seconds * 10) / 10,
    });
  }
}

function countsOf(result: RunResult): NonNullable<RunRecord['counts']> {
  return {
    population: result.population,
    tiers: result.tiers,
    proposed: result.proposed.length,
    waitlisted: result.waitlisted.length,
    awaitingCapacity: result.awaitingCapacity.length,
    skipped: result.skipped.length,
    actions: result.actions,
    stages: result.stages,
    writes: {
      created: result.writes.created,
      updated: result.writes.updated,
      unchanged: result.writes.unchanged,
      provenance: result.writes.provenance,
      failed: result.writes.failures.length,
    },
  };
}
