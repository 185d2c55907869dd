import type {
  CodeableConcept,
  Condition,
  Consent,
  Encounter,
  MedicationRequest,
  Observation,
  Organization,
  Patient,
  Reference,
  Resource,
} from '@medplum/fhirtypes';
import type { IsoDate } from '../dates';
import { addDays, addMonths, londonDate, londonStartOfDay, toLondonDateTime, yearsBetween } from '../dates';
import type { Code, Register } from './codes';
import {
  ACUTE_DRUGS,
  ACUTE_PROBLEMS,
  ADMISSION_METHOD_EXTENSION,
  ALL_REPEAT_DRUGS,
  ANXIETY,
  CARER,
  ELECTIVE_ADMISSION_METHODS,
  EMERGENCY_ADMISSION_METHODS,
  ENCOUNTER,
  FRAILTY,
  REGISTERS,
  REPEAT_DRUGS,
  SERVICE,
  SYSTEM,
} from './codes';
import type { UtilisationClass } from './history';
import { classShares, historyCalendar, LatentChain } from './history';
import { testNhsNumber } from './nhs-number';
import { gpParticipant, practicePractitioners, siteOf, usualGp } from './practitioners';
import { Random } from './random';
import { HFU_CODE } from '../vocabulary';

export interface PracticeOptions {
  patients: number;
  seed: number;
  /** The evaluation date the population is built around: its last 12 months hold the events that count. */
  asOf: IsoDate;
  odsCode?: string;
  practiceName?: string;
  /** Where this practice's patients start in the NHS test-number range, so several practices never collide. */
  nhsNumberOffset?: number;
  /**
   * Years of history up to `asOf` (the multi-year model, for the insight and impact reports): each patient's latent
   * class drifts month by month, GP encounters name the practice's GPs. Absent: the classic model, 15 months.
   */
  historyYears?: number;
  /**
   * Multi-year only: enrolled patients' emergency admissions change by this fraction after their enrolment date
   * (-0.2: a fifth fewer; 0, the default: no effect). Enrolment dates come from `enrolments`.
   */
  programmeEffect?: number;
  /** Multi-year only: enrolment date by patient id, as the record holds it (`enrolmentDates`). */
  enrolments?: ReadonlyMap<string, IsoDate>;
  /**
   * Multi-year only: emit just the encounters after `from` (at or after `asOf`) up to `until`, the follow-up of a
   * practice generated earlier with the same options; truth is then counted over the 12 months to `until`.
   */
  followUp?: { from: IsoDate; until: IsoDate };
}

export type FrailtyCategory = keyof typeof FRAILTY;

/** What the generator knows it produced for one patient, counted over the 12 months up to `asOf`. */
export interface PatientTruth {
  patientId: string;
  age: number;
  deceased: boolean;
  active: boolean;
  optedOut: boolean;
  emergencyAdmissions: number;
  electiveAdmissions: number;
  repeatMedications: number;
  edAttendances: number;
  gpEncounters: number;
  calls999: number;
  calls111: number;
  ltcRegisters: number;
  mentalHealth: boolean;
  carer: boolean;
  frailty?: FrailtyCategory;
  /** Multi-year: emergency admissions in the counted window that the programme effect took away. */
  emergencyAdmissionsAverted: number;
}

export interface SynthPatient {
  resources: Resource[];
  truth: PatientTruth;
}

const DEFAULT_ODS = 'Y99001';
/** Events are generated this far back, so that some fall just outside the 12-month window. */
const HISTORY_MONTHS = 15;

/**
 * Per-class yearly contact rates. Calibrated to the seeds: per 60,000 patients the top 1% account for ~1,925 ED
 * attendances and ~54,000 GP encounters a year (about 3.2 and 90 each); ~5% of patients take 30-40% of GP
 * appointments. `usual` rates grow with the number of long-term conditions.
 */
const RATES: Record<
  UtilisationClass,
  { gp: number; ed: number; calls111: number; calls999: number; admissionFactor: number }
> = {
  veryHigh: { gp: 96, ed: 3.6, calls111: 3, calls999: 1.6, admissionFactor: 4 },
  high: { gp: 24, ed: 0.9, calls111: 1.2, calls999: 0.5, admissionFactor: 2 },
  usual: { gp: 3, ed: 0.15, calls111: 0.2, calls999: 0.04, admissionFactor: 1 },
};

/** England's registered population by age band (approximate shares). */
const AGE_BANDS: readonly (readonly [[number, number], number])[] = [
  [[0, 4], 5.5],
  [[5, 17], 15.5],
  [[18, 29], 15],
  [[30, 44], 20],
  [[45, 59], 19.5],
  [[60, 74], 15],
  [[75, 84], 6.5],
  [[85, 99], 3],
];

