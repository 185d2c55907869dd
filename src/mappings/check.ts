import type { Resource } from '@medplum/fhirtypes';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import type { PatientRecord } from './evaluate';
import type { CompiledMapping } from './load';
import type { SourceType } from './schema';

/**
 * Checks, before a patient is evaluated, every element of their record that a feature reads: the elements each
 * feature's `where`, `date` and aggregate expressions touch on its resource type (worked out from the expressions
 * against the FHIR R4 model), plus `status` and `verificationStatus`, which decide whether a record counts at all.
 * An element that is not what R4 says it is (a dateTime of "garbage", a Coding sent as a string) would otherwise
 * silently match nothing, or match when it should not, and change the patient's place in the programme; such a
 * patient is skipped instead. What to check is compiled once per mapping.
 */

/** One malformed element: the resource and the element, never the value. */
export interface MalformedElement {
  /** `Encounter/e1`, or the type alone when the resource has no usable id. */
  resource: string;
  /** The element as its JSON path: `period.start`, `deceasedDateTime`, `type.coding.code`. */
  element: string;
  /** The first feature that reads it. */
  feature: string;
  /** One line for logs and run reports. */
  reason: string;
}

export type RecordCheck = (record: PatientRecord) => MalformedElement | undefined;

/** What one element must look like, and the elements under it that the mapping reads. */
export interface ElementCheck {
  /** The JSON property: `period`, `deceasedDateTime`. */
  key: string;
  path: string;
  /** The R4 type: `dateTime`, `Coding`, `BackboneElement`. */
  type: string;
  repeating: boolean;
  feature: string;
  children: Map<string, ElementCheck>;
}

/** The elements the mapping reads, per resource type. */
export type MappingChecks = Map<SourceType, Map<string, ElementCheck>>;

/** Elements the record's own handling reads, whatever the features say (see `isCurrent` in evaluate.ts). */
const RECORD_ELEMENTS = ['status', 'verificationStatus.coding.code'];

const compiled = new WeakMap<CompiledMapping, RecordCheck>();

/** The check for a mapping, compiled on first use and kept as long as the mapping. */
export function recordCheck(mapping: CompiledMapping): RecordCheck {
  let check = compiled.get(mapping);
  if (!check) {
    check = checkFor(elementChecks(mapping));
    compiled.set(mapping, check);
  }
  return check;
}

/** The elements each resource type must have right, from the features' expressions. */
export function elementChecks(mapping: Pick<CompiledMapping, 'features'>): MappingChecks {
  const checks: MappingChecks = new Map();
  for (const feature of mapping.features) {
    const spec = feature.spec;
    const aggregate = 'expression' in feature.aggregate ? [feature.aggregate.expression] : [];
    let roots = checks.get(feature.resource);
    const first = !roots;
    if (!roots) {
      roots = new Map();
      checks.set(feature.resource, roots);
    }
    const expressions = [...[spec.where ?? []].flat(), ...(spec.date ? [spec.date] : []), ...aggregate];
    if (first && feature.resource !== 'Patient') {
      expressions.push(...RECORD_ELEMENTS);
    }
    const root = placeOf(feature.resource, feature.resource, { path: '', children: roots });
    const ctx = { resourceType: feature.resource, feature: feature.name };
    for (const expression of expressions) {
      read(visit(fhirpath.parse(expression) as AstNode, [root], ctx));
    }
  }
  for (const roots of checks.values()) {
    roots.forEach((check) => expandLeaves(check, LEAF_DEPTH));
  }
  return checks;
}

