import { NHS_SYSTEM } from '../vocabulary';

/**
 * Codes the synthetic population uses, as a UK GP and hospital system would record them. All are real:
 * - SNOMED CT encounter types and care settings: UK Core ValueSets UKCore-EncounterType and UKCore-CareSettingType;
 * - SNOMED CT conditions, carer and frailty findings: OpenCodelists-derived code sets (QOF registers, eFI);
 * - dm+d VMPs: NHS dm+d (via published dm+d-derived code lists and UK Core examples);
 * - admission methods: UK Core CodeSystem UKCore-AdmissionMethodEngland.
 */
export const SYSTEM = {
  snomed: 'http://snomed.info/sct',
  dmd: 'https://dmd.nhs.uk',
  ...NHS_SYSTEM,
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  admissionMethod: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-AdmissionMethodEngland',
  courseOfTherapy: 'http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy',
  conditionClinical: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
  conditionVerification: 'http://terminology.hl7.org/CodeSystem/condition-ver-status',
  conditionCategory: 'http://terminology.hl7.org/CodeSystem/condition-category',
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  consentScope: 'http://terminology.hl7.org/CodeSystem/consentscope',
  consentCategory: 'http://loinc.org',
} as const;

export const ADMISSION_METHOD_EXTENSION =
  'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod';

export interface Code {
  code: string;
  display: string;
}

/** Emergency admission methods (UKCore-AdmissionMethodEngland 2x codes; there is no 26 or 27). */
export const EMERGENCY_ADMISSION_METHODS: readonly Code[] = [
  {
    code: '21',
    display: 'Emergency Admission: Emergency Care Department or dental casualty department of the Health Care Provider',
  },
  { code: '22', display: 'Emergency Admission: General Practitioner' },
  { code: '23', display: 'Emergency Admission: Bed bureau' },
  { code: '24', display: 'Emergency Admission: Consultant Clinic, of this or another Health Care Provider' },
  { code: '25', display: 'Emergency Admission: Admission via Mental Health Crisis Resolution Team' },
  {
    code: '2A',
    display:
      'Emergency Admission: Emergency Care Department of another provider where the Patient had not been admitted',
  },
  {
    code: '2B',
    display: 'Emergency Admission: Transfer of an admitted Patient from another Hospital Provider in an emergency',
  },
  { code: '2C', display: 'Emergency Admission: Baby born at home as intended' },
  { code: '2D', display: 'Emergency Admission: Other emergency admission' },
  { code: '28', display: 'Emergency Admission: Other means' },
];

export const ELECTIVE_ADMISSION_METHODS: readonly Code[] = [
  { code: '11', display: 'Elective Admission: Waiting list' },
  { code: '12', display: 'Elective Admission: Booked' },
  { code: '13', display: 'Elective Admission: Planned' },
];

/** Encounter kinds: how the contact happened (`type`) and the service it was with (`serviceType`, also in `type`). */
export const ENCOUNTER = {
  gpSurgery: { code: '185202000', display: "Seen in GP's surgery" },
  gpTelephone: { code: '386472008', display: 'Telephone consultation' },
  gpHome: { code: '270420001', display: 'Seen in own home' },
  hospitalWard: { code: '185212007', display: 'Seen in hospital ward' },
  casualty: { code: '185210004', display: 'Seen in hospital casualty' },
  telephoneTriage: { code: '401267002', display: 'Telephone triage encounter' },
  telephone: { code: '185317003', display: 'Telephone encounter' },
} as const satisfies Record<string, Code>;

export const SERVICE = {
  generalPractice: { code: '788007007', display: 'General practice service' },
  nhs111: { code: '907301000000109', display: 'NHS 111 service' },
  ambulance: { code: '792847005', display: 'Emergency ambulance service' },
  emergencyDepartment: { code: '310000008', display: 'Accident and Emergency service' },
} as const satisfies Record<string, Code>;

/** QOF-style long-term condition registers, each with the SNOMED CT diagnosis codes the generator records. */
export const REGISTERS = {
  diabetes: [
    { code: '44054006', display: 'Type 2 diabetes mellitus' },
    { code: '46635009', display: 'Type 1 diabetes mellitus' },
  ],
  copd: [{ code: '13645005', display: 'Chronic obstructive lung disease' }],
  asthma: [{ code: '195967001', display: 'Asthma' }],
  heartFailure: [{ code: '84114007', display: 'Heart failure' }],
  chd: [
    { code: '53741008', display: 'Coronary arteriosclerosis' },
    { code: '22298006', display: 'Myocardial infarction' },
  ],
  atrialFibrillation: [{ code: '49436004', display: 'Atrial fibrillation' }],
  hypertension: [{ code: '38341003', display: 'Hypertensive disorder, systemic arterial' }],
  ckd: [{ code: '433144002', display: 'Chronic kidney disease stage 3' }],
  strokeTia: [
    { code: '230690007', display: 'Cerebrovascular accident' },
    { code: '266257000', display: 'Transient ischemic attack' },
  ],
  dementia: [
    { code: '52448006', display: 'Dementia' },
    { code: '26929004', display: "Alzheimer's disease" },
  ],
  epilepsy: [{ code: '84757009', display: 'Epilepsy' }],
  cancer: [{ code: '363346000', display: 'Malignant neoplastic disease' }],
  smi: [
    { code: '58214004', display: 'Schizophrenia' },
    { code: '13746004', display: 'Bipolar disorder' },
  ],
  depression: [{ code: '35489007', display: 'Depressive disorder' }],
  learningDisability: [{ code: '110359009', display: 'Intellectual disability' }],
  rheumatoidArthritis: [{ code: '69896004', display: 'Rheumatoid arthritis' }],
  osteoporosis: [{ code: '64859006', display: 'Osteoporosis' }],
} as const satisfies Record<string, readonly Code[]>;