/** Registers weighted by how common they are; older patients draw the cardiovascular ones more. */
const REGISTER_WEIGHTS: Record<Register, [young: number, old: number]> = {
  hypertension: [4, 14],
  diabetes: [3, 7],
  asthma: [6, 3],
  depression: [8, 4],
  copd: [0.5, 4],
  chd: [0.5, 5],
  atrialFibrillation: [0.2, 4],
  heartFailure: [0.1, 2.5],
  ckd: [0.3, 4],
  strokeTia: [0.2, 2.5],
  dementia: [0, 2],
  epilepsy: [1, 0.8],
  cancer: [0.5, 3],
  smi: [1.2, 0.7],
  learningDisability: [0.6, 0.2],
  rheumatoidArthritis: [0.5, 1.2],
  osteoporosis: [0.2, 2.5],
};

/** Registers whose usual repeats are in REPEAT_DRUGS; the rest draw from the general formulary. */
const DRUGS_FOR_REGISTER: Partial<Record<Register, readonly Code[]>> = {
  hypertension: REPEAT_DRUGS.hypertension,
  chd: REPEAT_DRUGS.chd,
  heartFailure: REPEAT_DRUGS.heartFailure,
  diabetes: REPEAT_DRUGS.diabetes,
  asthma: REPEAT_DRUGS.asthma,
  copd: REPEAT_DRUGS.copd,
  depression: REPEAT_DRUGS.depression,
  smi: REPEAT_DRUGS.smi,
  rheumatoidArthritis: REPEAT_DRUGS.rheumatoidArthritis,
};

const GIVEN = [
  'Alex',
  'Sam',
  'Jordan',
  'Morgan',
  'Taylor',
  'Casey',
  'Robin',
  'Jamie',
  'Charlie',
  'Avery',
  'Riley',
  'Quinn',
];
const FAMILY = ['Ashdown', 'Birchley', 'Coldridge', 'Dunmere', 'Elstow', 'Farleigh', 'Greyholt', 'Hartwell', 'Ivesdon'];

export interface PracticeIds {
  practice: string;
  trust: string;
  nhs111: string;
  ambulance: string;
}

export function practiceIds(odsCode = DEFAULT_ODS): PracticeIds {
  const ods = odsCode.toLowerCase();
  return { practice: `${ods}`, trust: `${ods}-trust`, nhs111: `${ods}-nhs111`, ambulance: `${ods}-ambulance` };
}

/** The organisations the population refers to: the practice (with its ODS code), its acute trust, 111 and 999. */
export function practiceOrganizations(odsCode = DEFAULT_ODS, practiceName?: string): Organization[] {
  const ods = odsCode;
  const ids = practiceIds(ods);
  const org = (id: string, name: string, code?: string): Organization => ({
    resourceType: 'Organization',
    id,
    active: true,
    name,
    ...(code ? { identifier: [{ system: SYSTEM.ods, value: code }] } : {}),
  });
  return [
    org(ids.practice, practiceName ?? 'Synthetic Medical Practice', ods),
    org(ids.trust, 'Synthetic Acute Hospitals NHS Trust'),
    org(ids.nhs111, 'Synthetic NHS 111 Service'),
    org(ids.ambulance, 'Synthetic Ambulance Service NHS Trust'),
  ];
}

/**
 * What the practice holds besides patients: the organisations, and in the multi-year model its GPs. A follow-up
 * adds none (they were written with the practice).
 */
export function practiceResources(options: PracticeOptions): Resource[] {
  if (options.followUp) {
    return [];
  }
  const orgs: Resource[] = practiceOrganizations(options.odsCode, options.practiceName);
  if (options.historyYears === undefined) {
    return orgs;
  }
  return [...orgs, ...practicePractitioners(practiceIds(options.odsCode ?? DEFAULT_ODS).practice, options.patients)];
}

/** Patients one at a time, so a large population never has to sit in memory at once. */
export function* generatePatients(options: PracticeOptions): Generator<SynthPatient> {
  for (let i = 0; i < options.patients; i++) {
    yield generatePatient(options, i);
  }
}

/** The whole practice: organisations first, then every patient's resources, and the generator's own counts. */
export function synthesizePractice(options: PracticeOptions): { resources: Resource[]; truth: PatientTruth[] } {
  const resources: Resource[] = practiceResources(options);
  const truth: PatientTruth[] = [];
  for (const patient of generatePatients(options)) {
    resources.push(...patient.resources);
    truth.push(patient.truth);
  }
  return { resources, truth };
}

function checkOptions(options: PracticeOptions): void {
  const { historyYears, programmeEffect, followUp } = options;
  if (historyYears === undefined) {
    if (programmeEffect || options.enrolments || followUp) {
      throw new RangeError('a programme effect, enrolments and a follow-up need the multi-year model (historyYears)');
    }
    return;
  }
  if (!Number.isInteger(historyYears) || historyYears < 1 || historyYears > 20) {
    throw new RangeError(`historyYears must be a whole number of years from 1 to 20, not ${historyYears}`);
  }
  if (programmeEffect !== undefined && !(programmeEffect >= -1 && programmeEffect <= 0)) {
    throw new RangeError(`programmeEffect must be from -1 (no admissions) to 0 (no effect), not ${programmeEffect}`);
  }
  if (followUp && !(followUp.from >= options.asOf && followUp.until > followUp.from)) {
    throw new RangeError('a follow-up runs from a date at or after asOf to a later date');
  }
}

