import type { Router } from 'express';
import type { Config } from '../config';
import type { Logger } from '../logging';
import type { LastRunSummary } from '../pages';
import { createPages } from '../pages';
import type { WorkspaceDeps } from '../workspace';
import { createWorkspace } from '../workspace';
import { insightsOf } from './insights';
import type { RunManager, RunRecord } from './runs';
import { RunInProgress } from './runs';

/**
 * The workspace's pages over this service's runs: the programme page shows the last refresh and a lead may start
 * one; a decision refreshes its patient at once (one targeted run, after the run in progress if there is one); a
 * finished run makes the workspace read again what it changed.
 */
export function workspacePages(
  config: Config,
  logger: Logger,
  runs: RunManager,
  deps: Omit<WorkspaceDeps, 'refreshPatient'> & { config: Config }
): Router {
  const workspace = createWorkspace({ ...deps, refreshPatient: (id) => refreshPatient(runs, id) });
  runs.onFinished((record) => workspace.invalidate(record.patients));
  return createPages({
    config,
    logger,
    workspace,
    lastRun: () => lastRunOf(runs.list()[0]),
    startRefresh: () => startUnlessRunning(runs, { trigger: 'workspace' }),
    insights: insightsOf(config, deps, runs),
  });
}

/** A targeted refresh of one patient, waiting its turn behind the run in progress, and for its own end. */
export async function refreshPatient(runs: RunManager, patientId: string): Promise<void> {
  for (;;) {
    await runs.settled();
    if (startUnlessRunning(runs, { trigger: 'workspace', patients: [patientId] })) {
      await runs.settled();
      return;
    }
  }
}

function startUnlessRunning(runs: RunManager, request: Parameters<RunManager['start']>[0]): boolean {
  try {
    runs.start(request);
    return true;
  } catch (err) {
    if (err instanceof RunInProgress) {
      return false;
    }
    throw err;
  }
}

function lastRunOf(record: RunRecord | undefined): LastRunSummary | undefined {
  if (!record) {
    return undefined;
  }
  const writes = record.counts?.writes;
  return {
    status: record.status,
    startedAt: record.startedAt,
    ...(record.finishedAt ? { finishedAt: record.finishedAt } : {}),
    running: record.status === 'running',
    ...(record.counts && writes
      ? {
          counts: {
            proposed: record.counts.proposed,
            created: writes.created,
            updated: writes.updated,
            unchanged: writes.unchanged,
            failed: writes.failed,
          },
        }
      : {}),
  };
}
