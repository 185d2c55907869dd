export * as codes from './codes';
export { enrolmentDates } from './enrolment';
export { isValidNhsNumber, MAX_TEST_NHS_NUMBERS, nhsCheckDigit, testNhsNumber } from './nhs-number';
export {
  generatePatient,
  generatePatientProfile,
  generatePatients,
  practiceIds,
  practiceOrganizations,
  practiceResources,
  synthesizePractice,
} from './population';
export type { FrailtyCategory, PatientTruth, PracticeIds, PracticeOptions, SynthPatient } from './population';
export { Random } from './random';