/** Patient `index` depends only on (seed, index, asOf, practice): the same in a population of any size. */
export function generatePatient(options: PracticeOptions, index: number): SynthPatient {
  checkOptions(options);
  const ods = options.odsCode ?? DEFAULT_ODS;
  const builder = new PatientBuilder(options, practiceIds(ods), index, Random.forItem(options.seed, index));
  return builder.build();
}

/**
 * Multi-year only: patient `index` without their encounters (the truth's event counts are zero), at a small fraction
 * of the cost; everything else is exactly `generatePatient`'s, since the history draws from its own streams. For
 * picking out of a very large population the few patients who could qualify (by their repeat medication) before
 * generating only their histories.
 */
export function generatePatientProfile(options: PracticeOptions, index: number): SynthPatient {
  if (options.historyYears === undefined || options.followUp) {
    throw new RangeError('a profile without encounters needs the multi-year model (historyYears) and no follow-up');
  }
  checkOptions(options);
  const ods = options.odsCode ?? DEFAULT_ODS;
  return new PatientBuilder(options, practiceIds(ods), index, Random.forItem(options.seed, index)).build(false);
}

interface Window {
  /** First day of the 12-month window (inclusive). */
  start: IsoDate;
  end: IsoDate;
  historyStart: IsoDate;
}

/** The multi-year model's per-patient constants: who they see and how their rates are spread. */
interface Propensity {
  registerCount: number;
  age: number;
  mentalHealth: boolean;
  usualDispersion: number;
  spellDispersion: number;
  site: number;
  usualGp: number;
}

/** Independent random streams of the multi-year model, so a month's events never depend on another month's. */
const STREAM = { latent: 1, events: 2 } as const;

class PatientBuilder {
  private readonly id: string;
  private readonly ref: Reference<Patient>;
  private readonly window: Window;
  /** The 12 months whose events the truth counts: the window, or the 12 months to a follow-up's end. */
  private readonly counted: { start: IsoDate; end: IsoDate };
  private resources: Resource[] = [];
  private readonly truth: PatientTruth;
  private serial = 0;
  /** Prefix of event ids: the month in the multi-year model, so an event's id never depends on other months. */
  private idScope = '';
  private propensity?: Propensity;

  constructor(
    private readonly options: PracticeOptions,
    private readonly orgs: PracticeIds,
    private readonly index: number,
    private rng: Random
  ) {
    this.id = `${orgs.practice}-p${String(index).padStart(6, '0')}`;
    this.ref = { reference: `Patient/${this.id}` };
    this.window = {
      start: shifted(options.asOf, -12),
      end: options.asOf,
      historyStart: shifted(options.asOf, -HISTORY_MONTHS),
    };
    const countedEnd = options.followUp?.until ?? options.asOf;
    this.counted = { start: shifted(countedEnd, -12), end: countedEnd };
    this.truth = {
      patientId: this.id,
      age: 0,
      deceased: false,
      active: true,
      optedOut: false,
      emergencyAdmissions: 0,
      electiveAdmissions: 0,
      repeatMedications: 0,
      edAttendances: 0,
      gpEncounters: 0,
      calls999: 0,
      calls111: 0,
      ltcRegisters: 0,
      mentalHealth: false,
      carer: false,
      emergencyAdmissionsAverted: 0,
    };
  }

  /** `events: false` (multi-year only): everything but the encounters, whose streams no other draw depends on. */
  build(events = true): SynthPatient {
    const rng = this.rng;
    const patient = this.patient();
    const age = this.truth.age;
    const registers = this.registers(age);
    const anxiety = rng.chance(age >= 16 ? 0.05 : 0.01);
    const mentalHealth = anxiety || registers.includes('depression') || registers.includes('smi');
    const multiYear = this.options.historyYears !== undefined;
    const utilisation = multiYear ? undefined : this.utilisationClass(registers.length, mentalHealth);
    this.truth.ltcRegisters = registers.length;
    this.truth.mentalHealth = mentalHealth;

    this.resources.push(patient);
    this.conditions(registers, anxiety);
    if (utilisation) {
      this.contacts(utilisation, registers.length, age, mentalHealth);
    } else if (events) {
      this.history(registers.length, age, mentalHealth, patient.deceasedDateTime);
    }
    this.medications(registers, anxiety, age);
    this.socialAndFrailty(age, registers.length);
    this.optOut();
    if (this.options.followUp) {
      this.resources = this.resources.filter((r) => this.inFollowUp(r));
    }
    return { resources: this.resources, truth: this.truth };
  }

  private nextId(kind: string): string {
    return `${this.id}-${this.idScope}${kind}${++this.serial}`;
  }

