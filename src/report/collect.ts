import { setImmediate } from 'node:timers/promises';
import type { Encounter, Resource } from '@medplum/fhirtypes';
import type { Scope } from '../config';
import { ConfigError } from '../config';
import type { Programme } from '../criteria';
import { decide, holds } from '../criteria';
import type { IsoDate } from '../dates';
import { addMonths, londonDay } from '../dates';
import type { FhirClient } from '../fhir';
import type { ProgrammeRecord } from '../lifecycle';
import { readProgrammeRecord } from '../lifecycle';
import type { Logger } from '../logging';
import type { CompiledFeature, CompiledMapping, FactValue, FeatureEvaluator, PatientRecord } from '../mappings';
import { FeatureEvaluationError, featureEvaluator } from '../mappings';
import type { Population } from '../read';
import { readPatients, resolvePopulation } from '../read';
import type { TierId } from '../vocabulary';
import { cohortIdentifier } from '../writeback';
import type { PatientContinuity } from './continuity';
import { patientContinuity } from './continuity';
import type { PatientSeries } from './impact';
import { enrolmentDates } from './programme-flow';

export interface ReportDeps {
  client: FhirClient;
  mapping: CompiledMapping;
  programme: Programme;
  logger: Logger;
}

export interface CollectSettings {
  scope: Scope;
  asOf: IsoDate;
  concurrency: number;
  dateBounds: boolean;
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
export type ImpactGroup = 'enrolled' | 'waitlisted' | 'justUnder';

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
  const { client, programme, mapping, logger } = deps;
  const { asOf, signal } = settings;
  const population = await resolvePopulation(client, settings.scope, signal);
  const record = await readProgrammeRecord(client, programme.id, cohortIdentifier(programme, population.key), signal);
  const enrolled = enrolmentDates(record, addMonths(asOf, -settings.minFollowUpMonths));
  const tierDates = evaluationDates([...new Set(enrolled.values())]);
  const pastDates = [addMonths(asOf, -12), addMonths(asOf, -24)];
  const earliest = [...pastDates, ...enrolled.values()].sort()[0] as IsoDate;
  const evaluators = new Evaluators(mapping, programme, asOf, pastDates, tierDates);
  const read = readPatients(deps, {
    ...{ population, mode: { kind: 'full', via: 'search' }, programmePatients: [], asOf: earliest, signal },
    dateBounds: settings.dateBounds,
    concurrency: settings.concurrency,
    maxPollMs: 120_000,
    trackNewest: false,
  });
  const collected: Collected = {
    ...{ population, record, patients: [], pastDates, tierDates, skipped: {}, complete: false, unread: 0 },
    impact: { enrolled: [], waitlisted: [], justUnder: [] },
  };
  let slice = performance.now();
  for await (const chunk of read) {
    for (const patient of chunk.records) {
      try {
        collected.patients.push(evaluators.figures(patient));
        const series = evaluators.impact(patient, enrolled, record);
        if (series) {
          collected.impact[series.group].push(series.series);
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

/** The mapping bound to each date the report evaluates, and what it reads of one patient. */
class Evaluators {
  private readonly now: FeatureEvaluator;
  /** Only the features the tiers, exclusions and the report read: what is evaluated at past dates. */
  private readonly past: Map<IsoDate, FeatureEvaluator>;
  /** Admissions and ED attendances over all the history read, up to a date. */
  private readonly events: Map<IsoDate, FeatureEvaluator>;
  private readonly practitioners?: CompiledFeature;
  /** Each tier parameter lowered by one: a patient who qualifies under one of them is just under the threshold. */
  private readonly loweredParameters: Record<string, number>[];

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
    const pastMapping = subset(mapping, new Set([...ruleFeatures, ...REQUIRED_FEATURES]));
    const eventMapping = allHistory(subset(mapping, new Set(['unplannedAdmissions', 'edAttendances'])));
    this.now = featureEvaluator(mapping, asOf);
    this.past = new Map([...pastDates, ...tierDates].map((d) => [d, featureEvaluator(pastMapping, d)]));
    this.events = new Map([asOf, ...tierDates].map((d) => [d, featureEvaluator(eventMapping, d)]));
    this.practitioners = mapping.features.find((f) => f.name === PRACTITIONERS);
    this.loweredParameters = [...new Set(programme.tiers.flatMap((t) => parametersOf(t.when)))]
      .filter((name) => typeof programme.parameters[name] === 'number')
      .map((name) => ({ ...programme.parameters, [name]: (programme.parameters[name] as number) - 1 }));
  }

  figures(record: PatientRecord): PatientFigures {
    const id = record.patient.id as string;
    const features = this.now(record);
    const facts = features.facts;
    const continuity = this.practitioners
      ? patientContinuity(this.visits(record, features.evidence[PRACTITIONERS] ?? []))
      : undefined;
    return {
      id,
      gpEncounters: count(facts.gpEncounters),
      edAttendances: count(facts.edAttendances),
      unplannedAdmissions: count(facts.unplannedAdmissions),
      mentalHealth: flag(facts.mentalHealth),
      longTermConditions: facts.longTermConditions === undefined ? null : count(facts.longTermConditions),
      age: typeof facts.age === 'number' ? facts.age : null,
      carer: flag(facts.carer),
      tier: decide(this.programme, id, features).tier,
      ...(continuity ? { continuity } : {}),
      past: this.pastDates.map((date) => {
        const past = this.evaluate(this.past, date, record);
        return { gpEncounters: count(past.facts.gpEncounters), tier: decide(this.programme, id, past).tier };
      }),
    };
  }

  /**
   * The patient's use before and after their index date, when they are in the comparison: enrolled at least the
   * follow-up ago (index: the enrolment date); or never in the programme and, on one of those enrolment dates,
   * qualifying (waitlisted: over capacity, not proposed) or one threshold step short of qualifying (just under).
   */
  impact(
    record: PatientRecord,
    enrolled: ReadonlyMap<string, IsoDate>,
    programmeRecord: ProgrammeRecord
  ): { group: ImpactGroup; series: PatientSeries } | undefined {
    const id = record.patient.id as string;
    const enrolledOn = enrolled.get(id);
    if (enrolledOn) {
      return { group: 'enrolled', series: this.series(record, enrolledOn) };
    }
    if (programmeRecord.patients.has(id)) {
      return undefined; // proposed, declined or enrolled recently: neither enrolled long enough nor a comparison
    }
    for (const date of this.tierDates) {
      const features = this.evaluate(this.past, date, record);
      const decision = decide(this.programme, id, features);
      if (decision.tier) {
        return { group: 'waitlisted', series: this.series(record, date) };
      }
      if (!decision.excludedBy.length && this.justUnder(features.facts)) {
        return { group: 'justUnder', series: this.series(record, date) };
      }
    }
    return undefined;
  }

  private justUnder(facts: Record<string, FactValue>): boolean {
    return this.loweredParameters.some((p) => this.programme.tiers.some((tier) => holds(tier, { f: facts, p })));
  }

  /** Before: the 12 months to the index date (the window the criteria read); after: from then to --now, per year. */
  private series(record: PatientRecord, date: IsoDate): PatientSeries {
    const before = this.evaluate(this.past, date, record).facts;
    const upToNow = this.evaluate(this.events, this.asOf, record).facts;
    const upToDate = this.evaluate(this.events, date, record).facts;
    const years = Math.max((Date.parse(this.asOf) - Date.parse(date)) / (365.25 * 86_400_000), 1 / 365.25);
    const after = (name: string) => (count(upToNow[name]) - count(upToDate[name])) / years;
    return {
      before: { emergencyAdmissions: count(before.unplannedAdmissions), edAttendances: count(before.edAttendances) },
      after: { emergencyAdmissions: after('unplannedAdmissions'), edAttendances: after('edAttendances') },
    };
  }

  private evaluate(evaluators: Map<IsoDate, FeatureEvaluator>, date: IsoDate, record: PatientRecord) {
    return (evaluators.get(date) as FeatureEvaluator)(record);
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

function subset(mapping: CompiledMapping, names: ReadonlySet<string>): CompiledMapping {
  return { ...mapping, features: mapping.features.filter((f) => names.has(f.name)) };
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
