import { setImmediate } from 'node:timers/promises';
import type { Encounter, Resource } from '@medplum/fhirtypes';
import type { Scope } from '../config';
import { ConfigError } from '../config';
import type { CompiledRule, Programme } from '../criteria';
import { holds, NO_STATE } from '../criteria';
import type { IsoDate } from '../dates';
import { addMonths, londonDay } from '../dates';
import type { FhirClient } from '../fhir';
import type { ProgrammeRecord } from '../lifecycle';
import { readProgrammeRecord } from '../lifecycle';
import type { Logger } from '../logging';
import type {
  CompiledFeature,
  CompiledMapping,
  DatedMapping,
  FactValue,
  PatientFeatures,
  PatientRecord,
  RecordEvaluation,
} from '../mappings';
import { FeatureEvaluationError, mappingOn, recordEvaluation } from '../mappings';
import type { Population, SubjectSearch } from '../read';
import { readPatients, resolvePopulation } from '../read';
import type { TierId } from '../vocabulary';
import { cohortIdentifier } from '../writeback';
import type { PatientContinuity } from './continuity';
import { patientContinuity } from './continuity';
import type { PatientSeries } from './impact';
import { enrolmentDates, lotteryWaitlisted } from './programme-flow';

export interface ReportDeps {
  /** The population and its clinical data (only read). */
  source: FhirClient;
  /** The programme's record (`writeback.fhir`; the source unless kept apart): read, and written only for a MeasureReport. */
  record: FhirClient;
  mapping: CompiledMapping;
  programme: Programme;
  logger: Logger;
}

export interface CollectSettings {
  scope: Scope;
  asOf: IsoDate;
  concurrency: number;
  dateBounds: boolean;
  subjectSearch?: SubjectSearch;
  minFollowUpMonths: number;
  signal?: AbortSignal;
}

/** What the report keeps of one patient: a few numbers, never their data (the chunk is dropped once read). */
export interface PatientFigures {
  id: string;
  /** Over the 12 months to --now. */
  gpEncounters: number;
  edAttendances: number;
  unplannedAdmissions: number;
  mentalHealth: boolean | null;
  longTermConditions: number | null;
  age: number | null;
  carer: boolean | null;
  /** The tier the programme's criteria give on --now (exclusions applied, no cool-off: the criteria alone). */
  tier?: TierId;
  continuity?: PatientContinuity;
  /** At each persistence date (--now less 12 and 24 months): GP contacts in the 12 months to it, and the tier. */
  past: { gpEncounters: number; tier?: TierId }[];
}

/** Why a patient is in the impact comparison. */
export type ImpactGroup = 'enrolled' | 'lottery' | 'waitlisted' | 'justUnder';

export interface Collected {
  population: Population;
  record: ProgrammeRecord;
  patients: PatientFigures[];
  /** The persistence dates, newest first: --now less 12 months, less 24. */
  pastDates: IsoDate[];
  impact: Record<ImpactGroup, PatientSeries[]>;
  /** The dates comparison patients were evaluated at (the enrolled's enrolment dates). */
  tierDates: IsoDate[];
  skipped: Record<string, number>;
  complete: boolean;
  unread: number;
}

/** The features the report reads by name; the first three it cannot do without. */
export const REQUIRED_FEATURES = ['gpEncounters', 'edAttendances', 'unplannedAdmissions'] as const;
const PRACTITIONERS = 'gpPractitioners';

/** More enrolment dates than this and the comparison is evaluated once a month (each month's first date). */
const MAX_TIER_DATES = 12;

/**
 * Reads the programme's record and then the population chunk by chunk, keeping per patient only the figures the
 * report needs: use over the 12 months to --now, what the typology reads, the GP contacts' practitioners, the GP
 * contacts and tier a year and two years before, and — for the enrolled and for patients who qualified (or nearly
 * qualified) on an enrolment date but were not enrolled — admissions and ED attendances before and after that date.
 * Reads only: nothing is written.
 */