  private patient(): Patient {
    const rng = this.rng;
    const [low, high] = rng.weighted(AGE_BANDS);
    const age = rng.int(low, high);
    const birthDate = shifted(this.options.asOf, -12 * age - rng.int(0, 11), -rng.int(0, 27));
    this.truth.age = ageOn(birthDate, this.options.asOf);
    const deceased = rng.chance(age >= 85 ? 0.06 : age >= 75 ? 0.025 : age >= 60 ? 0.006 : 0.0008);
    const active = !rng.chance(0.012);
    this.truth.deceased = deceased;
    this.truth.active = active;
    const patient: Patient = {
      resourceType: 'Patient',
      id: this.id,
      identifier: [
        { system: SYSTEM.nhsNumber, value: testNhsNumber((this.options.nhsNumberOffset ?? 0) + this.index) },
      ],
      active,
      name: [{ use: 'official', given: [rng.pick(GIVEN)], family: rng.pick(FAMILY) }],
      gender: rng.chance(0.5) ? 'female' : 'male',
      birthDate,
      address: [
        {
          use: 'home',
          line: [`${rng.int(1, 199)} Synthetic Road`],
          city: 'Exampleton',
          postalCode: `ZZ9 ${rng.int(1, 9)}ZZ`,
        },
      ],
      generalPractitioner: [{ reference: `Organization/${this.orgs.practice}` }],
      managingOrganization: { reference: `Organization/${this.orgs.practice}` },
    };
    if (deceased) {
      patient.deceasedDateTime = this.instantOn(this.dayIn(this.window.start, this.window.end), 0, 23);
    }
    return patient;
  }

  private registers(age: number): Register[] {
    const rng = this.rng;
    const expected = age < 18 ? 0.08 : age < 45 ? 0.35 : age < 60 ? 0.9 : age < 75 ? 1.8 : age < 85 ? 2.7 : 3.2;
    const count = Math.min(rng.poisson(expected), 8);
    const old = age >= 60;
    const available = (Object.keys(REGISTER_WEIGHTS) as Register[]).map(
      (register) => [register, REGISTER_WEIGHTS[register][old ? 1 : 0]] as const
    );
    const chosen = new Set<Register>();
    while (chosen.size < count) {
      chosen.add(rng.weighted(available.filter(([r, w]) => w > 0 && !chosen.has(r))));
    }
    return [...chosen];
  }

  private utilisationClass(registerCount: number, mentalHealth: boolean): UtilisationClass {
    const boost = 1 + 0.6 * registerCount + (mentalHealth ? 1.5 : 0);
    const r = this.rng.next();
    if (r < 0.0042 * boost) {
      return 'veryHigh';
    }
    return r < 0.026 * boost ? 'high' : 'usual';
  }

  // --- dates -------------------------------------------------------------------------------------------------

  /** A random calendar day between `from` and `to` inclusive. */
  private dayIn(from: IsoDate, to: IsoDate): IsoDate {
    const span = Math.round((startOfDay(to) - startOfDay(from)) / 86_400_000);
    return shifted(from, 0, this.rng.int(0, Math.max(0, span)));
  }

  /** A London dateTime on `day` between the given hours. */
  private instantOn(day: IsoDate, fromHour: number, toHour: number): string {
    const minutes = this.rng.int(fromHour * 60, toHour * 60 + 59);
    return toLondonDateTime(new Date(startOfDay(day) + minutes * 60_000));
  }

  private inWindow(dateTime: string): boolean {
    return withinDays(Date.parse(dateTime), this.counted.start, this.counted.end);
  }

  /** A follow-up emits only the encounters it adds: those starting after its first day, up to its last. */
  private inFollowUp(resource: Resource): boolean {
    const followUp = this.options.followUp;
    const start = resource.resourceType === 'Encounter' ? resource.period?.start : undefined;
    if (!followUp || !start) {
      return false;
    }
    return withinDays(Date.parse(start), shifted(followUp.from, 0, 1), followUp.until);
  }

  private plusMinutes(dateTime: string, minutes: number): string {
    return toLondonDateTime(new Date(new Date(dateTime).getTime() + minutes * 60_000));
  }

  // --- encounters ----------------------------------------------------------------------------------------------

  /** The classic model: one class for the whole 15 months. */
  private contacts(utilisation: UtilisationClass, registerCount: number, age: number, mentalHealth: boolean): void {
    const rng = this.rng;
    const dispersion = utilisation === 'usual' ? rng.gammaUnitMean(1.2) : rng.gammaUnitMean(4);
    const rates = yearlyRates(utilisation, registerCount, age, mentalHealth, dispersion);
    const { historyStart, end } = this.window;
    this.events(rates, HISTORY_MONTHS / 12, () => this.dayIn(historyStart, end));
    this.admissionTraps(rates.emergency);
  }

