import type { Spread } from './stats';

/** The survey as one document: `hfu survey --json` prints it; the text and HTML reports are drawn from it. */
export interface SurveyReport {
  endpoint: string;
  mapping: { name: string; file: string };
  asOf: string;
  population: { title: string; size?: number };
  sample: {
    requested: number;
    patients: number;
    /** Patients read from the population to draw the sample. */
    read: number;
    method: string;
    seed: number;
  };
  /** How each type was read: a list of patients per search, or one patient per search where the server refused lists. */
  reads: { resourceType: string; strategy: 'or-list' | 'per-patient' }[];
  features: FeatureSurvey[];
  /** Patients the mapping could not evaluate, by feature and problem (no patient is named). */
  notEvaluated: { feature: string; problem: string; patients: number }[];
  codedFields: CodedFieldSurvey[];
  /** Coded fields (ids) with no value in any sampled record of their type, though records of the type were read. */
  emptyFields: string[];
  /** Every value the mapping cannot place, as a sentence. */
  unrecognised: UnrecognisedValue[];
  unusedExtensions: { resource: string; path: string; url: string; count: number }[];
  /** Counts are for the sampled patients, or for the whole server when `problem` says so. */
  unreadTypes: { resourceType: string; count?: number; problem?: string }[];
  quality: QualitySurvey[];
  capability: CapabilitySurvey;
}

export interface FeatureSurvey {
  name: string;
  /** The feature's title for people (`Unplanned admissions`), else its name. */
  title: string;
  description: string;
  /** The first type the feature reads; `types` all of them (medicines as requests and statements). */
  resource: string;
  types: string[];
  /** The elements the feature's expressions read (from the mapping's element checks over the R4 model). */
  fields: string[];
  /** Resources of the types per sampled patient. */
  resourcesPerPatient: Spread;
  resources: number;
  /** Resources the feature selected (its evidence) across the sample. */
  selected: number;
  /** Sampled patients with at least one selected resource. */
  patientsWithAny: number;
}

export interface CodedFieldSurvey {
  id: string;
  label: string;
  resource: string;
  kind: 'codes' | 'systems';
  /** The features whose expressions read the field. */
  features: string[];
  /** Resources of the type that carry a value in this field. */
  resourcesWithValue: number;
  values: { value: string; count: number; recognised: boolean; note: string; inLists?: number }[];
}

export interface UnrecognisedValue {
  field: string;
  value: string;
  count: number;
  /** The features that read the field: where a `where` clause would change. */
  features: string[];
  /** The mapping's value sets of the value's code system: where the code could be added. */
  lists: string[];
  message: string;
}

export interface QualitySurvey {
  resource: string;
  resources: number;
  futureDates: number;
  datesBeforeBirth: number;
  /** Returned for the sample but not naming one of the sampled patients as Patient/<id>. */
  unresolvedPatientReferences: number;
  /** Server-wide: resources of the type with no patient reference at all (`<subject>:missing=true`). */
  withoutPatientOnServer?: number;
  enteredInError: number;
  /** Encounters only. */
  withoutPeriod?: number;
  /** Appointments only: no start, though their status needs one (R4 app-3). */
  withoutStart?: number;
}

export interface CapabilitySurvey {
  read: boolean;
  fhirVersion?: string;
  software?: string;
  /** The separate write target (`writeback.fhir`), when configured: the write checks are against its statement. */
  target?: { endpoint: string; read: boolean };
  checks: { use: string; area: 'read' | 'write' | 'optional'; declared: boolean }[];
  /** The configuration that follows from what the server declares and what the survey saw it do. */
  settings: SettingAdvice[];
}

/** One setting for this server: the configuration key, the value to use, and why. */
export interface SettingAdvice {
  setting: string;
  value: string;
  /** True when the default will not work with this server: the setting must change. */
  change: boolean;
  because: string;
}
