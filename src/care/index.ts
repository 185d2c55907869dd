export { checkInAnswers, conversationAnswers } from './answers';
export type { CheckInAnswers, ConversationAnswers } from './answers';
export { careRecord } from './plan';
export type { CareContext, CareWrite } from './plan';
export {
  checkInQuestionnaire,
  conversationQuestionnaire,
  ITEM,
  questionnaireFor,
  questionnaires,
} from './questionnaires';
export { readCareForms } from './read';
export type { UnprocessableForm } from './read';
export { validateResponse } from './validate';
export type { AnswerIssue } from './validate';
