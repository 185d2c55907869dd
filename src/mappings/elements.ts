import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import type { CompiledFeature, CompiledMapping } from './load';
import { PRIMITIVES } from './primitives';
import type { SourceType } from './schema';

/**
 * The elements a mapping reads, per resource type, worked out from its features' `where`, `date` and aggregate
 * expressions: a walk of each expression's FHIRPath syntax tree over the FHIR R4 model (fhirpath.js's own), which
 * follows members, choice types (`ofType`), extensions and the functions that pass their input on. What an
 * expression reads by value is checked down to its parts; what it only tests for existence, by its shape.
 */

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

/** The elements each resource type must have right, from the features' expressions. */
export function elementChecks(mapping: Pick<CompiledMapping, 'features'>): MappingChecks {
  const checks: MappingChecks = new Map();
  for (const feature of mapping.features) {
    for (const type of feature.resources) {
      addFeatureChecks(checks, feature, type);
    }
  }
  for (const roots of checks.values()) {
    roots.forEach((check) => expandLeaves(check, LEAF_DEPTH));
  }
  return checks;
}

/** What one feature's expressions read on one of its types; on a type that lacks an element, nothing. */
function addFeatureChecks(checks: MappingChecks, feature: CompiledFeature, type: SourceType): void {
  const spec = feature.spec;
  const aggregate = 'expression' in feature.aggregate ? [feature.aggregate.expression] : [];
  let roots = checks.get(type);
  const first = !roots;
  if (!roots) {
    roots = new Map();
    checks.set(type, roots);
  }
  const expressions = [...[spec.where ?? []].flat(), ...(spec.date ? [spec.date] : []), ...aggregate];
  if (first && type !== 'Patient') {
    expressions.push(...RECORD_ELEMENTS);
  }
  const root = placeOf(type, type, { path: '', children: roots });
  const ctx = { resourceType: type, feature: feature.name };
  for (const expression of expressions) {
    read(visit(fhirpath.parse(expression) as AstNode, [root], ctx));
  }
}

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
  /** Told of a member the type does not have, and of each `ofType()` (the load-time path check, paths.ts). */
  hooks?: WalkHooks;
}

/** For the load-time check of element paths (paths.ts); the record check needs none. */
export interface WalkHooks {
  /** `name` is no element of `at` (its JSON path below the resource, '' for the resource itself) of type `type`. */
  noSuchElement(at: string, type: string, modelPath: string, name: string): void;
  /** `ofType(typeName)` over an input at `at` (JSON paths: every variant of a choice) of `types`, keeping none? */
  ofType(at: string[], types: string[], typeName: string, keptNone: boolean): void;
}

/**
 * Walks one expression over `resourceType` as `elementChecks` does, for what it cannot follow (`hooks`): the
 * load-time check of element paths.
 */
export function walkExpression(resourceType: string, expression: string, hooks: WalkHooks): void {
  const root = placeOf(resourceType, resourceType, { path: '', children: new Map() });
  visit(fhirpath.parse(expression) as AstNode, [root], { resourceType, feature: '', hooks });
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
function readCodes(places: Place[], expressionCtx: Context): void {
  const ctx = { ...expressionCtx, hooks: undefined }; // probing for codings, not members the expression names
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
      return node.text === 'as' ? ofType(input, children[1]?.text, ctx) : (present(input), []);
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
    return ofType(input, params[0]?.text, ctx);
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

function ofType(input: Place[], typeName: string | undefined, ctx: Context): Place[] {
  const wanted = (typeName ?? '').replace(/^(FHIR|System)\./, '').toLowerCase();
  const kept = input.filter((place) => place.type.replace(/^System\./, '').toLowerCase() === wanted);
  if (input.length && ctx.hooks) {
    const at = input.map((p) => p.node().path);
    ctx.hooks.ofType(at, [...new Set(input.map((p) => p.type))], typeName ?? '', !kept.length);
  }
  return kept;
}

/** The element `name` under a place: every variant of a choice element. */
function member(place: Place, name: string, ctx: Context): Place[] {
  if (name === ctx.resourceType && place.modelPath === ctx.resourceType) {
    return [place]; // `Encounter.class` written with the type
  }
  const modelPath = `${place.modelPath}.${name}`;
  // An element defined elsewhere (`Consent.provision.provision` is a `Consent.provision`) is a backbone element there.
  const type = MODEL.path2Type[modelPath] ?? (MODEL.pathsDefinedElsewhere[modelPath] ? 'BackboneElement' : undefined);
  if (type) {
    return [child(place, name, type, modelPath, ctx)];
  }
  const variants = MODEL.choiceTypePaths[modelPath];
  if (!variants) {
    ctx.hooks?.noSuchElement(place.node().path, place.type, place.modelPath, name);
  }
  return (variants ?? []).map((variant) => child(place, name + variant, choiceType(variant), modelPath, ctx));
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

let namesByOwner: Map<string, string[]> | undefined;

/**
 * The element names under a model path: a type (`Coding` → system, version, code, ...) or a backbone element
 * (`Encounter.hospitalization`), from the model; a choice element by its base name (`value`) and each variant.
 */
export function elementNames(modelPath: string): string[] {
  if (!namesByOwner) {
    namesByOwner = new Map();
    for (const path of [...Object.keys(MODEL.path2Type), ...Object.keys(MODEL.choiceTypePaths)]) {
      const dot = path.lastIndexOf('.');
      const owner = path.slice(0, dot);
      const names = namesByOwner.get(owner) ?? [];
      names.push(path.slice(dot + 1));
      namesByOwner.set(owner, names);
    }
  }
  return namesByOwner.get(modelPath) ?? [];
}

/** The elements of a data type (`Coding` → system, version, code, display, userSelected), from the model. */
function childNames(type: string): string[] {
  return elementNames(type).filter((name) => !NOT_EXPANDED.has(name));
}