export async function collect(deps: ReportDeps, settings: CollectSettings): Promise<Collected> {
  const { source, programme, mapping, logger } = deps;
  const { asOf, signal } = settings;
  const population = await resolvePopulation(source, settings.scope, signal);
  const cohort = cohortIdentifier(programme, population.key);
  const record = await readProgrammeRecord(deps.record, programme.id, cohort, signal);
  const enrolled = enrolmentDates(record, addMonths(asOf, -settings.minFollowUpMonths));
  const lottery = lotteryWaitlisted(record, enrolled);
  const tierDates = evaluationDates([...new Set(enrolled.values())]);
  const pastDates = [addMonths(asOf, -12), addMonths(asOf, -24)];
  const earliest = [...pastDates, ...enrolled.values()].sort()[0] as IsoDate;
  const evaluators = new Evaluators(mapping, programme, asOf, pastDates, tierDates);
  const read = readPatients(
    { client: source, mapping, logger },
    {
      ...{ population, mode: { kind: 'full', via: 'search' }, programmePatients: [], asOf: earliest, signal },
      dateBounds: settings.dateBounds,
      subjectSearch: settings.subjectSearch,
      concurrency: settings.concurrency,
      maxPollMs: 120_000,
      trackNewest: false,
    }
  );
  const collected: Collected = {
    ...{ population, record, patients: [], pastDates, tierDates, skipped: {}, complete: false, unread: 0 },
    impact: { enrolled: [], lottery: [], waitlisted: [], justUnder: [] },
  };
  let slice = performance.now();
  for await (const chunk of read) {
    for (const patient of chunk.records) {
      try {
        const { figures, impact } = evaluators.read(patient, { enrolled, lottery }, record);
        collected.patients.push(figures);
        if (impact) {
          collected.impact[impact.group].push(impact.series);
        }
      } catch (err) {
        if (!(err instanceof FeatureEvaluationError)) {
          throw err;
        }
        collected.skipped[err.feature] = (collected.skipped[err.feature] ?? 0) + 1;
        logger.warn('patient skipped', { patientId: patient.patient.id, feature: err.feature, reason: err.reason });
      }
      if (performance.now() - slice > 1) {
        await setImmediate(); // let the next searches go out while this chunk is evaluated (as the run does)
        slice = performance.now();
      }
    }
  }
  const report = read.report();
  return { ...collected, complete: report.complete, unread: report.unread.length };
}

/** The distinct enrolment dates, or each month's first when there are many (each date is one more evaluation). */
function evaluationDates(dates: IsoDate[]): IsoDate[] {
  const sorted = dates.sort();
  if (sorted.length <= MAX_TIER_DATES) {
    return sorted;
  }
  const byMonth = new Map<string, IsoDate>();
  sorted.forEach((d) => byMonth.set(d.slice(0, 7), byMonth.get(d.slice(0, 7)) ?? d));
  return [...byMonth.values()];
}

/** The features the typology reads, besides the counts. */
const TYPOLOGY_FEATURES = ['mentalHealth', 'longTermConditions', 'age', 'carer'];

/**
 * The mapping bound to each date the report evaluates, and what it reads of one patient. Only the features the
 * report and the programme's tiers and exclusions read are evaluated (not the risk factors' 999 and 111 contacts,
 * say), and at past dates only those whose value depends on the date: a feature with no date and no `%asOfDate`
 * (registration, an opt-out, a condition register) reads the same records whatever the date, so its value on --now
 * stands. A patient's record is checked once and evaluated on every date from one `recordEvaluation`, which works
 * out what does not depend on the date (each record's day, whether it passes a feature's `where`) only once.
 */
class Evaluators {
  /** What a patient's record is checked against: every feature evaluated on any date is one of these. */
  private readonly nowMapping: CompiledMapping;
  private readonly now: DatedMapping;
  private readonly past: Map<IsoDate, DatedMapping>;
  /** Admissions and ED attendances over all the history read, up to a date. */
  private readonly events: Map<IsoDate, DatedMapping>;
  private readonly practitioners?: CompiledFeature;
  /**
   * Each tier parameter lowered by one: a patient who qualifies under one of them is just under the threshold. Not
   * to zero: a patient with no admissions was not chosen for having had many, so regresses to no mean.
   */
  private readonly loweredParameters: Record<string, number>[];
  private readonly rules = new RuleResults();

  constructor(
    mapping: CompiledMapping,
    private readonly programme: Programme,
    private readonly asOf: IsoDate,
    private readonly pastDates: readonly IsoDate[],
    private readonly tierDates: readonly IsoDate[]
  ) {
    const missing = REQUIRED_FEATURES.filter((name) => !mapping.features.some((f) => f.name === name));
    if (missing.length) {
      throw new ConfigError('mapping', [
        `mapping ${mapping.name}: the report needs the features ${missing.join(', ')}`,
      ]);
    }
    const ruleFeatures = [...programme.tiers, ...programme.exclusions].flatMap((rule) => rule.features);
    const wanted = new Set([...REQUIRED_FEATURES, ...ruleFeatures]);
    this.nowMapping = subset(
      mapping,
      (f) => wanted.has(f.name) || [...TYPOLOGY_FEATURES, PRACTITIONERS].includes(f.name)
    );
    const pastMapping = subset(mapping, (f) => wanted.has(f.name) && dependsOnDate(f));
    const eventMapping = allHistory(
      subset(mapping, (f) => f.name === 'unplannedAdmissions' || f.name === 'edAttendances')
    );
    this.now = mappingOn(this.nowMapping, asOf);
    this.past = new Map([...pastDates, ...tierDates].map((d) => [d, mappingOn(pastMapping, d)]));
    this.events = new Map([asOf, ...tierDates].map((d) => [d, mappingOn(eventMapping, d)]));
    this.practitioners = mapping.features.find((f) => f.name === PRACTITIONERS);
    this.loweredParameters = [...new Set(programme.tiers.flatMap((t) => parametersOf(t.when)))]
      .filter((name) => typeof programme.parameters[name] === 'number' && (programme.parameters[name] as number) > 1)
      .map((name) => ({ ...programme.parameters, [name]: (programme.parameters[name] as number) - 1 }));
  }

