import type {
  Questionnaire,
  QuestionnaireItem,
  QuestionnaireItemEnableWhen,
  QuestionnaireResponse,
  QuestionnaireResponseItem,
  QuestionnaireResponseItemAnswer,
} from '@medplum/fhirtypes';
import { EXTENSION } from './questionnaires';

/** One problem with a response: the item (linkId) and a code, never the answer itself. */
export interface AnswerIssue {
  linkId: string;
  code: 'missing-required' | 'wrong-type' | 'not-an-option' | 'out-of-range' | 'too-long' | 'too-many' | 'unknown-item';
}

/** The answer element each item type takes. */
const VALUE_OF: Partial<Record<QuestionnaireItem['type'], keyof QuestionnaireResponseItemAnswer>> = {
  boolean: 'valueBoolean',
  decimal: 'valueDecimal',
  integer: 'valueInteger',
  date: 'valueDate',
  dateTime: 'valueDateTime',
  time: 'valueTime',
  string: 'valueString',
  text: 'valueString',
  url: 'valueUri',
  choice: 'valueCoding',
  'open-choice': 'valueCoding',
  attachment: 'valueAttachment',
  reference: 'valueReference',
  quantity: 'valueQuantity',
};

const VALUE_KEYS = [...new Set(Object.values(VALUE_OF))];

/**
 * The response's answers checked against the form, every problem at once: required items (when enabled), answer
 * types, options, limits (maxLength, minValue/maxValue, maxOccurs, repeats), items the form does not have.
 */
export function validateResponse(questionnaire: Questionnaire, response: QuestionnaireResponse): AnswerIssue[] {
  const issues: AnswerIssue[] = [];
  const root = response.item ?? [];
  checkItems(questionnaire.item ?? [], root, root, issues);
  return issues;
}

function checkItems(
  defs: readonly QuestionnaireItem[],
  answered: readonly QuestionnaireResponseItem[],
  root: readonly QuestionnaireResponseItem[],
  issues: AnswerIssue[]
): void {
  const known = new Set(defs.map((d) => d.linkId));
  for (const item of answered) {
    if (!known.has(item.linkId)) {
      issues.push({ linkId: item.linkId, code: 'unknown-item' });
    }
  }
  for (const def of defs) {
    const occurrences = answered.filter((i) => i.linkId === def.linkId);
    if (!isEnabled(def, answered, root)) {
      continue;
    }
    if (def.type === 'group') {
      checkGroup(def, occurrences, root, issues);
    } else {
      checkQuestion(def, occurrences, issues);
    }
  }
}

function checkGroup(
  def: QuestionnaireItem,
  occurrences: readonly QuestionnaireResponseItem[],
  root: readonly QuestionnaireResponseItem[],
  issues: AnswerIssue[]
): void {
  if (def.required && !occurrences.length) {
    issues.push({ linkId: def.linkId, code: 'missing-required' });
  }
  const maxOccurs = def.repeats ? integerExtension(def, EXTENSION.maxOccurs) : 1;
  if (maxOccurs !== undefined && occurrences.length > maxOccurs) {
    issues.push({ linkId: def.linkId, code: 'too-many' });
  }
  for (const group of occurrences) {
    if (group.answer?.length) {
      issues.push({ linkId: def.linkId, code: 'wrong-type' });
    }
    checkItems(def.item ?? [], group.item ?? [], root, issues);
  }
}

function checkQuestion(
  def: QuestionnaireItem,
  occurrences: readonly QuestionnaireResponseItem[],
  issues: AnswerIssue[]
): void {
  if (occurrences.length > 1) {
    issues.push({ linkId: def.linkId, code: 'too-many' });
  }
  const answers = occurrences.flatMap((o) => o.answer ?? []);
  if (def.required && !answers.length) {
    issues.push({ linkId: def.linkId, code: 'missing-required' });
  }
  if (!def.repeats && answers.length > 1) {
    issues.push({ linkId: def.linkId, code: 'too-many' });
  }
  const key = VALUE_OF[def.type];
  for (const answer of answers) {
    const given = VALUE_KEYS.filter((k) => k && answer[k] !== undefined);
    if (!key || given.length !== 1 || given[0] !== key) {
      issues.push({ linkId: def.linkId, code: 'wrong-type' });
      continue;
    }
    const problem = answerProblem(def, answer);
    if (problem) {
      issues.push({ linkId: def.linkId, code: problem });
    }
  }
}

function answerProblem(
  def: QuestionnaireItem,
  answer: QuestionnaireResponseItemAnswer
): AnswerIssue['code'] | undefined {
  if (def.type === 'choice' && def.answerOption) {
    const given = answer.valueCoding;
    const listed = def.answerOption.some(
      (o) => o.valueCoding?.system === given?.system && o.valueCoding?.code === given?.code
    );
    return listed ? undefined : 'not-an-option';
  }
  if (answer.valueString !== undefined && def.maxLength !== undefined && answer.valueString.length > def.maxLength) {
    return 'too-long';
  }
  if (answer.valueInteger !== undefined) {
    const min = integerExtension(def, EXTENSION.minValue);
    const max = integerExtension(def, EXTENSION.maxValue);
    if (
      !Number.isInteger(answer.valueInteger) ||
      (min !== undefined && answer.valueInteger < min) ||
      (max !== undefined && answer.valueInteger > max)
    ) {
      return 'out-of-range';
    }
  }
  if (answer.valueDate !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(answer.valueDate)) {
    return 'wrong-type'; // a renderer's full date: the forms ask for a day
  }
  return undefined;
}

/**
 * Whether an item applies (its enableWhen holds, any of them): the question is looked for among the item's
 * siblings, then at the top of the form. Only `=` and `exists` are needed by the project's forms.
 */
function isEnabled(
  def: QuestionnaireItem,
  siblings: readonly QuestionnaireResponseItem[],
  root: readonly QuestionnaireResponseItem[]
): boolean {
  if (!def.enableWhen?.length) {
    return true;
  }
  const results = def.enableWhen.map((condition) => {
    const source =
      siblings.find((i) => i.linkId === condition.question) ?? root.find((i) => i.linkId === condition.question);
    const answers = source?.answer ?? [];
    if (condition.operator === 'exists') {
      return answers.length > 0 === Boolean(condition.answerBoolean);
    }
    return condition.operator === '=' && answers.some((a) => sameAnswer(condition, a));
  });
  return def.enableBehavior === 'all' ? results.every(Boolean) : results.some(Boolean);
}

function sameAnswer(condition: QuestionnaireItemEnableWhen, answer: QuestionnaireResponseItemAnswer): boolean {
  if (condition.answerCoding) {
    return (
      answer.valueCoding?.system === condition.answerCoding.system &&
      answer.valueCoding?.code === condition.answerCoding.code
    );
  }
  if (condition.answerBoolean !== undefined) {
    return answer.valueBoolean === condition.answerBoolean;
  }
  return false;
}

function integerExtension(def: QuestionnaireItem, url: string): number | undefined {
  return def.extension?.find((e) => e.url === url)?.valueInteger;
}
