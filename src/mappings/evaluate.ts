import type { Patient, Resource } from '@medplum/fhirtypes';
import type { IsoDate } from '../dates';
import { addDays, addMonths, londonDay } from '../dates';
import { evaluationFailure } from '../expressions';
import { recordCheck } from './check';
import type { CompiledFeature, CompiledMapping } from './load';
import type { Evaluator } from '../expressions';
import type { RecordCheck } from './check';
import type { Duration, FeatureSpec, SourceType } from './schema';

/** One patient's data as read from the source: the Patient and their resources by type. */
export interface PatientRecord {
  patient: Patient;
  resources: Partial<Record<SourceType, Resource[]>>;
}

export type FactValue = number | boolean | string | null;

/** Facts by feature name, and for each feature the references of the resources that produced it. */
export interface PatientFeatures {
  facts: Record<string, FactValue>;
  evidence: Record<string, string[]>;
}

/** Data a mapping could not evaluate for one patient: the patient is skipped, the run goes on. */
export class FeatureEvaluationError extends Error {
  constructor(
    readonly feature: string,
    readonly reason: string
  ) {
    super(`feature ${feature}: ${reason}`);
    this.name = 'FeatureEvaluationError';
  }
}

export type FeatureEvaluator = (record: PatientRecord) => PatientFeatures;

/**
 * Binds a mapping to an evaluation date. The returned function evaluates every feature of one patient, after checking
 * that every element the features read is well formed (check.ts): a malformed one is a FeatureEvaluationError naming
 * the resource and the element, so the patient is skipped rather than decided on data that says nothing. Per resource
 * type it keeps the current records once (entered in error or cancelled never count, whatever the mapping says) and
 * places each in time once per date expression (London calendar days, so precision and time zones never make a
 * comparison silently empty); per feature it keeps what falls in the window (never anything after the evaluation
 * date), runs the `where` once over that whole list, then the aggregate. Several features over one type (five over
 * Encounter in uk-core) share the filtering and the dates.
 */
export function featureEvaluator(mapping: CompiledMapping, asOf: IsoDate): FeatureEvaluator {
  const dated = mappingOn(mapping, asOf);
  const check = recordCheck(mapping);
  return (record) => {
    checkRecord(check, record);
    return featuresOn(dated, new PatientLists(record, false));
  };
}

/** A mapping (or some of its features) bound to an evaluation date: its variables and each feature's window. */
export interface DatedMapping {
  features: readonly CompiledFeature[];
  asOf: IsoDate;
  variables: { asOfDate: IsoDate };
  windows: ReadonlyMap<CompiledFeature, IsoDate | undefined>;
}

export function mappingOn(mapping: Pick<CompiledMapping, 'features'>, asOf: IsoDate): DatedMapping {
  const windows = new Map(mapping.features.map((f) => [f, f.window ? windowStart(asOf, f.window) : undefined]));
  return { features: mapping.features, asOf, variables: { asOfDate: asOf }, windows };
}

/** One patient's features on any dated mapping: `on(dated)`. */
export type RecordEvaluation = (dated: DatedMapping) => PatientFeatures;

/**
 * One patient checked once against `mapping`, then evaluated on as many dates (and subsets of its features) as
 * asked, each giving what `featureEvaluator` gives on that date. What does not depend on the date is worked out
 * once for all of them: the current records, their days, and whether each record passes a feature's `where` (and
 * its aggregate's value), unless the expression reads the date (or the list as a whole), when it is run again.
 */
export function recordEvaluation(mapping: CompiledMapping, record: PatientRecord): RecordEvaluation {
  checkRecord(recordCheck(mapping), record);
  const lists = new PatientLists(record, true);
  return (dated) => featuresOn(dated, lists);
}

function checkRecord(check: RecordCheck, record: PatientRecord): void {
  const malformed = check(record);
  if (malformed) {
    throw new FeatureEvaluationError(malformed.feature, malformed.reason);
  }
}

function featuresOn(dated: DatedMapping, lists: PatientLists): PatientFeatures {
  const facts: Record<string, FactValue> = {};
  const evidence: Record<string, string[]> = {};
  for (const feature of dated.features) {
    try {
      const matched = select(feature, lists, dated.variables, dated.windows.get(feature), dated.asOf);
      const result = aggregate(feature, matched, lists, dated.variables);
      facts[feature.name] = result.value;
      evidence[feature.name] = result.evidence;
    } catch (err) {
      if (err instanceof FeatureEvaluationError) {
        throw err;
      }
      throw new FeatureEvaluationError(feature.name, evaluationFailure(err));
    }
  }
  return { facts, evidence };
}

