import type { NextFunction, Request, Response } from 'express';
import { Router } from 'express';
import { requireRole } from './sign-in';
import type { Views } from './views';

/** The report as the insights page shows it: its date and its body, an HTML fragment on NHS.UK frontend classes. */
export interface InsightsView {
  asOf: string;
  html: string;
}

/** What the insights page needs from the rest of the service. */
export interface InsightsPages {
  /** The `hfu report` report for the configured programme, worked out when first asked for after a run. */
  insights(): Promise<InsightsView>;
}

/**
 * `/mdt/insights`, for a lead only: the programme's report (aggregate figures, no patient's data) with its charts,
 * already SVG from the server, each followed by a table of its figures.
 */
export function insightsRoutes(deps: InsightsPages, views: Views): Router {
  const router = Router();
  router.get('/insights', requireRole('lead'), (_req: Request, res: Response, next: NextFunction) => {
    deps.insights().then((view) => {
      res.send(
        views.render('insights.njk', res.locals, {
          pageTitle: 'Insights',
          section: 'insights',
          asOf: view.asOf,
          reportHtml: view.html,
        })
      );
    }, next);
  });
  return router;
}