  /** Poisson counts of each kind of contact over `years` at the given yearly rates, each on a day `pick` draws. */
  private events(rates: YearlyRates, years: number, pick: () => IsoDate): void {
    const rng = this.rng;
    for (let n = rng.poisson(rates.gp * years); n > 0; n--) {
      this.gpEncounter(this.truth.age, pick());
    }
    for (let n = rng.poisson(rates.ed * years); n > 0; n--) {
      this.edAttendance(this.instantOn(pick(), 0, 23));
    }
    for (let n = rng.poisson(rates.calls111 * years); n > 0; n--) {
      this.call('111', pick());
    }
    for (let n = rng.poisson(rates.calls999 * years); n > 0; n--) {
      this.call('999', pick());
    }
    for (let n = rng.poisson(rates.emergency * years); n > 0; n--) {
      this.admission('emergency', pick());
    }
    for (let n = rng.poisson(rates.elective * years); n > 0; n--) {
      this.admission('elective', pick());
    }
  }

  /**
   * The multi-year model: month by month from `historyYears` before `asOf` (to a follow-up's end), the latent class
   * steps on its chain and that month's events are drawn from their own stream, so generating a follow-up later
   * gives exactly the events a longer history would have held (less those the programme effect averts).
   */
  private history(registerCount: number, age: number, mentalHealth: boolean, deceasedAt: string | undefined): void {
    const { seed, asOf } = this.options;
    const latent = Random.derive(seed, STREAM.latent, this.index);
    const propensity: Propensity = {
      registerCount,
      age,
      mentalHealth,
      usualDispersion: latent.gammaUnitMean(1.2),
      spellDispersion: latent.gammaUnitMean(2),
      site: siteOf(this.index),
      usualGp: usualGp(latent),
    };
    this.propensity = propensity;
    const chain = new LatentChain(latent, classShares(registerCount, mentalHealth));
    const calendar = historyCalendar(asOf, this.options.historyYears as number, this.options.followUp?.until);
    const died = deceasedAt ? londonDate(new Date(deceasedAt)) : undefined;
    const main = this.rng;
    for (const [m, month] of calendar.months.entries()) {
      const utilisation = chain.step();
      const from = calendar.days[month.first] as IsoDate;
      const last = died !== undefined && died < (calendar.days[month.last] as IsoDate) ? died : undefined;
      if (died !== undefined && from > died) {
        break;
      }
      const lastIndex = last === undefined ? month.last : calendar.days.indexOf(last, month.first);
      const rng = Random.derive(seed, STREAM.events, this.index, m);
      this.rng = rng;
      this.idScope = `m${m}-`;
      this.serial = 0;
      const dispersion = utilisation === 'usual' ? propensity.usualDispersion : propensity.spellDispersion;
      const rates = yearlyRates(utilisation, registerCount, age, mentalHealth, dispersion);
      this.events(rates, 1 / 12, () => calendar.days[rng.int(month.first, lastIndex)] as IsoDate);
    }
    this.rng = main;
    this.idScope = '';
  }

  /**
   * Multi-year: whether the programme effect takes away this emergency admission of an enrolled patient. It always
   * makes one draw, so every other event is the same with or without the effect.
   */
  private averted(day: IsoDate): boolean {
    if (!this.propensity) {
      return false;
    }
    const draw = this.rng.next();
    const enrolled = this.options.enrolments?.get(this.id);
    if (enrolled === undefined || day <= enrolled || draw >= -(this.options.programmeEffect ?? 0)) {
      return false;
    }
    if (day >= this.counted.start && day <= this.counted.end) {
      this.truth.emergencyAdmissionsAverted++;
    }
    return true;
  }

  /** Admissions a few days either side of the window's first day, and ones still in progress. */
  private admissionTraps(admissionRate: number): void {
    const rng = this.rng;
    if (rng.chance(Math.min(0.5, admissionRate * 0.15))) {
      this.admission('emergency', shifted(this.window.start, 0, -rng.int(1, 20)));
    }
    if (rng.chance(Math.min(0.5, admissionRate * 0.1))) {
      this.admission('emergency', shifted(this.window.start, 0, rng.int(0, 10)));
    }
    if (rng.chance(Math.min(0.2, admissionRate * 0.02))) {
      this.admission('emergency', shifted(this.window.end, 0, -rng.int(0, 3)), true);
    }
  }

  private encounter(
    cls: 'AMB' | 'EMER' | 'IMP' | 'VR' | 'HH',
    kind: Code,
    service: Code,
    serviceProvider: string,
    start: string,
    minutes: number
  ): Encounter {
    const noise = this.rng.next();
    const status = noise < 0.01 ? 'entered-in-error' : noise < 0.03 && cls === 'AMB' ? 'cancelled' : 'finished';
    return {
      resourceType: 'Encounter',
      id: this.nextId('enc'),
      status,
      class: { system: SYSTEM.actCode, code: cls, display: CLASS_DISPLAY[cls] },
      type: [concept(SYSTEM.snomed, kind), concept(SYSTEM.snomed, service)],
      serviceType: concept(SYSTEM.snomed, service),
      subject: this.ref,
      period: { start, end: this.plusMinutes(start, minutes) },
      serviceProvider: { reference: `Organization/${serviceProvider}` },
    };
  }

