import type { NextFunction, Request, Response } from 'express';
import { Router } from 'express';
import type { Decision, DecisionResult, Workspace, WorkspaceUser } from '../workspace';
import { careFormRoutes } from './care-form-routes';
import { wellbeingChart } from './wellbeing-chart';
import { Forbidden, InvalidInput, NotFound } from '../workspace';
import { forbidden, notFound, PageError } from './errors';
import { requireRole } from './sign-in';
import { requireCsrfToken } from './sessions';
import type { Views } from './views';
import type { LastRun } from './view-models';
import { caseloadsView, programmeView, reviewView, worklistView } from './view-models';

/** What the pages ask of the workspace domain. */
export type WorkspaceApi = Pick<
  Workspace,
  'worklist' | 'patient' | 'decide' | 'caseloads' | 'myPatients' | 'programme' | 'careForm' | 'recordForm'
>;

/** What the pages need from the rest of the service. */
export interface WorkspacePages {
  workspace: WorkspaceApi;
  /** The last finished refresh and the one in progress, for the programme page. */
  lastRun(): LastRun | undefined;
  /** Starts a refresh of everyone; false when one is already running. */
  startRefresh(): boolean;
}

/** Errors the user has made in the decision form, by field, in the order the form asks. */
export type FormErrors = { field: 'decision' | 'owner' | 'reason' | 'note'; text: string }[];

/** The workspace's pages; every one behind sign-in (index.ts), deciding only for mdt and lead, refreshing for lead. */
export function workspaceRoutes(deps: WorkspacePages, views: Views): Router {
  const { workspace } = deps;
  const router = Router();
  const page = (template: string, build: (user: WorkspaceUser, req: Request) => Promise<Record<string, unknown>>) =>
    handle(async (req, res) => {
      res.send(views.render(template, res.locals, await build(userOf(res), req)));
    });

  router.get(
    '/worklist',
    page('worklist.njk', async (user, req) => {
      const filters = {
        practice: text(req.query.practice),
        tier: text(req.query.tier),
        stage: text(req.query.stage),
        page: pageNumber(req.query.page),
      };
      return worklistView(await workspace.worklist(user, filters), req.path);
    })
  );

  router.get(
    '/patients/:id',
    page('patient.njk', async (user, req) => {
      const review = await workspace.patient(user, req.params.id as string);
      const state = { decided: text(req.query.decided), recorded: text(req.query.recorded) };
      return { ...reviewView(review, user, state), wellbeingChart: await wellbeingChart(review.plan?.wellbeing ?? []) };
    })
  );

  router.post(
    '/patients/:id/decision',
    requireCsrfToken,
    requireRole('mdt', 'lead'),
    handle(async (req, res) => {
      const user = userOf(res);
      const id = req.params.id as string;
      const body = req.body as Record<string, unknown>;
      const again = async (status: number, state: Parameters<typeof reviewView>[2]): Promise<void> => {
        const review = await workspace.patient(user, id);
        res.status(status).send(views.render('patient.njk', res.locals, reviewView(review, user, state)));
      };
      const { decision, version, errors } = readDecision(body);
      if (!decision) {
        await again(400, { errors, body });
        return;
      }
      let result: DecisionResult;
      try {
        result = await workspace.decide(user, id, decision, version);
      } catch (err) {
        if (err instanceof InvalidInput && err.field === 'review') {
          await again(409, { settled: true });
          return;
        }
        if (err instanceof InvalidInput) {
          const field = (['owner', 'reason', 'note'] as const).find((f) => f === err.field) ?? 'decision';
          const problem = decisionProblem(field, err.problem, decision.kind === 'move' ? 'move' : undefined);
          await again(400, { errors: [{ field, text: problem }], body });
          return;
        }
        throw err;
      }
      if (result.kind === 'conflict') {
        await again(409, { conflict: result });
        return;
      }
      res.redirect(303, `/mdt/patients/${encodeURIComponent(id)}?decided=${decision.kind}`);
    })
  );

  router.use(careFormRoutes(workspace, views, handle));

  router.get(
    '/caseloads',
    page('caseloads.njk', async (user) => caseloadsView(await workspace.caseloads(user), 'caseloads'))
  );
  router.get(
    '/my-patients',
    page('caseloads.njk', async (user) => caseloadsView(await workspace.myPatients(user), 'my-patients'))
  );
  router.get(
    '/programme',
    page('programme.njk', async (user, req) =>
      programmeView(await workspace.programme(user), deps.lastRun(), text(req.query.refresh))
    )
  );
  router.post(
    '/programme/refresh',
    requireCsrfToken,
    requireRole('lead'),
    handle(async (_req, res) => {
      res.redirect(303, `/mdt/programme?refresh=${deps.startRefresh() ? 'started' : 'busy'}`);
    })
  );
  return router;
}