  /**
   * One patient: their figures, and their use before and after an index date when they are in the impact
   * comparison (see `impactGroup`).
   */
  read(
    record: PatientRecord,
    enrolled: { enrolled: ReadonlyMap<string, IsoDate>; lottery: ReadonlyMap<string, IsoDate> },
    programmeRecord: ProgrammeRecord
  ): { figures: PatientFigures; impact?: { group: ImpactGroup; series: PatientSeries } } {
    const on = recordEvaluation(this.nowMapping, record);
    const now = on(this.now);
    const group = this.impactGroup(record, on, now.facts, enrolled, programmeRecord);
    return {
      figures: this.figures(record, on, now),
      ...(group ? { impact: { group: group.group, series: this.series(on, now.facts, group.date) } } : {}),
    };
  }

  private figures(record: PatientRecord, on: RecordEvaluation, now: PatientFeatures): PatientFigures {
    const facts = now.facts;
    const continuity = this.practitioners
      ? patientContinuity(this.visits(record, now.evidence[PRACTITIONERS] ?? []))
      : undefined;
    return {
      id: record.patient.id as string,
      gpEncounters: count(facts.gpEncounters),
      edAttendances: count(facts.edAttendances),
      unplannedAdmissions: count(facts.unplannedAdmissions),
      mentalHealth: flag(facts.mentalHealth),
      longTermConditions: facts.longTermConditions === undefined ? null : count(facts.longTermConditions),
      age: typeof facts.age === 'number' ? facts.age : null,
      carer: flag(facts.carer),
      tier: this.tierOf(facts),
      ...(continuity ? { continuity } : {}),
      past: this.pastDates.map((date) => {
        const past = this.at(date, on, facts);
        return { gpEncounters: count(past.gpEncounters), tier: this.tierOf(past) };
      }),
    };
  }

  /**
   * Who is in the impact comparison, and from which date: the enrolled at least the follow-up ago (from their
   * enrolment date); the candidates a lottery did not draw (from the date of the draw's enrolments); and patients
   * never in the programme who, on one of those enrolment dates, qualified
   * (waitlisted: over capacity, never proposed) or were one threshold step short of qualifying (just under).
   */
  private impactGroup(
    record: PatientRecord,
    on: RecordEvaluation,
    nowFacts: Record<string, FactValue>,
    dates: { enrolled: ReadonlyMap<string, IsoDate>; lottery: ReadonlyMap<string, IsoDate> },
    programmeRecord: ProgrammeRecord
  ): { group: ImpactGroup; date: IsoDate } | undefined {
    const id = record.patient.id as string;
    const enrolledOn = dates.enrolled.get(id);
    if (enrolledOn) {
      return { group: 'enrolled', date: enrolledOn };
    }
    const drawnFrom = dates.lottery.get(id);
    if (drawnFrom) {
      return { group: 'lottery', date: drawnFrom };
    }
    if (programmeRecord.patients.has(id)) {
      return undefined; // proposed, declined or enrolled recently: neither enrolled long enough nor a comparison
    }
    for (const date of this.tierDates) {
      const facts = this.at(date, on, nowFacts);
      if (this.tierOf(facts)) {
        return { group: 'waitlisted', date };
      }
      if (!this.excluded(facts) && this.justUnder(facts)) {
        return { group: 'justUnder', date };
      }
    }
    return undefined;
  }

  /** The tier the programme's criteria give (exclusions applied, no record state: the criteria alone). */
  private tierOf(facts: Record<string, FactValue>): TierId | undefined {
    const p = this.programme.parameters;
    const tier = this.programme.tiers.find((rule) => this.rules.holds(rule, { f: facts, p }))?.id;
    return tier && !this.excluded(facts) ? tier : undefined;
  }

  private excluded(facts: Record<string, FactValue>): boolean {
    const vars = { f: facts, p: this.programme.parameters, state: NO_STATE };
    return this.programme.exclusions.some((rule) => this.rules.holds(rule, vars));
  }

