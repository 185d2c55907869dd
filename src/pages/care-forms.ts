import type {
  Questionnaire,
  QuestionnaireItem,
  QuestionnaireResponseItem,
  QuestionnaireResponseItemAnswer,
} from '@medplum/fhirtypes';
import type { AnswerIssue } from '../care';
import { ITEM } from '../care';
import type { PlanGoal } from '../workspace';

/**
 * The care team's Questionnaires as NHS.UK form fields, and a submitted form back into QuestionnaireResponse items.
 * Both walk the Questionnaire the same way, so each item has one field id (its linkIds joined, a repeated group's
 * number between: `goals-2-goal-who`), used as its name too; a date's parts are `<id>[day]`, `[month]`, `[year]`.
 */

export type Field =
  | { type: 'radios' | 'checkboxes'; id: string; text: string; hint?: string; items: Choice[]; error?: string }
  | { type: 'date'; id: string; text: string; hint?: string; values: DateParts; error?: string }
  | { type: 'textarea'; id: string; text: string; hint?: string; maxlength?: number; value: string; error?: string }
  | { type: 'input'; id: string; text: string; hint?: string; numeric: boolean; value: string; error?: string }
  | { type: 'fieldset'; id: string; text: string; hint?: string; fields: Field[] };

type Choice = { value: string; text: string; checked: boolean };
type DateParts = { day: string; month: string; year: string };
export type Body = Record<string, unknown>;
/** An error to show: the field's id, and what to do about it in plain English. */
export type FieldError = { id: string; text: string };

const MAX_OCCURS = 'http://hl7.org/fhir/StructureDefinition/questionnaire-maxOccurs';
const YES_NO = [
  { value: 'yes', text: 'Yes' },
  { value: 'no', text: 'No' },
];

interface Walk {
  questionnaire: Questionnaire;
  goals: readonly PlanGoal[];
  body: Body;
}

/** The fields of the form, filled from what was submitted, each error on its field. */
export function formFields(walk: Walk, errors: readonly FieldError[] = []): Field[] {
  const errorOf = new Map(errors.map((e) => [e.id, e.text]));
  return fieldsOf(walk.questionnaire.item ?? [], '', walk, errorOf);
}

function fieldsOf(
  defs: readonly QuestionnaireItem[],
  prefix: string,
  walk: Walk,
  errorOf: Map<string, string>
): Field[] {
  return defs.flatMap((def): Field[] => {
    const id = prefix ? `${prefix}-${def.linkId}` : def.linkId;
    const text = def.text ?? def.linkId;
    const hint = conditionHint(def, walk.questionnaire);
    const common = { id, text, ...(hint ? { hint } : {}), ...(errorOf.has(id) ? { error: errorOf.get(id) } : {}) };
    switch (def.type) {
      case 'group':
        return [groupField(def, id, text, hint, walk, errorOf)];
      case 'choice': {
        const chosen = values(walk.body[id]);
        const items = (def.answerOption ?? []).map((o) => ({
          value: o.valueCoding?.code ?? '',
          text: o.valueCoding?.display ?? o.valueCoding?.code ?? '',
          checked: chosen.includes(o.valueCoding?.code ?? ''),
        }));
        return [{ type: def.repeats ? 'checkboxes' : 'radios', ...common, items }];
      }
      case 'boolean': {
        const chosen = values(walk.body[id]);
        return [{ type: 'radios', ...common, items: YES_NO.map((o) => ({ ...o, checked: chosen.includes(o.value) })) }];
      }
      case 'date':
        return [{ type: 'date', ...common, values: dateParts(walk.body, id) }];
      case 'text':
        return [
          {
            type: 'textarea',
            ...common,
            value: one(walk.body[id]),
            ...(def.maxLength ? { maxlength: def.maxLength } : {}),
          },
        ];
      case 'string':
      case 'integer':
        return [{ type: 'input', ...common, numeric: def.type === 'integer', value: one(walk.body[id]) }];
      default:
        return []; // a reference (the goal a check-in asks about) is filled in from the plan, never typed
    }
  });
}

function groupField(
  def: QuestionnaireItem,
  id: string,
  text: string,
  hint: string | undefined,
  walk: Walk,
  errorOf: Map<string, string>
): Field {
  const children = def.item ?? [];
  const common = { type: 'fieldset' as const, id, text, ...(hint ? { hint } : {}) };
  if (def.linkId === ITEM.goalProgress) {
    return {
      ...common,
      ...(walk.goals.length ? {} : { hint: 'No goals were agreed at the conversation.' }),
      fields: walk.goals.map((goal, i) => ({
        type: 'fieldset',
        id: `${id}-${i + 1}`,
        text: goal.description,
        hint: `Now: ${goal.achievement ?? goal.status}`,
        fields: fieldsOf(children, `${id}-${i + 1}`, walk, errorOf),
      })),
    };
  }
  if (def.repeats) {
    const count = repeatCount(def);
    return {
      ...common,
      fields: Array.from({ length: count }, (_, i) => ({
        type: 'fieldset',
        id: `${id}-${i + 1}`,
        text: `${singular(def.linkId)} ${i + 1}`,
        hint: 'Leave empty if there is no more.',
        fields: fieldsOf(children, `${id}-${i + 1}`, walk, errorOf),
      })),
    };
  }
  return { ...common, fields: fieldsOf(children, id, walk, errorOf) };
}