function checkFor(checks: MappingChecks): RecordCheck {
  const types = [...checks].map(([type, roots]) => ({
    type,
    validate: objectValidator(roots),
    feature: roots.values().next().value?.feature ?? type,
  }));
  return (record) => {
    for (const { type, validate, feature } of types) {
      const resources: Resource[] = type === 'Patient' ? [record.patient] : (record.resources[type] ?? []);
      for (const resource of resources) {
        const id = resource.id;
        if (typeof id !== 'string' || !ID.test(id)) {
          return { resource: type, element: 'id', feature, reason: `${type} with no valid id` };
        }
        const found = validate(resource as unknown as Record<string, unknown>);
        if (found) {
          const ref = `${type}/${id}`;
          const { check, problem } = found;
          return {
            resource: ref,
            element: check.path,
            feature: check.feature,
            reason: `${ref}: ${check.path} ${problem}`,
          };
        }
      }
    }
    return undefined;
  };
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

interface Found {
  check: ElementCheck;
  problem: string;
}

type Validator<T> = (value: T) => Found | undefined;

/**
 * Validators are closures compiled once per mapping, so the per-patient cost is property reads and the primitive
 * tests: an object is checked by reading the few keys the mapping reads, or, when there are many (an extension's
 * fifty value[x] variants), by looking up each of its own keys.
 */
function objectValidator(checks: Map<string, ElementCheck>): Validator<Record<string, unknown>> {
  const list = [...checks.values()].map((check) => ({ key: check.key, validate: elementValidator(check) }));
  if (list.length > 12) {
    const byKey = new Map(list.map((c) => [c.key, c.validate]));
    return (object) => {
      for (const key in object) {
        const found = byKey.get(key)?.(object[key]);
        if (found) {
          return found;
        }
      }
      return undefined;
    };
  }
  return (object) => {
    for (const { key, validate } of list) {
      const value = object[key];
      const found = value === undefined ? undefined : validate(value);
      if (found) {
        return found;
      }
    }
    return undefined;
  };
}

function elementValidator(check: ElementCheck): Validator<unknown> {
  const item = itemValidator(check);
  if (!check.repeating) {
    const notSingle = { check, problem: `is not a single ${check.type}` };
    return (value) => (Array.isArray(value) ? notSingle : item(value));
  }
  const notList = { check, problem: `is not a list of ${check.type}` };
  return (value) => {
    if (!Array.isArray(value)) {
      return notList;
    }
    for (const entry of value as unknown[]) {
      const found = item(entry);
      if (found) {
        return found;
      }
    }
    return undefined;
  };
}

function itemValidator(check: ElementCheck): Validator<unknown> {
  const primitive = PRIMITIVES[check.type];
  if (primitive) {
    const invalid = { check, problem: `is not a valid ${check.type}` };
    return (value) => (primitive(value) ? undefined : invalid);
  }
  const notObject = { check, problem: `is not a ${check.type}` };
  const children = check.children.size ? objectValidator(check.children) : undefined;
  return (value) => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      return notObject;
    }
    return children?.(value as Record<string, unknown>);
  };
}

// FHIR R4 primitive formats (https://hl7.org/fhir/R4/datatypes.html). A dateTime or instant with a time but no
// offset is accepted: dates are placed as London days, and a local time is already London's (see `londonDay`).
const YEAR = '(?!0000)\\d{4}';
const DATE = new RegExp(`^${YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\\d|3[01]))?)?$`);
const TIME = '([01]\\d|2[0-3]):[0-5]\\d:([0-5]\\d|60)(\\.\\d+)?';
const OFFSET = '(Z|[+-]((0\\d|1[0-3]):[0-5]\\d|14:00))';
const DATE_TIME = new RegExp(`^${YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\\d|3[01])(T${TIME}${OFFSET}?)?)?)?$`);
const INSTANT = new RegExp(`^${YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])T${TIME}${OFFSET}?$`);

const isString = (v: unknown): v is string => typeof v === 'string';
/** A full date must also be a real calendar day (no 31 April, no 29 February 2026); the format is checked first. */
function realDay(v: string): boolean {
  if (v.length < 10) {
    return true;
  }
  const digit = (i: number): number => v.charCodeAt(i) - 48;
  const day = digit(8) * 10 + digit(9);
  if (day <= 28) {
    return true; // the common case, with no arithmetic (and no Date) on the hot path
  }
  const month = digit(5) * 10 + digit(6);
  if (month === 2) {
    const year = Number(v.slice(0, 4));
    return day === 29 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  }
  return day <= 30 || LONG_MONTHS.has(month);
}
const LONG_MONTHS = new Set([1, 3, 5, 7, 8, 10, 12]);
const isUri = (v: unknown): boolean => isString(v) && /^\S*$/.test(v);

const PRIMITIVES: Record<string, (value: unknown) => boolean> = {
  boolean: (v) => typeof v === 'boolean',
  integer: (v) => Number.isInteger(v),
  positiveInt: (v) => Number.isInteger(v) && (v as number) > 0,
  unsignedInt: (v) => Number.isInteger(v) && (v as number) >= 0,
  decimal: (v) => typeof v === 'number' && Number.isFinite(v),
  string: isString,
  markdown: isString,
  xhtml: isString,
  base64Binary: isString,
  code: (v) => isString(v) && /^[^\s]+(\s[^\s]+)*$/.test(v),
  id: (v) => isString(v) && ID.test(v),
  uri: isUri,
  url: isUri,
  canonical: isUri,
  oid: isUri,
  uuid: isUri,
  date: (v) => isString(v) && DATE.test(v) && realDay(v),
  dateTime: (v) => isString(v) && DATE_TIME.test(v) && realDay(v),
  instant: (v) => isString(v) && INSTANT.test(v) && realDay(v),
  time: (v) => isString(v) && new RegExp(`^${TIME}$`).test(v),
  'System.String': isString,
  'System.Boolean': (v) => typeof v === 'boolean',
};

