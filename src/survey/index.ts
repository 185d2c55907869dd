export { PROBED_TYPES, runSurvey } from './survey';
export { samplePatients } from './sample';
export type { PatientSample } from './sample';
export type { SurveyOptions, SurveyPopulation } from './survey';
export type { SurveyReport } from './report';
export { surveyHtml, surveyText } from './render';
export { quantile, spread, Tally } from './stats';
export { mappingVocabulary, namesCodeSystems, placeCode, placeSystem } from './vocabulary';
export { CODED_FIELDS } from './fields';