/** The submitted form as response items (only what was answered), and the fields whose value could not be read. */
export function formAnswers(walk: Walk): { items: QuestionnaireResponseItem[]; unreadable: FieldError[] } {
  const unreadable: FieldError[] = [];
  const items = answersOf(walk.questionnaire.item ?? [], '', walk, unreadable);
  return { items, unreadable };
}

function answersOf(
  defs: readonly QuestionnaireItem[],
  prefix: string,
  walk: Walk,
  unreadable: FieldError[]
): QuestionnaireResponseItem[] {
  return defs.flatMap((def): QuestionnaireResponseItem[] => {
    const id = prefix ? `${prefix}-${def.linkId}` : def.linkId;
    if (def.type === 'group') {
      return groupAnswers(def, id, walk, unreadable);
    }
    const answer = answerOf(def, id, walk, unreadable);
    return answer.length ? [{ linkId: def.linkId, answer }] : [];
  });
}

function groupAnswers(
  def: QuestionnaireItem,
  id: string,
  walk: Walk,
  unreadable: FieldError[]
): QuestionnaireResponseItem[] {
  const children = def.item ?? [];
  if (def.linkId === ITEM.goalProgress) {
    return walk.goals.flatMap((goal, i) => {
      const answered = answersOf(children, `${id}-${i + 1}`, walk, unreadable);
      if (!answered.length) {
        return [];
      }
      const reference = { linkId: ITEM.goal, answer: [{ valueReference: { reference: goal.reference } }] };
      return [{ linkId: def.linkId, item: [reference, ...answered] }];
    });
  }
  const instances = def.repeats ? Array.from({ length: repeatCount(def) }, (_, i) => `${id}-${i + 1}`) : [id];
  return instances.flatMap((instance) => {
    const answered = answersOf(children, instance, walk, unreadable);
    return answered.length ? [{ linkId: def.linkId, item: answered }] : [];
  });
}

function answerOf(
  def: QuestionnaireItem,
  id: string,
  walk: Walk,
  unreadable: FieldError[]
): QuestionnaireResponseItemAnswer[] {
  const raw = walk.body[id];
  switch (def.type) {
    case 'choice':
      return values(raw).map((code) => {
        const option = def.answerOption?.find((o) => o.valueCoding?.code === code)?.valueCoding;
        // Not one of the options (a tampered form): kept as given, so the form's check says so.
        return { valueCoding: option ? { ...option } : { code } };
      });
    case 'boolean': {
      const value = one(raw);
      return value === 'yes' || value === 'no' ? [{ valueBoolean: value === 'yes' }] : [];
    }
    case 'date': {
      const date = readDate(dateParts(walk.body, id));
      if (date === 'unreadable') {
        unreadable.push({ id, text: `${def.text ?? 'Date'}: enter a real date, for example 27 3 2027` });
        return [];
      }
      return date ? [{ valueDate: date }] : [];
    }
    case 'integer': {
      const value = one(raw);
      if (!value) {
        return [];
      }
      if (!/^-?\d{1,3}$/.test(value)) {
        unreadable.push({ id, text: `${def.text ?? 'Score'}: enter a whole number` });
        return [];
      }
      return [{ valueInteger: Number(value) }];
    }
    case 'text':
    case 'string': {
      const value = one(raw);
      return value ? [{ valueString: value }] : [];
    }
    default:
      return [];
  }
}

/**
 * The issues the form's check found, each on the field it is about, in plain English. A repeated group's item is
 * placed on the first submitted instance that has the problem (empty for a missing answer); a missing group on each
 * of its questions.
 */
export function issueErrors(walk: Walk, issues: readonly AnswerIssue[]): FieldError[] {
  const fields = flatten(walk.questionnaire.item ?? [], '', walk);
  const errors: FieldError[] = [];
  const placed = new Set<string>();
  for (const issue of issues) {
    const candidates = fields.filter((f) => f.def.linkId === issue.linkId);
    const targets =
      candidates[0]?.def.type === 'group' && issue.code === 'missing-required'
        ? fields.filter((f) => f.parent === issue.linkId && f.def.required && f.def.type !== 'group')
        : [pick(candidates, issue, walk.body) ?? candidates[0]].filter((f): f is FlatField => Boolean(f));
    for (const target of targets) {
      if (!placed.has(target.id)) {
        placed.add(target.id);
        errors.push({ id: target.id, text: issueText(target.def, issue.code) });
      }
    }
  }
  return errors;
}