  private record(encounter: Encounter, counter?: keyof PatientTruth): void {
    this.resources.push(encounter);
    const counts = encounter.status !== 'entered-in-error' && encounter.status !== 'cancelled';
    if (counter && counts && encounter.period?.start && this.inWindow(encounter.period.start)) {
      (this.truth[counter] as number)++;
    }
  }

  private gpEncounter(age: number, day: IsoDate): void {
    const rng = this.rng;
    const start = this.instantOn(day, 8, 17);
    const home = age >= 75 && rng.chance(0.15);
    const telephone = !home && rng.chance(0.3);
    const encounter = home
      ? this.encounter('HH', ENCOUNTER.gpHome, SERVICE.generalPractice, this.orgs.practice, start, 30)
      : telephone
        ? this.encounter('VR', ENCOUNTER.gpTelephone, SERVICE.generalPractice, this.orgs.practice, start, 10)
        : this.encounter('AMB', ENCOUNTER.gpSurgery, SERVICE.generalPractice, this.orgs.practice, start, 12);
    if (this.propensity) {
      const { site, usualGp: usual } = this.propensity;
      encounter.participant = [gpParticipant(rng, this.orgs.practice, site, usual)];
    }
    this.record(encounter, 'gpEncounters');
  }

  private edAttendance(start: string): void {
    const minutes = this.rng.int(60, 420);
    this.record(
      this.encounter('EMER', ENCOUNTER.casualty, SERVICE.emergencyDepartment, this.orgs.trust, start, minutes),
      'edAttendances'
    );
  }

  private call(kind: '111' | '999', day: IsoDate): void {
    const start = this.instantOn(day, 0, 23);
    const encounter =
      kind === '111'
        ? this.encounter('VR', ENCOUNTER.telephoneTriage, SERVICE.nhs111, this.orgs.nhs111, start, 15)
        : this.encounter('VR', ENCOUNTER.telephone, SERVICE.ambulance, this.orgs.ambulance, start, 40);
    this.record(encounter, kind === '111' ? 'calls111' : 'calls999');
  }

  private admission(kind: 'emergency' | 'elective', day: IsoDate, ongoing = false): void {
    const rng = this.rng;
    const method = kind === 'emergency' ? this.emergencyMethod() : rng.pick(ELECTIVE_ADMISSION_METHODS);
    const start = this.instantOn(day, kind === 'emergency' ? 0 : 7, kind === 'emergency' ? 23 : 11);
    if (kind === 'emergency' && method.code === '21') {
      this.edAttendance(this.plusMinutes(start, -rng.int(120, 360)));
    }
    const encounter = this.encounter(
      'IMP',
      ENCOUNTER.hospitalWard,
      SERVICE.emergencyDepartment,
      this.orgs.trust,
      start,
      0
    );
    encounter.type = [concept(SYSTEM.snomed, ENCOUNTER.hospitalWard)];
    delete encounter.serviceType;
    if (encounter.status === 'cancelled') {
      encounter.status = 'finished';
    }
    const methodExtension = {
      url: ADMISSION_METHOD_EXTENSION,
      valueCodeableConcept: concept(SYSTEM.admissionMethod, method),
    };
    // Some feeds put the extension on Encounter itself rather than on Encounter.hospitalization.
    if (rng.chance(0.1)) {
      encounter.extension = [methodExtension];
    } else {
      encounter.hospitalization = { extension: [methodExtension] };
    }
    if (ongoing) {
      encounter.status = 'in-progress';
      encounter.period = { start };
    } else {
      encounter.period = { start, end: this.plusMinutes(start, rng.int(1, 12) * 1440 + rng.int(-300, 300)) };
    }
    if (kind === 'emergency' && this.averted(day)) {
      return;
    }
    this.record(encounter, kind === 'emergency' ? 'emergencyAdmissions' : 'electiveAdmissions');
  }

  private emergencyMethod(): Code {
    const rng = this.rng;
    const r = rng.next();
    if (r < 0.55) {
      return EMERGENCY_ADMISSION_METHODS[0] as Code; // 21: via the emergency department
    }
    return r < 0.75 ? (EMERGENCY_ADMISSION_METHODS[1] as Code) : rng.pick(EMERGENCY_ADMISSION_METHODS.slice(2));
  }

  // --- conditions, medications, observations -------------------------------------------------------------------

  private conditions(registers: readonly Register[], anxiety: boolean): void {
    const rng = this.rng;
    for (const register of registers) {
      this.condition(rng.pick<Code>(REGISTERS[register]), 'active');
    }
    if (anxiety) {
      this.condition(ANXIETY, 'active');
    }
    // Noise that must not count: resolved and entered-in-error long-term diagnoses, acute problems.
    if (rng.chance(0.03)) {
      this.condition(REGISTERS.depression[0], 'resolved');
    }
    if (rng.chance(0.02)) {
      this.condition(rng.pick(REGISTERS.copd), 'active', 'entered-in-error');
    }
    for (let n = rng.poisson(0.4); n > 0; n--) {
      this.condition(rng.pick(ACUTE_PROBLEMS), 'resolved');
    }
  }