  private justUnder(facts: Record<string, FactValue>): boolean {
    return this.loweredParameters.some((p) =>
      this.programme.tiers.some((tier) => this.rules.holds(tier, { f: facts, p }))
    );
  }

  /** The facts on a past date: the date-dependent features evaluated then, the rest as on --now. */
  private at(date: IsoDate, on: RecordEvaluation, nowFacts: Record<string, FactValue>): Record<string, FactValue> {
    return { ...nowFacts, ...on(this.past.get(date) as DatedMapping).facts };
  }

  /** Before: the 12 months to the index date (the window the criteria read); after: from then to --now, per year. */
  private series(on: RecordEvaluation, nowFacts: Record<string, FactValue>, date: IsoDate): PatientSeries {
    const before = this.at(date, on, nowFacts);
    const upToNow = on(this.events.get(this.asOf) as DatedMapping).facts;
    const upToDate = on(this.events.get(date) as DatedMapping).facts;
    const years = Math.max((Date.parse(this.asOf) - Date.parse(date)) / (365.25 * 86_400_000), 1 / 365.25);
    const after = (name: string) => (count(upToNow[name]) - count(upToDate[name])) / years;
    return {
      before: { emergencyAdmissions: count(before.unplannedAdmissions), edAttendances: count(before.edAttendances) },
      after: { emergencyAdmissions: after('unplannedAdmissions'), edAttendances: after('edAttendances') },
    };
  }

  /** Each GP contact the practitioners feature kept: its day and the practitioner its aggregate names. */
  private visits(record: PatientRecord, evidence: readonly string[]): { day: string; practitioner: string }[] {
    const feature = this.practitioners as CompiledFeature;
    const wanted = new Set(evidence);
    const variables = { asOfDate: this.asOf };
    return feature.resources
      .flatMap((type) => (record.resources[type] ?? []) as Resource[])
      .filter((r) => wanted.has(`${r.resourceType}/${r.id}`))
      .flatMap((resource) => {
        const day = londonDay(feature.date?.(resource, variables)[0] ?? (resource as Encounter).period?.start);
        const practitioner = feature.value?.(resource, variables)[0];
        return day && typeof practitioner === 'string' ? [{ day, practitioner }] : [];
      });
  }
}

type RuleVariables = { f: Record<string, FactValue>; p: Record<string, unknown>; state?: unknown };

/**
 * Whether a rule holds, kept by the values of the features it reads (and the parameters and state, the same few
 * objects throughout): most patients share them (no admissions, few repeat items), and a rule reads nothing else.
 * A rule that reads %f other than as %f.name is evaluated every time.
 */
class RuleResults {
  private readonly known = new Map<string, boolean>();
  /** Rules, parameters and states, numbered as first met: part of the key. */
  private readonly ids = new Map<unknown, number>();

  holds(rule: CompiledRule, vars: RuleVariables): boolean {
    if (rule.when.replace(/%f\.[A-Za-z][A-Za-z0-9]*/g, '').includes('%f')) {
      return holds(rule, vars);
    }
    const values = rule.features.map((name) => [typeof vars.f[name], String(vars.f[name])]);
    const key = JSON.stringify([this.idOf(rule), this.idOf(vars.p), this.idOf(vars.state), values]);
    let result = this.known.get(key);
    if (result === undefined) {
      result = holds(rule, vars);
      this.known.set(key, result);
    }
    return result;
  }

  private idOf(object: unknown): number {
    let id = this.ids.get(object);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(object, id);
    }
    return id;
  }
}

/** Whether a feature's value can differ between dates: it has a date, or an expression reads the date. */
function dependsOnDate(feature: CompiledFeature): boolean {
  return Boolean(feature.date) || JSON.stringify(feature.spec).includes('%asOfDate');
}

function subset(mapping: CompiledMapping, keep: (feature: CompiledFeature) => boolean): CompiledMapping {
  return { ...mapping, features: mapping.features.filter(keep) };
}

/** The same features over everything read up to the date (no look-back window): counts to difference. */
function allHistory(mapping: CompiledMapping): CompiledMapping {
  return { ...mapping, features: mapping.features.map((f) => ({ ...f, window: undefined })) };
}

function parametersOf(expression: string): string[] {
  return [...expression.matchAll(/%p\.([A-Za-z][A-Za-z0-9]*)/g)].map((m) => m[1] as string);
}

function count(value: FactValue | undefined): number {
  return typeof value === 'number' ? value : 0;
}

function flag(value: FactValue | undefined): boolean | null {
  return value === undefined || value === null ? null : value === true;
}