interface FlatField {
  id: string;
  def: QuestionnaireItem;
  parent?: string;
  /** The repeated group instance it belongs to was submitted with something in it. */
  inUse: boolean;
}

function flatten(
  defs: readonly QuestionnaireItem[],
  prefix: string,
  walk: Walk,
  parent?: string,
  inUse = true
): FlatField[] {
  return defs.flatMap((def) => {
    const id = prefix ? `${prefix}-${def.linkId}` : def.linkId;
    const self: FlatField = { id, def, ...(parent ? { parent } : {}), inUse };
    if (def.type !== 'group') {
      return [self];
    }
    const count = def.linkId === ITEM.goalProgress ? walk.goals.length : def.repeats ? repeatCount(def) : 0;
    const nested = count
      ? Array.from({ length: count }, (_, i) => {
          const instance = `${id}-${i + 1}`;
          const used = Object.keys(walk.body).some((k) => k.startsWith(`${instance}-`) && one(walk.body[k]) !== '');
          return flatten(def.item ?? [], instance, walk, def.linkId, used);
        }).flat()
      : flatten(def.item ?? [], id, walk, def.linkId, inUse);
    return [self, ...nested];
  });
}

function pick(candidates: FlatField[], issue: AnswerIssue, body: Body): FlatField | undefined {
  const used = candidates.filter((c) => c.inUse);
  const empty = (f: FlatField) => one(body[f.id]) === '' && !Object.values(dateParts(body, f.id)).some(Boolean);
  return issue.code === 'missing-required' ? used.find(empty) : used.find((f) => !empty(f));
}

function issueText(def: QuestionnaireItem, code: AnswerIssue['code']): string {
  const text = def.text ?? def.linkId;
  switch (code) {
    case 'missing-required':
      return def.type === 'choice' || def.type === 'boolean' ? `Select an answer: ${text}` : `Enter an answer: ${text}`;
    case 'out-of-range':
      return `${text}: enter a score from 0 to 10`;
    case 'too-long':
      return `${text}: must be ${def.maxLength ?? ''} characters or fewer`;
    case 'not-an-option':
      return `${text}: choose one of the options`;
    case 'too-many':
      return `${text}: too many answers`;
    default:
      return `${text}: check the answer`;
  }
}

/** "Only if ..." for an item asked in some cases only (no conditional reveals: see patient.njk). */
function conditionHint(def: QuestionnaireItem, questionnaire: Questionnaire): string | undefined {
  const condition = def.enableWhen?.[0];
  if (!condition) {
    return undefined;
  }
  const question = findItem(questionnaire.item ?? [], condition.question);
  const answer = condition.answerCoding?.display ?? (condition.answerBoolean ? 'Yes' : 'No');
  return `Only if the answer to "${question?.text ?? condition.question}" is "${answer}".`;
}

function findItem(defs: readonly QuestionnaireItem[], linkId: string): QuestionnaireItem | undefined {
  for (const def of defs) {
    const found = def.linkId === linkId ? def : findItem(def.item ?? [], linkId);
    if (found) {
      return found;
    }
  }
  return undefined;
}

function repeatCount(def: QuestionnaireItem): number {
  return def.extension?.find((e) => e.url === MAX_OCCURS)?.valueInteger ?? 1;
}

function singular(linkId: string): string {
  const word = linkId.replace(/s$/, '').replace(/-/g, ' ');
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function dateParts(body: Body, id: string): DateParts {
  return { day: one(body[`${id}[day]`]), month: one(body[`${id}[month]`]), year: one(body[`${id}[year]`]) };
}

/** A day as YYYY-MM-DD; undefined when nothing was entered; 'unreadable' when it is no real date. */
function readDate({ day, month, year }: DateParts): string | undefined | 'unreadable' {
  if (!day && !month && !year) {
    return undefined;
  }
  if (!/^\d{1,2}$/.test(day) || !/^\d{1,2}$/.test(month) || !/^\d{4}$/.test(year)) {
    return 'unreadable';
  }
  const iso = `${year}-${month.padStart(2, '0')}-${day.padStart(2, '0')}`;
  const date = new Date(`${iso}T00:00:00Z`);
  return Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== iso ? 'unreadable' : iso;
}

function values(raw: unknown): string[] {
  return (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === 'string' && v !== '');
}

function one(raw: unknown): string {
  return typeof raw === 'string' ? raw.trim() : '';
}
