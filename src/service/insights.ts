import type { Config } from '../config';
import { londonToday } from '../dates';
import type { InsightsView } from '../pages';
import type { ReportDeps } from '../report';
import { buildReport, renderReportHtml, reportCharts, reportSettingsFrom } from '../report';
import { SharedRead } from '../workspace';
import type { RunManager } from './runs';

/**
 * The insights page's report: worked out (as `hfu report` does, for today) when a lead first asks after a run, then
 * kept until the next run finishes, since only a run changes the programme's record. Leads asking while it is worked
 * out share that one read of the population.
 */
export function insightsOf(config: Config, deps: ReportDeps, runs: RunManager): () => Promise<InsightsView> {
  const report = new SharedRead(async (): Promise<InsightsView> => {
    const asOf = londonToday();
    const built = await buildReport(deps, reportSettingsFrom(config, asOf));
    return { asOf, html: renderReportHtml(built, await reportCharts(built)) };
  });
  runs.onFinished(() => report.invalidate());
  return () => report.get();
}
