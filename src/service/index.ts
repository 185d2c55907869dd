import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { schedule } from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import { endpointsFrom, resolvePopulation, rulesFrom } from '../cohort';
import type { Config } from '../config';
import { ConfigError } from '../config';
import type { Logger } from '../logging';
import { uiConfigProblem } from '../pages';
import type { ApiContext } from './api';
import { createApp } from './app';
import { Authenticator } from './auth';
import { CohortView, readCohort } from './cohort-view';
import { ServiceMetrics } from './metrics';
import { NotificationQueue } from './notifications';
import { RunManager } from './runs';
import { workspacePages } from './workspace-pages';

export { newApiKey, sha256Hex } from './auth';
export type { Principal } from './auth';
export { openApiDocument, ROUTES } from './api';
export type { RunRecord, RunStatus } from './runs';

export interface RunningService {
  /** The API's base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  runs: RunManager;
  notifications: NotificationQueue;
  /**
   * Graceful stop: no new connections, no more scheduled or notified runs, the run in progress asked to stop (its
   * transaction in flight completes), then the listener closes.
   */
  stop(): Promise<void>;
}

/**
 * `hfu serve`: the API, the scheduler and the notification queue over the FHIR source (and the record's own endpoint,
 * `writeback.fhir`, when configured apart). Refuses to start without
 * a way to authenticate callers.
 */
export async function startService(
  config: Config & { fhir: { baseUrl: string } },
  logger: Logger
): Promise<RunningService> {
  const authenticator = new Authenticator(config.service.auth);
  if (!authenticator.configured) {
    throw new ConfigError('service', ['service.auth: configure jwt (an issuer) or apiKeys: the API never runs open']);
  }
  const uiProblem = uiConfigProblem(config);
  if (uiProblem) {
    throw uiProblem;
  }
  const metrics = new ServiceMetrics();
  const endpoints = endpointsFrom(config, config.fhir.baseUrl, { logger, observer: metrics.fhirObserver });
  const rules = rulesFrom(config);
  const runs = new RunManager({ ...endpoints, logger, metrics, ...rules }, config);
  const notifications = new NotificationQueue(runs, config.service.notifications.debounceMs, logger);
  // The configured population's key names the cohort Group: resolved once (a failure is tried again next time).
  let populationKey: Promise<string> | undefined;
  const resolvePopulationKey = (): Promise<string> =>
    (populationKey ??= resolvePopulation(endpoints.source, config.scope).then(
      (p) => p.key,
      (err: unknown) => {
        populationKey = undefined;
        throw err;
      }
    ));
  const cohortView = new CohortView(readCohort(endpoints.record, rules.programme, resolvePopulationKey));
  runs.onFinished(() => cohortView.invalidate());
  const ctx: ApiContext = {
    config,
    endpoints,
    rules,
    logger,
    runs,
    notifications,
    metrics,
    cohortView,
  };
  const pages = config.service.ui.enabled
    ? workspacePages(config, logger, runs, {
        source: endpoints.source,
        record: endpoints.record,
        config,
        logger,
        ...rules,
        populationKey: resolvePopulationKey,
      })
    : undefined;
  const server = await listen(createApp(ctx, authenticator, pages), config.service.host, config.service.port);
  const url = `http://${config.service.host}:${(server.address() as AddressInfo).port}`;
  const task = scheduleRefresh(config, runs, logger);
  if (config.service.schedule.runOnStart) {
    runs.start({ trigger: 'startup' });
  }
  logger.info('service started', { url, schedule: config.service.schedule.cron ?? 'none' });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      logger.info('service stopping');
      await task?.stop();
      notifications.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await runs.stop();
      server.closeAllConnections();
      await closed;
      logger.info('service stopped');
    })());
  return { url, runs, notifications, stop };
}

/** The configured cron in the configured time zone; a tick during a run is skipped (and logged), never queued. */
function scheduleRefresh(config: Config, runs: RunManager, logger: Logger): ScheduledTask | undefined {
  const { cron, timezone } = config.service.schedule;
  if (!cron) {
    return undefined;
  }
  return schedule(
    cron,
    () => {
      if (runs.running) {
        logger.warn('scheduled refresh skipped: a run is in progress', { running: runs.running.id });
        return;
      }
      runs.start({ trigger: 'schedule' });
    },
    { timezone, name: 'hfu-refresh' }
  );
}

function listen(app: ReturnType<typeof createApp>, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(server)));
  });
}
