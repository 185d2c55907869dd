import type { Request, Response } from 'express';
import { Router } from 'express';
import type { CareFormKind, CareFormView, WorkspaceUser } from '../workspace';
import { formPath } from '../workspace';
import type { Body, FieldError } from './care-forms';
import { formAnswers, formFields, issueErrors } from './care-forms';
import { notFound } from './errors';
import { requireRole } from './sign-in';
import { requireCsrfToken } from './sessions';
import type { Views } from './views';
import type { Handle, WorkspaceApi } from './workspace-routes';

const RECORDED_WORDS: Record<CareFormKind['kind'], string> = {
  conversation: "The 'What Matters to Me' conversation is recorded. The care plan below is as it now stands.",
  'check-in': 'The check-in is recorded. The care plan below is as it now stands.',
};

/**
 * The care team's forms, for the MDT and the clinical lead (a viewer reads the plan on the patient page): the
 * conversation and each check-in, shown from their Questionnaire, saved as a QuestionnaireResponse completing the
 * Task (If-Match on the version shown), then back to the patient's page with the plan as it now stands.
 */
export function careFormRoutes(workspace: WorkspaceApi, views: Views, handle: Handle): Router {
  const router = Router();
  const show = (res: Response, status: number, view: CareFormView, patientId: string, state: FormState) => {
    res.status(status).send(views.render('care-form.njk', res.locals, formPage(view, patientId, state)));
  };
  for (const path of ['/patients/:id/conversation', '/patients/:id/check-ins/:n']) {
    router.get(
      path,
      requireRole('mdt', 'lead'),
      handle(async (req, res) => {
        const { id, form } = target(req);
        show(res, 200, await workspace.careForm(userOf(res), id, form), id, { body: {} });
      })
    );
    router.post(
      path,
      requireCsrfToken,
      requireRole('mdt', 'lead'),
      handle(async (req, res) => {
        const user = userOf(res);
        const { id, form } = target(req);
        const body = req.body as Body;
        const view = await workspace.careForm(user, id, form);
        const walk = { questionnaire: view.questionnaire, goals: view.goals, body };
        const { items, unreadable } = formAnswers(walk);
        const version = typeof body.version === 'string' ? body.version : '';
        const result = await workspace.recordForm(user, id, form, items, version);
        if (result.kind === 'invalid' || unreadable.length) {
          const found = result.kind === 'invalid' ? issueErrors(walk, result.issues) : [];
          const errors = [...unreadable, ...found.filter((e) => !unreadable.some((u) => u.id === e.id))];
          show(res, 400, view, id, { body, errors: orderedAs(errors, view, body) });
          return;
        }
        if (result.kind === 'conflict') {
          show(res, 409, view, id, { body, conflict: result });
          return;
        }
        res.redirect(303, `/mdt/patients/${encodeURIComponent(id)}?recorded=${form.kind}`);
      })
    );
  }
  return router;
}

export function recordedWords(kind: string | undefined): string | undefined {
  return kind && kind in RECORDED_WORDS ? RECORDED_WORDS[kind as CareFormKind['kind']] : undefined;
}

interface FormState {
  body: Body;
  errors?: FieldError[];
  conflict?: { by?: string; at?: string };
}

function formPage(view: CareFormView, patientId: string, state: FormState): Record<string, unknown> {
  const walk = { questionnaire: view.questionnaire, goals: view.goals, body: state.body };
  const title = view.form.kind === 'conversation' ? view.questionnaire.title : `Check-in ${view.form.n}`;
  return {
    pageTitle: title,
    pageError: Boolean(state.errors?.length),
    section: 'my-patients',
    heading: title,
    description: view.questionnaire.description,
    patientId,
    action: formPath(patientId, view.form),
    // A conflict shows the form again at the version that now stands: the user reads it, then saves again.
    version: view.task.version,
    fields: formFields(walk, state.errors),
    errorList: (state.errors ?? []).map((e) => ({ text: e.text, href: `#${anchorOf(e.id, state.body)}` })),
    conflict: state.conflict,
    open: view.open,
  };
}

/** A date's error links to its day box; anything else to the field (radios and checkboxes: their first option). */
function anchorOf(id: string, body: Body): string {
  return `${id}[day]` in body ? `${id}-day` : id;
}

/** The errors in the order the form asks its questions. */
function orderedAs(errors: FieldError[], view: CareFormView, body: Body): FieldError[] {
  const order = formFields({ questionnaire: view.questionnaire, goals: view.goals, body }).flatMap(
    function ids(f): string[] {
      return f.type === 'fieldset' ? f.fields.flatMap(ids) : [f.id];
    }
  );
  const rank = (e: FieldError) => (order.includes(e.id) ? order.indexOf(e.id) : order.length);
  return [...errors].sort((a, b) => rank(a) - rank(b));
}

function target(req: Request): { id: string; form: CareFormKind } {
  const id = req.params.id as string;
  const n = req.params.n as string | undefined;
  if (n === undefined) {
    return { id, form: { kind: 'conversation' } };
  }
  if (!/^[1-9]\d{0,2}$/.test(n)) {
    throw notFound();
  }
  return { id, form: { kind: 'check-in', n: Number(n) } };
}

function userOf(res: Response): WorkspaceUser {
  return res.locals.user as WorkspaceUser;
}