// ---- What the expressions touch: a walk of the FHIRPath syntax tree over the R4 model ----

interface Model {
  path2Type: Record<string, string>;
  path2Repeating: Record<string, boolean>;
  choiceTypePaths: Record<string, string[]>;
  pathsDefinedElsewhere: Record<string, string>;
}
const MODEL = r4 as unknown as Model;

interface AstNode {
  type: string;
  text?: string;
  children?: AstNode[];
}

/**
 * Where an expression's items can be: the model path their children are listed under and their type. The element is
 * added to the checks only when the expression reads it (`node()`), so `effective.ofType(dateTime)` checks
 * effectiveDateTime and not the choice's other variants, which the expression drops unread.
 */
interface Place {
  modelPath: string;
  type: string;
  node(): CheckNode;
}

interface CheckNode {
  path: string;
  children: Map<string, ElementCheck>;
}

interface Context {
  resourceType: string;
  feature: string;
}

/** Functions whose argument is evaluated on each item of the input (`$this`). */
const LAMBDAS = new Set(['where', 'select', 'exists', 'all', 'repeat', 'sort']);
/** Functions that give back (some of) their input. */
const PASS_THROUGH = new Set(['where', 'first', 'last', 'tail', 'take', 'skip', 'distinct', 'single', 'trace']);
/** Functions that give back their input and the collections in their arguments. */
const COMBINING = new Set(['combine', 'union', 'intersect', 'exclude', 'coalesce']);

/** Elements read by value (compared, counted distinct, given to a function): all their parts are checked. */
const readWhole = new WeakSet<CheckNode>();

/** The expression reads these elements' values. */
const read = (places: Place[]): void => places.forEach((place) => readWhole.add(place.node()));
/** The expression asks only whether these elements are there (`exists()`, `count()`): their shape is checked. */
const present = (places: Place[]): void => places.forEach((place) => place.node());
/** Given to inValueSet / valueSetsOf (functions.ts), which read a Coding's system and code, or a bare code. */
function readCodes(places: Place[], ctx: Context): void {
  for (const place of places) {
    place.node();
    const codings = [place, ...member(place, 'coding', ctx)].filter((p) => p === place || p.type === 'Coding');
    for (const coding of codings) {
      read(['system', 'code'].flatMap((name) => member(coding, name, ctx)).filter((p) => p.type in PRIMITIVES));
    }
  }
}

/** Functions that ask only whether their input is there, or how many. */
const EXISTENCE = new Set([
  'exists',
  'empty',
  'count',
  'hasValue',
  'all',
  'allTrue',
  'anyTrue',
  'allFalse',
  'anyFalse',
]);
/** Functions of the mapping's own that read codings (functions.ts). */
const CODE_FUNCTIONS = new Set(['inValueSet', 'valueSetsOf']);

/** The places an expression's result can be at; what it reads on the way is added to the checks. */
function visit(node: AstNode, self: Place[], ctx: Context): Place[] {
  const children = node.children ?? [];
  switch (node.type) {
    case 'EntireExpression':
    case 'TermExpression':
    case 'ParenthesizedTerm':
    case 'UnionExpression':
      return children.flatMap((child) => visit(child, self, ctx));
    case 'InvocationTerm':
      return invoke(children[0] as AstNode, self, self, ctx);
    case 'InvocationExpression':
      return invoke(children[1] as AstNode, visit(children[0] as AstNode, self, ctx), self, ctx);
    case 'IndexerExpression':
      read(visit(children[1] as AstNode, self, ctx));
      return visit(children[0] as AstNode, self, ctx);
    case 'TypeExpression': {
      const input = visit(children[0] as AstNode, self, ctx);
      return node.text === 'as' ? ofType(input, children[1]?.text) : (present(input), []);
    }
    default: // literals, variables, operators: the operands are read, the result is no element
      children.forEach((child) => read(visit(child, self, ctx)));
      return [];
  }
}

function invoke(invocation: AstNode, input: Place[], self: Place[], ctx: Context): Place[] {
  switch (invocation.type) {
    case 'MemberInvocation':
      return input.flatMap((place) => member(place, invocation.text as string, ctx));
    case 'ThisInvocation':
      return self;
    case 'FunctionInvocation':
      return call(invocation, input, self, ctx);
    default:
      read(input);
      return [];
  }
}