  private condition(code: Code, clinical: 'active' | 'resolved', verification = 'confirmed'): void {
    const onset = shifted(this.options.asOf, -this.rng.int(3, 240));
    const condition: Condition = {
      resourceType: 'Condition',
      id: this.nextId('cond'),
      // R4 con-5: an entered-in-error condition carries no clinical status.
      clinicalStatus:
        verification === 'entered-in-error'
          ? undefined
          : concept(SYSTEM.conditionClinical, {
              code: clinical,
              display: clinical === 'active' ? 'Active' : 'Resolved',
            }),
      verificationStatus: concept(SYSTEM.conditionVerification, {
        code: verification,
        display: verification === 'confirmed' ? 'Confirmed' : 'Entered in Error',
      }),
      category: [concept(SYSTEM.conditionCategory, { code: 'problem-list-item', display: 'Problem List Item' })],
      code: concept(SYSTEM.snomed, code),
      subject: this.ref,
      onsetDateTime: onset,
      recordedDate: onset,
    };
    if (!condition.clinicalStatus) {
      delete condition.clinicalStatus;
    }
    this.resources.push(condition);
  }

  private medications(registers: readonly Register[], anxiety: boolean, age: number): void {
    const rng = this.rng;
    const wanted = new Map<string, Code>();
    const add = (drugs: readonly Code[], count: number): void => {
      rng.sample(drugs, count).forEach((drug) => wanted.set(drug.code, drug));
    };
    for (const register of registers) {
      add(DRUGS_FOR_REGISTER[register] ?? ALL_REPEAT_DRUGS, rng.int(1, 3));
    }
    if (anxiety) {
      add(REPEAT_DRUGS.anxiety, 1);
    }
    add(ALL_REPEAT_DRUGS, rng.poisson(0.2 + 0.55 * registers.length + (age >= 65 ? 1 : 0)));
    if (age < 16) {
      wanted.clear(); // children's repeats are not modelled
    }
    const active = new Set<string>();
    for (const drug of wanted.values()) {
      const status = rng.chance(0.08) ? 'stopped' : 'active';
      this.medicationRequest(drug, status, 'continuous');
      if (status === 'active') {
        active.add(drug.code);
        if (rng.chance(0.05)) {
          this.medicationRequest(drug, 'active', 'continuous'); // re-authorised: the same item twice
        }
      }
      if (rng.chance(0.02)) {
        this.medicationRequest(drug, 'entered-in-error', 'continuous');
      }
    }
    this.truth.repeatMedications = active.size;
    for (let n = rng.poisson(0.6 + 0.3 * registers.length); n > 0; n--) {
      this.medicationRequest(rng.pick(ACUTE_DRUGS), 'completed', 'acute');
    }
  }

  private medicationRequest(drug: Code, status: MedicationRequest['status'], course: 'continuous' | 'acute'): void {
    const rng = this.rng;
    const authored =
      course === 'acute'
        ? this.dayIn(this.window.historyStart, this.window.end)
        : shifted(this.options.asOf, -rng.int(1, 72), -rng.int(0, 27));
    const request: MedicationRequest = {
      resourceType: 'MedicationRequest',
      id: this.nextId('med'),
      status,
      intent: 'order',
      medicationCodeableConcept: concept(SYSTEM.dmd, drug),
      subject: this.ref,
      authoredOn: authored,
      courseOfTherapyType: concept(SYSTEM.courseOfTherapy, {
        code: course,
        display: course === 'continuous' ? 'Continuous long term therapy' : 'Short course (acute) therapy',
      }),
      requester: { reference: `Organization/${this.orgs.practice}` },
    };
    this.resources.push(request);
  }

  private socialAndFrailty(age: number, registerCount: number): void {
    const rng = this.rng;
    if (age >= 18 && age <= 85 && rng.chance(0.05)) {
      this.truth.carer = true;
      this.observation(rng.pick(CARER), 'social-history', 'Social History');
    }
    if (age >= 65) {
      const r = rng.next();
      const severe = 0.015 + 0.02 * registerCount;
      const moderate = severe + 0.05 + 0.04 * registerCount;
      const mild = moderate + 0.15;
      const category: FrailtyCategory | undefined =
        r < severe ? 'severe' : r < moderate ? 'moderate' : r < mild ? 'mild' : undefined;
      if (category) {
        this.truth.frailty = category;
        this.observation(FRAILTY[category], 'survey', 'Survey', 23); // eFI categories are reviewed at least every two years
      }
    }
  }

