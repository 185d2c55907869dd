import type { Patient, Resource } from '@medplum/fhirtypes';
import type { IsoDate } from '../dates';
import { addDays, addMonths, londonDay } from '../dates';
import { evaluationFailure } from '../expressions';
import { recordCheck } from './check';
import type { CompiledFeature, CompiledMapping } from './load';
import type { Evaluator } from '../expressions';
import type { Duration, SourceType } from './schema';

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
  const variables = { asOfDate: asOf };
  const windows = new Map(mapping.features.map((f) => [f.name, f.window ? windowStart(asOf, f.window) : undefined]));
  const check = recordCheck(mapping);
  return (record) => {
    const malformed = check(record);
    if (malformed) {
      throw new FeatureEvaluationError(malformed.feature, malformed.reason);
    }
    const facts: Record<string, FactValue> = {};
    const evidence: Record<string, string[]> = {};
    const lists = new PatientLists(record, variables);
    for (const feature of mapping.features) {
      try {
        const matched = select(feature, lists, variables, windows.get(feature.name), asOf);
        const result = aggregate(feature, matched, variables);
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
  };
}

/** One patient's current records per type, and their days per date expression, each worked out once. */
class PatientLists {
  private readonly current = new Map<SourceType, Resource[]>();
  /** By types (`Encounter`, `MedicationRequest,MedicationStatement`), then by date expression. */
  private readonly days = new Map<string, Map<Evaluator, (IsoDate | undefined)[]>>();

  constructor(
    private readonly record: PatientRecord,
    private readonly variables: Record<string, unknown>
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

  /** The day of each resource of `types` by `date`, in the order of `of(types)`. */
  daysOf(types: readonly SourceType[], date: Evaluator): (IsoDate | undefined)[] {
    const key = types.join(',');
    let byDate = this.days.get(key);
    if (!byDate) {
      byDate = new Map();
      this.days.set(key, byDate);
    }
    let days = byDate.get(date);
    if (!days) {
      days = this.of(types).map((resource) => londonDay(date(resource, this.variables)[0]));
      byDate.set(date, days);
    }
    return days;
  }
}

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
  variables: Record<string, unknown>,
  start: IsoDate | undefined,
  asOf: IsoDate
): Dated[] {
  const all = lists.of(feature.resources);
  let dated: Dated[];
  if (feature.date) {
    const days = lists.daysOf(feature.resources, feature.date);
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
  const kept = new Set(
    feature.select(
      dated.map((d) => d.resource),
      variables
    ) as Resource[]
  );
  return dated.filter((d) => kept.has(d.resource));
}

function aggregate(
  feature: CompiledFeature,
  matched: Dated[],
  variables: Record<string, unknown>
): { value: FactValue; evidence: string[] } {
  const refs = (items: Dated[]): string[] => items.map((d) => `${d.resource.resourceType}/${d.resource.id}`);
  const valueOf = (d: Dated): FactValue | undefined => {
    const value = feature.value?.(d.resource, variables)[0];
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