function call(invocation: AstNode, input: Place[], self: Place[], ctx: Context): Place[] {
  const name = invocation.text as string;
  const functn = invocation.children?.[0];
  const params = functn?.children?.find((c) => c.type === 'ParamList')?.children ?? [];
  if (name === 'ofType' || name === 'as') {
    return ofType(input, params[0]?.text);
  }
  if (name === 'extension') {
    const extensions = input.flatMap((place) => member(place, 'extension', ctx));
    extensions.forEach((extension) => read(member(extension, 'url', ctx))); // the url picks the extension
    return extensions;
  }
  const results = params.map((param) => visit(param, LAMBDAS.has(name) ? input : self, ctx));
  if (name === 'select' || name === 'repeat') {
    present(input);
    return results.flat();
  }
  if (COMBINING.has(name)) {
    return [...input, ...results.flat()];
  }
  if (name === 'iif') {
    read(results[0] ?? []);
    return results.slice(1).flat();
  }
  if (PASS_THROUGH.has(name)) {
    results.forEach(read);
    return input;
  }
  if (EXISTENCE.has(name)) {
    present(input);
  } else if (CODE_FUNCTIONS.has(name)) {
    readCodes(input, ctx);
  } else {
    read(input); // ageOn(), toString(), matches(), ...
  }
  results.forEach(read);
  return [];
}

function ofType(input: Place[], typeName: string | undefined): Place[] {
  const wanted = (typeName ?? '').replace(/^(FHIR|System)\./, '').toLowerCase();
  return input.filter((place) => place.type.replace(/^System\./, '').toLowerCase() === wanted);
}

/** The element `name` under a place: every variant of a choice element. */
function member(place: Place, name: string, ctx: Context): Place[] {
  if (name === ctx.resourceType && place.modelPath === ctx.resourceType) {
    return [place]; // `Encounter.class` written with the type
  }
  const modelPath = `${place.modelPath}.${name}`;
  const type = MODEL.path2Type[modelPath];
  if (type) {
    return [child(place, name, type, modelPath, ctx)];
  }
  return (MODEL.choiceTypePaths[modelPath] ?? []).map((variant) =>
    child(place, name + variant, choiceType(variant), modelPath, ctx)
  );
}

function child(parent: Place, key: string, type: string, modelPath: string, ctx: Context): Place {
  const anonymous = type === 'BackboneElement' || type === 'Element';
  let check: ElementCheck | undefined;
  return {
    modelPath: anonymous ? (MODEL.pathsDefinedElsewhere[modelPath] ?? modelPath) : type,
    type,
    node: () => {
      if (!check) {
        const under = parent.node();
        check = under.children.get(key) ?? {
          key,
          path: under.path ? `${under.path}.${key}` : key,
          type,
          repeating: MODEL.path2Repeating[modelPath] === true,
          feature: ctx.feature,
          children: new Map(),
        };
        under.children.set(key, check);
      }
      return check;
    },
  };
}

/** A place whose node already exists: the root of a resource type, or an element being expanded. */
function placeOf(modelPath: string, type: string, node: CheckNode): Place {
  return { modelPath, type, node: () => node };
}

/** `DateTime` → `dateTime`, `CodeableConcept` stays: the model capitalises every type of a choice. */
function choiceType(variant: string): string {
  const lower = (variant[0] ?? '').toLowerCase() + variant.slice(1);
  return lower in PRIMITIVES ? lower : variant;
}

/** How far below an element read by value its parts are checked: CodeableConcept.coding.code. */
const LEAF_DEPTH = 2;
const NOT_EXPANDED = new Set(['id', 'extension', 'modifierExtension']);

/** An element read by value (`code = %coding`, `countDistinct(code)`) has its parts checked, `depth` levels down. */
function expandLeaves(check: ElementCheck, depth: number): void {
  check.children.forEach((child) => expandLeaves(child, depth));
  if (readWhole.has(check)) {
    expand(check, depth);
  }
}

function expand(check: ElementCheck, depth: number): void {
  if (depth === 0 || check.type in PRIMITIVES || check.type.startsWith('System.')) {
    return;
  }
  const place = placeOf(check.type, check.type, check);
  for (const name of childNames(check.type)) {
    for (const part of member(place, name, { resourceType: '', feature: check.feature })) {
      expand(part.node() as ElementCheck, depth - 1);
    }
  }
}

let namesByType: Map<string, string[]> | undefined;

/** The elements of a data type (`Coding` → system, version, code, display, userSelected), from the model. */
function childNames(type: string): string[] {
  if (!namesByType) {
    namesByType = new Map();
    for (const path of [...Object.keys(MODEL.path2Type), ...Object.keys(MODEL.choiceTypePaths)]) {
      const [owner, name, ...rest] = path.split('.');
      if (owner && name && !rest.length && !NOT_EXPANDED.has(name)) {
        namesByType.set(owner, [...(namesByType.get(owner) ?? []), name]);
      }
    }
  }
  return namesByType.get(type) ?? [];
}