export type Register = keyof typeof REGISTERS;

/** A mental-health condition that is not a QOF register of its own. */
export const ANXIETY: Code = { code: '197480006', display: 'Anxiety disorder' };
/** Self-limiting problems recorded on many records: they must never count as long-term conditions. */
export const ACUTE_PROBLEMS: readonly Code[] = [
  { code: '444814009', display: 'Viral sinusitis' },
  { code: '195662009', display: 'Acute viral pharyngitis' },
  { code: '68566005', display: 'Urinary tract infectious disease' },
];

export const CARER: readonly Code[] = [
  { code: '224484003', display: 'Patient themselves providing care' },
  { code: '407542009', display: 'Informal caregiver' },
];

/** eFI frailty categories as recorded in English GP systems. */
export const FRAILTY = {
  mild: { code: '925791000000100', display: 'Mild frailty' },
  moderate: { code: '925831000000107', display: 'Moderate frailty' },
  severe: { code: '925861000000102', display: 'Severe frailty' },
} as const satisfies Record<string, Code>;

/** dm+d VMPs prescribed as repeats, grouped by the register that usually prompts them. */
export const REPEAT_DRUGS = {
  hypertension: [
    { code: '319773006', display: 'Amlodipine 5mg tablets' },
    { code: '318821008', display: 'Captopril 25mg tablets' },
  ],
  chd: [
    { code: '39733111000001107', display: 'Atorvastatin 40mg tablets' },
    { code: '318820009', display: 'Captopril 12.5mg tablets' },
  ],
  heartFailure: [{ code: '318824000', display: 'Captopril 50mg tablets' }],
  diabetes: [
    { code: '39720411000001102', display: 'Metformin 500mg tablets' },
    { code: '39733011000001106', display: 'Atorvastatin 20mg tablets' },
  ],
  asthma: [
    { code: '39113611000001102', display: 'Salbutamol 100micrograms/dose inhaler CFC free' },
    { code: '42292311000001106', display: 'Beclometasone 100micrograms/dose inhaler' },
  ],
  copd: [
    { code: '39113611000001102', display: 'Salbutamol 100micrograms/dose inhaler CFC free' },
    { code: '35908811000001103', display: 'Beclometasone 250micrograms/dose inhaler' },
  ],
  depression: [
    { code: '39704111000001102', display: 'Sertraline 50mg tablets' },
    { code: '42269411000001107', display: 'Citalopram 20mg tablets' },
    { code: '321998002', display: 'Mirtazapine 30mg tablets' },
  ],
  smi: [
    { code: '375196006', display: 'Mirtazapine 45mg tablets' },
    { code: '39704011000001103', display: 'Sertraline 100mg tablets' },
  ],
  rheumatoidArthritis: [{ code: '326874007', display: 'Methotrexate 2.5mg tablets' }],
  pain: [
    { code: '321745007', display: 'Amitriptyline 10mg tablets' },
    { code: '321746008', display: 'Amitriptyline 25mg tablets' },
    { code: '415167006', display: 'Pregabalin 75mg capsules' },
    { code: '415162000', display: 'Pregabalin 150mg capsules' },
    { code: '415164004', display: 'Pregabalin 25mg capsules' },
  ],
  thyroid: [
    { code: '374295007', display: 'Levothyroxine sodium 50microgram tablets' },
    { code: '374296008', display: 'Levothyroxine sodium 100microgram tablets' },
  ],
  anxiety: [
    { code: '42269311000001100', display: 'Citalopram 10mg tablets' },
    { code: '375193003', display: 'Mirtazapine 15mg tablets' },
  ],
} as const satisfies Record<string, readonly Code[]>;

export const ACUTE_DRUGS: readonly Code[] = [
  { code: '39732411000001106', display: 'Amoxicillin 500mg capsules' },
  { code: '39732311000001104', display: 'Amoxicillin 250mg capsules' },
  { code: '41946511000001109', display: 'Clarithromycin 500mg tablets' },
  { code: '41948311000001104', display: 'Doxycycline 100mg capsules' },
  { code: '39687811000001107', display: 'Ciprofloxacin 500mg tablets' },
];

/** Every distinct repeat drug, for drawing extra repeats beyond a patient's registers. */
export const ALL_REPEAT_DRUGS: readonly Code[] = [
  ...new Map(Object.values(REPEAT_DRUGS).flatMap((drugs) => drugs.map((d) => [d.code, d] as const))).values(),
];