  private observation(code: Code, category: string, categoryDisplay: string, withinMonths = 36): void {
    const observation: Observation = {
      resourceType: 'Observation',
      id: this.nextId('obs'),
      status: 'final',
      category: [concept(SYSTEM.observationCategory, { code: category, display: categoryDisplay })],
      code: concept(SYSTEM.snomed, code),
      subject: this.ref,
      effectiveDateTime: this.instantOn(shifted(this.options.asOf, -this.rng.int(1, withinMonths)), 8, 17),
    };
    this.resources.push(observation);
  }

  private optOut(): void {
    const rng = this.rng;
    const r = rng.next();
    if (r < 0.004) {
      this.truth.optedOut = true;
      const consent: Consent = {
        resourceType: 'Consent',
        id: this.nextId('consent'),
        status: 'active',
        scope: concept(SYSTEM.consentScope, { code: 'patient-privacy', display: 'Privacy Consent' }),
        category: [concept(SYSTEM.consentCategory, { code: '59284-0', display: 'Patient Consent' })],
        patient: this.ref,
        dateTime: this.instantOn(shifted(this.options.asOf, -rng.int(1, 24)), 8, 17),
        policyRule: concept(SYSTEM.actCode, { code: 'OPTOUT', display: 'opt-out' }),
        provision: { type: 'deny' },
      };
      this.resources.push(consent);
    } else if (r < 0.006) {
      this.truth.optedOut = true;
      this.resources.push({
        resourceType: 'Observation',
        id: this.nextId('obs'),
        status: 'final',
        code: { coding: [{ ...HFU_CODE.objection }] },
        subject: this.ref,
        effectiveDateTime: this.instantOn(shifted(this.options.asOf, -rng.int(1, 24)), 8, 17),
      });
    }
  }
}

/**
 * `date` plus `months` calendar months and then `days` days, remembered: the generator shifts the same few thousand
 * dates by the same few amounts for every patient, and the date functions validate and reparse each time.
 */
const shiftedDates = new Map<IsoDate, Map<number, IsoDate>>();

function shifted(date: IsoDate, months: number, days = 0): IsoDate {
  let byShift = shiftedDates.get(date);
  if (byShift === undefined) {
    if (shiftedDates.size > 20_000) {
      shiftedDates.clear();
    }
    byShift = new Map();
    shiftedDates.set(date, byShift);
  }
  const key = months * 100_000 + days; // |days| stays far below 50,000: every (months, days) its own key
  let value = byShift.get(key);
  if (value === undefined) {
    value = addDays(addMonths(date, months), days);
    byShift.set(key, value);
  }
  return value;
}

/** Whether an instant falls on a London day from `first` to `last`, both inclusive. */
function withinDays(ms: number, first: IsoDate, last: IsoDate): boolean {
  return ms >= startOfDay(first) && ms < startOfDay(shifted(last, 0, 1));
}

/** Ages by birth date on one date, remembered (a practice's patients share some 36,000 birth dates). */
const ages = { on: '', byBirthDate: new Map<IsoDate, number>() };

function ageOn(birthDate: IsoDate, date: IsoDate): number {
  if (ages.on !== date) {
    ages.on = date;
    ages.byBirthDate.clear();
  }
  let age = ages.byBirthDate.get(birthDate);
  if (age === undefined) {
    age = yearsBetween(birthDate, date);
    ages.byBirthDate.set(birthDate, age);
  }
  return age;
}

/** London midnights by day, remembered: the generator asks for the same few thousand days over and over. */
const midnights = new Map<IsoDate, number>();

function startOfDay(day: IsoDate): number {
  let ms = midnights.get(day);
  if (ms === undefined) {
    if (midnights.size > 50_000) {
      midnights.clear();
    }
    ms = londonStartOfDay(day).getTime();
    midnights.set(day, ms);
  }
  return ms;
}

interface YearlyRates {
  gp: number;
  ed: number;
  calls111: number;
  calls999: number;
  emergency: number;
  elective: number;
}

/** A patient's contacts a year in a class; `usual` rates grow with the number of long-term conditions. */
function yearlyRates(
  utilisation: UtilisationClass,
  registerCount: number,
  age: number,
  mentalHealth: boolean,
  dispersion: number
): YearlyRates {
  const rates = RATES[utilisation];
  const usual = utilisation === 'usual';
  return {
    gp: (usual ? rates.gp + 0.9 * registerCount : rates.gp) * dispersion,
    ed: rates.ed + (usual ? 0.07 * registerCount : 0),
    calls111: rates.calls111,
    calls999: rates.calls999 + 0.02 * registerCount,
    emergency:
      (0.01 + 0.05 * registerCount + (age >= 75 ? 0.07 : 0) + (mentalHealth ? 0.03 : 0)) * rates.admissionFactor,
    elective: 0.03 + 0.02 * registerCount,
  };
}

const CLASS_DISPLAY = {
  AMB: 'ambulatory',
  EMER: 'emergency',
  IMP: 'inpatient encounter',
  VR: 'virtual',
  HH: 'home health',
} as const;

function concept(system: string, code: Code): CodeableConcept {
  return { coding: [{ system, code: code.code, display: code.display }] };
}