type Variables = DatedMapping['variables'];

/**
 * One patient's current records per type, their days per date expression, and (when `remember`, for evaluations on
 * several dates) which records passed each `where` and each aggregate's value per record: each worked out once.
 */
class PatientLists {
  private readonly current = new Map<SourceType, Resource[]>();
  /** By date expression, then by types (`Encounter`, `MedicationRequest,MedicationStatement`) and, when it reads it, the date. */
  private readonly days = new Map<Evaluator, Map<string, (IsoDate | undefined)[]>>();
  private readonly passed = new Map<Evaluator, Map<Resource, boolean>>();
  private readonly values = new Map<Evaluator, Map<Resource, unknown>>();

  constructor(
    private readonly record: PatientRecord,
    private readonly remember: boolean
  ) {}

  /** The current records of the types, in the order given: one list for a feature over several types. */
  of(types: readonly SourceType[]): Resource[] {
    return types.length === 1 ? this.ofType(types[0] as SourceType) : types.flatMap((type) => this.ofType(type));
  }

  private ofType(type: SourceType): Resource[] {
    let list = this.current.get(type);
    if (!list) {
      list = type === 'Patient' ? [this.record.patient] : (this.record.resources[type] ?? []).filter(isCurrent);
      this.current.set(type, list);
    }
    return list;
  }

  /** The day of each resource of the feature's types by its `date`, in the order of `of(types)`. */
  daysOf(feature: CompiledFeature, variables: Variables): (IsoDate | undefined)[] {
    const date = feature.date as Evaluator;
    const key = feature.resources.join(',') + (readsDate(feature.spec).date ? `@${variables.asOfDate}` : '');
    return cached(
      cached(this.days, date, () => new Map()),
      key,
      () => this.of(feature.resources).map((resource) => londonDay(date(resource, variables)[0]))
    );
  }

  /**
   * The resources that pass the feature's `where`: remembered, clause by clause (a clause keeps what passes it, for
   * the next), each clause run only on the resources not yet known to pass or fail it.
   */
  kept(feature: CompiledFeature, resources: Resource[], variables: Variables): Set<Resource> {
    if (!this.remember || readsDate(feature.spec).where) {
      return new Set((feature.select as Evaluator)(resources, variables) as Resource[]);
    }
    let kept = resources;
    for (const clause of feature.where ?? [feature.select as Evaluator]) {
      kept = kept.length ? this.passing(clause, kept, variables) : kept;
    }
    return new Set(kept);
  }

  private passing(clause: Evaluator, resources: Resource[], variables: Variables): Resource[] {
    const known = cached(this.passed, clause, () => new Map());
    const unknown = resources.filter((r) => !known.has(r));
    if (unknown.length) {
      const passed = new Set(clause(unknown, variables) as Resource[]);
      unknown.forEach((r) => known.set(r, passed.has(r)));
    }
    return resources.filter((r) => known.get(r));
  }

  /** The first item of the aggregate's expression on one resource. */
  valueOf(feature: CompiledFeature, resource: Resource, variables: Variables): unknown {
    const value = feature.value as Evaluator;
    if (!this.remember || readsDate(feature.spec).value) {
      return value(resource, variables)[0];
    }
    const known = cached(this.values, value, () => new Map());
    return cached(known, resource, () => value(resource, variables)[0]);
  }
}

function cached<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  if (map.has(key)) {
    return map.get(key) as V;
  }
  const value = make();
  map.set(key, value);
  return value;
}

/**
 * Whether a feature's expressions read the evaluation date, or anything beyond the one record (`%context`, the
 * index in the list): such a result is worked out again on each date rather than kept.
 */
function readsDate(spec: FeatureSpec): { where: boolean; date: boolean; value: boolean } {
  let reads = readingDate.get(spec);
  if (!reads) {
    const test = (text: unknown) => text !== undefined && DATE_OR_CONTEXT.test(JSON.stringify(text));
    reads = { where: test(spec.where), date: test(spec.date), value: test(spec.aggregate) };
    readingDate.set(spec, reads);
  }
  return reads;
}