/**
 * The decision as the form gave it, or what is missing from it in the form's own words; the workspace checks the
 * rest (the owner's room, the reason's code). The review's version comes from the form (the one the user saw), so
 * that a change made since is a conflict, never overwritten.
 */
export function readDecision(body: Record<string, unknown>): {
  decision?: Decision;
  version: string;
  errors: FormErrors;
} {
  const kind = text(body.decision);
  const version = text(body.version) ?? '';
  const note = text(body.note);
  const withNote = note ? { note } : {};
  if (kind === 'continue' || kind === 'discharge' || kind === 'step-down') {
    return { decision: { kind, ...withNote }, version, errors: [] };
  }
  if (kind === 'move') {
    const owner = text(body.owner);
    return owner
      ? { decision: { kind, owner, ...withNote }, version, errors: [] }
      : { version, errors: [{ field: 'owner', text: decisionProblem('owner', undefined, 'move') }] };
  }
  if (kind === 'accept') {
    const owner = text(body.owner);
    return { decision: { kind, ...(owner ? { owner } : {}), ...withNote }, version, errors: [] };
  }
  if (kind === 'decline') {
    const reason = text(body.reason);
    return reason
      ? { decision: { kind, reason, ...withNote }, version, errors: [] }
      : { version, errors: [{ field: 'reason', text: decisionProblem('reason') }] };
  }
  if (kind === 'defer') {
    return { decision: { kind, ...withNote }, version, errors: [] };
  }
  const target = body.target === 'escalation' || body.target === 'step-down' ? body.target : undefined;
  return { version, errors: [{ field: 'decision', text: decisionProblem('decision', undefined, target) }] };
}

/**
 * A problem in the form's own words; `about` says which form asked (an escalation's, a step-down review's) or which
 * choice (a move).
 */
function decisionProblem(
  field: FormErrors[number]['field'],
  problem?: string,
  about?: 'escalation' | 'step-down' | 'move'
): string {
  switch (field) {
    case 'owner':
      if (problem === 'has no room in their caseload') {
        return 'Choose someone with room on their caseload';
      }
      if (problem === 'is their owner already') {
        return 'Choose someone other than the professional who has the patient now';
      }
      return about === 'move' ? 'Choose who to move the patient to' : 'Choose who to allocate the patient to';
    case 'reason':
      return 'Choose a reason for declining';
    case 'note':
      return 'Note must be 2,000 characters or fewer';
    default:
      return about === 'escalation'
        ? 'Choose what the MDT decides: keep the plan going, move the patient, discharge or defer'
        : about === 'step-down'
          ? 'Choose what the MDT decides: step the patient down, keep them in the programme or defer'
          : 'Choose accept, decline or defer';
  }
}

function userOf(res: Response): WorkspaceUser {
  return res.locals.user as WorkspaceUser;
}

export type Handle = typeof handle;

/** An async route whose domain errors become pages: Forbidden 403 and NotFound 404, each saying nothing more. */
function handle(fn: (req: Request, res: Response) => Promise<void>) {
  return (req: Request, res: Response, next: NextFunction): void => {
    fn(req, res).catch((err: unknown) => {
      if (err instanceof Forbidden) {
        next(forbidden());
      } else if (err instanceof NotFound) {
        next(notFound());
      } else if (err instanceof InvalidInput) {
        next(new PageError(400, 'Check what you asked for', 'One of the filters or the page number is not valid.'));
      } else {
        next(err);
      }
    });
  };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value.trim() : undefined;
}

function pageNumber(value: unknown): number | undefined {
  const raw = text(value);
  return raw && /^\d{1,6}$/.test(raw) ? Math.max(1, Number(raw)) : undefined;
}