const DATE_OR_CONTEXT = /%asOfDate|%context|%resource|%rootResource|\$index|\$total/;
const readingDate = new WeakMap<FeatureSpec, { where: boolean; date: boolean; value: boolean }>();

/** First day of the look-back window ending on `asOf` (inclusive): 12 calendar months, not 365 days. */
export function windowStart(asOf: IsoDate, window: Duration): IsoDate {
  switch (window.unit) {
    case 'Y':
      return addMonths(asOf, -12 * window.amount);
    case 'M':
      return addMonths(asOf, -window.amount);
    case 'W':
      return addDays(asOf, -7 * window.amount);
    case 'D':
      return addDays(asOf, -window.amount);
  }
}

interface Dated {
  resource: Resource;
  day?: IsoDate;
}

function select(
  feature: CompiledFeature,
  lists: PatientLists,
  variables: Variables,
  start: IsoDate | undefined,
  asOf: IsoDate
): Dated[] {
  const all = lists.of(feature.resources);
  let dated: Dated[];
  if (feature.date) {
    const days = lists.daysOf(feature, variables);
    // No window: all history counts, but never what is dated after the evaluation date (`--now` in the past).
    const inWindow = start
      ? (day: IsoDate | undefined) => day !== undefined && day >= start && day <= asOf
      : (day: IsoDate | undefined) => day === undefined || day <= asOf;
    dated = all.map((resource, i) => ({ resource, day: days[i] })).filter((d) => inWindow(d.day));
  } else {
    dated = all.map((resource) => ({ resource }));
  }
  if (!feature.select || !dated.length) {
    return dated;
  }
  const kept = lists.kept(
    feature,
    dated.map((d) => d.resource),
    variables
  );
  return dated.filter((d) => kept.has(d.resource));
}

function aggregate(
  feature: CompiledFeature,
  matched: Dated[],
  lists: PatientLists,
  variables: Variables
): { value: FactValue; evidence: string[] } {
  const refs = (items: Dated[]): string[] => items.map((d) => `${d.resource.resourceType}/${d.resource.id}`);
  const valueOf = (d: Dated): FactValue | undefined => {
    const value = feature.value ? lists.valueOf(feature, d.resource, variables) : undefined;
    return value === undefined || value === null ? undefined : (value as FactValue);
  };
  switch (feature.aggregate.kind) {
    case 'count':
      return { value: matched.length, evidence: refs(matched) };
    case 'exists':
      return { value: matched.length > 0, evidence: refs(matched) };
    case 'countDistinct': {
      const withValue = matched.map((d) => ({ d, v: valueOf(d) })).filter((x) => x.v !== undefined);
      return { value: new Set(withValue.map((x) => distinctKey(x.v))).size, evidence: refs(withValue.map((x) => x.d)) };
    }
    case 'sum': {
      const numbers = matched.map((d) => ({ d, v: valueOf(d) })).filter((x) => typeof x.v === 'number');
      return { value: numbers.reduce((s, x) => s + (x.v as number), 0), evidence: refs(numbers.map((x) => x.d)) };
    }
    case 'min':
    case 'max': {
      const values = matched.map((d) => ({ d, v: valueOf(d) })).filter((x) => x.v !== undefined);
      if (!values.length) {
        return { value: null, evidence: [] };
      }
      const sign = feature.aggregate.kind === 'min' ? 1 : -1;
      const best = values.reduce((a, b) => ((a.v as number) * sign <= (b.v as number) * sign ? a : b));
      return { value: best.v as FactValue, evidence: refs([best.d]) };
    }
    case 'latest': {
      if (!matched.length) {
        return { value: null, evidence: [] };
      }
      const latest = matched.reduce((a, b) => ((b.day ?? '') >= (a.day ?? '') ? b : a));
      return { value: valueOf(latest) ?? null, evidence: refs([latest]) };
    }
  }
}

/** Values compared by content: two Codings with the same system and code are the same item. */
function distinctKey(value: unknown): string {
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

const VOID_STATUSES = new Set(['entered-in-error', 'cancelled']);

/** False for records that were entered in error or cancelled: they never count towards anything. */
function isCurrent(resource: Resource): boolean {
  const status = (resource as { status?: unknown }).status;
  if (typeof status === 'string' && VOID_STATUSES.has(status)) {
    return false;
  }
  const verification = (resource as { verificationStatus?: { coding?: { code?: string }[] } }).verificationStatus;
  return !verification?.coding?.some((c) => c.code === 'entered-in-error');
}
