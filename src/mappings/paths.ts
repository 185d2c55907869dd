import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';

/**
 * Element paths of mapping expressions, checked against the R4 definitions of the resource type at load. FHIRPath
 * itself accepts any name (`class.cod` is valid and simply empty), so a misspelt element would silently empty a
 * feature and, with it, the cohort. The check follows the types along each path: choice elements (`value[x]`, as
 * `value` or `valueQuantity`), backbone elements, `extension(url)`, `ofType()` / `as`, and the arguments of
 * `where()`, `select()` and the like over the items they filter. Where the type cannot be known (after `resolve()`,
 * a contained resource, a function's result) the check stops rather than guess.
 *
 * The definitions are fhirpath.js's R4 model (generated from the R4 StructureDefinitions), the very model the
 * expressions are evaluated with, already in memory: Medplum's indexed StructureDefinitions would add ~1.5 s and
 * ~55 MB to every run, which otherwise never loads them.
 */

interface AstNode {
  type: string;
  text?: string;
  children?: AstNode[];
}

/** What an expression evaluates to: the FHIR types it may hold (undefined: not known) and a path for messages. */
interface Focus {
  types?: string[];
  path: string;
}

/** Functions whose arguments are evaluated over the items of their input (fhirpath.js `Expr`, `ExprAtCurrent`). */
const OVER_INPUT = new Set([
  'where',
  'select',
  'exists',
  'all',
  'repeat',
  'aggregate',
  'iif',
  'coalesce',
  'sort',
  'trace',
  'defineVariable',
]);
/** Functions that return (part of) their input, with the input's types. */
const SAME_TYPES = new Set([
  'where',
  'first',
  'last',
  'tail',
  'take',
  'skip',
  'single',
  'distinct',
  'trace',
  'defineVariable',
  'intersect',
  'exclude',
  'sort',
]);
/** Functions returning their input and their argument together. */
const COMBINING = new Set(['combine', 'union']);
/** Element types that may hold any resource: the check stops there until an `ofType()` names one. */
const ANY_RESOURCE = new Set(['Resource', 'DomainResource']);
/** Variables that hold the resource the expression is evaluated on. */
const RESOURCE_VARIABLES = new Set(['resource', 'rootResource', 'context']);

/** Every element path of `expression` that its resource type does not have, as one message each. */
export function elementPathProblems(expression: string, resourceType: string): string[] {
  const problems: string[] = [];
  new PathChecker(resourceType, problems).walk(fhirpath.parse(expression) as AstNode, {
    types: [resourceType],
    path: resourceType,
  });
  return [...new Set(problems)];
}

class PathChecker {
  constructor(
    private readonly resourceType: string,
    private readonly problems: string[]
  ) {}

  /** The focus `node` evaluates to, `scope` being `$this`. */
  walk(node: AstNode, scope: Focus): Focus {
    const children = node.children ?? [];
    switch (node.type) {
      case 'EntireExpression':
      case 'ParenthesizedTerm':
        return children[0] ? this.walk(children[0], scope) : unknown('');
      case 'TermExpression':
        return this.term(children[0] as AstNode, scope);
      case 'InvocationExpression':
        return this.invoke(children[1] as AstNode, this.walk(children[0] as AstNode, scope), scope, false);
      case 'IndexerExpression':
        this.walk(children[1] as AstNode, scope);
        return this.walk(children[0] as AstNode, scope);
      case 'UnionExpression':
        return union(this.walk(children[0] as AstNode, scope), this.walk(children[1] as AstNode, scope));
      case 'TypeExpression': {
        const operand = this.walk(children[0] as AstNode, scope);
        return node.text === 'as' ? this.typeFocus(children[1]?.text ?? '', operand) : unknown('');
      }
      default:
        // Operators (=, and, in, +, ...): their operands are checked; what they return is not an element.
        children.forEach((child) => this.walk(child, scope));
        return unknown('');
    }
  }

  private term(term: AstNode, scope: Focus): Focus {
    const child = term.children?.[0];
    switch (term.type) {
      case 'InvocationTerm':
        return child ? this.invoke(child, scope, scope, true) : unknown('');
      case 'ParenthesizedTerm':
        return this.walk(term, scope);
      case 'ExternalConstantTerm': {
        const name = term.text ?? '';
        return RESOURCE_VARIABLES.has(name) ? { types: [this.resourceType], path: `%${name}` } : unknown(`%${name}`);
      }
      default:
        return unknown('');
    }
  }

  /** A member or function applied to `input` (`atRoot`: written with no input, so over `$this`). */
  private invoke(invocation: AstNode, input: Focus, scope: Focus, atRoot: boolean): Focus {
    switch (invocation.type) {
      case 'MemberInvocation': {
        const name = (invocation.text ?? '').replace(/^`|`$/g, '');
        if (atRoot && name === this.resourceType) {
          return { types: [name], path: name };
        }
        return this.member(input, name);
      }
      case 'FunctionInvocation':
        return this.call(invocation.children?.[0] as AstNode, input, scope);
      case 'ThisInvocation':
        return scope;
      default:
        return unknown('');
    }
  }

  private call(functn: AstNode, input: Focus, scope: Focus): Focus {
    const name = functn.children?.[0]?.text ?? '';
    const params = functn.children?.[1]?.children ?? [];
    const path = `${input.path}.${name}()`;
    if (name === 'ofType' || name === 'as') {
      return this.typeFocus(params[0]?.text ?? '', input);
    }
    if (name === 'is') {
      return unknown(path);
    }
    const argumentScope = OVER_INPUT.has(name) ? input : scope;
    const results = params.map((param, i) => this.walk(param, name === 'aggregate' && i > 0 ? scope : argumentScope));
    if (name === 'extension') {
      return { types: ['Extension'], path };
    }
    if (SAME_TYPES.has(name)) {
      return input; // a filter: the same element, so the same path (`coding.where(...).code` is `coding.code`)
    }
    if (name === 'select') {
      return { ...(results[0] ?? unknown('')), path };
    }
    if (COMBINING.has(name)) {
      return union(input, results[0] ?? unknown(''));
    }
    const branches = name === 'iif' ? results.slice(1) : name === 'coalesce' ? results : [];
    if (branches.length) {
      return { ...branches.reduce(union), path };
    }
    return unknown(path);
  }

  /** `ofType(T)` / `as T`: the named type, which must be one FHIR knows (`dateTime`, not `DateTime`). */
  private typeFocus(typeName: string, input: Focus): Focus {
    const name = typeName.replace(/^FHIR\./, '');
    const path = `${input.path}.ofType(${name})`;
    if (name.startsWith('System.')) {
      return unknown(path);
    }
    const known = input.types?.length && !input.types.some(isOpenType) ? input.types : undefined;
    if (!MODEL.availableTypes.has(name)) {
      this.problems.push(
        `${path}: no FHIR type '${name}'${suggestion(name, [...(known ?? []), ...MODEL.availableTypes])}`
      );
      return unknown(path);
    }
    if (!known) {
      return { types: [name], path };
    }
    const narrowed = known.filter((t) => isA(t, name)); // `onset.ofType(Quantity)` is the onset that is an Age
    if (!narrowed.length) {
      this.problems.push(`${path}: ${input.path} is never a ${name} (it is ${known.join(', ')})`);
      return unknown(path);
    }
    return { types: narrowed, path };
  }

  private member(input: Focus, name: string): Focus {
    const path = `${input.path}.${name}`;
    if (!input.types?.length || input.types.some(isOpenType)) {
      return unknown(path);
    }
    const found = input.types.map((t) => elementTypes(t, name));
    if (found.some((types) => types?.length)) {
      return { types: [...new Set(found.flatMap((types) => types ?? []))], path };
    }
    const owner = input.types.join(' | ');
    const names = input.types.flatMap((t) => [...(elementIndex().get(t) ?? [])]);
    this.problems.push(`${path}: ${owner} has no element '${name}'${suggestion(name, names)}`);
    return unknown(path);
  }
}

/** fhirpath.js's R4 model: element paths to types (`Encounter.class` → `Coding`), choice elements, parents. */
const MODEL = r4 as unknown as {
  path2Type: Record<string, string>;
  choiceTypePaths: Record<string, string[]>;
  pathsDefinedElsewhere: Record<string, string>;
  type2Parent: Record<string, string | undefined>;
  availableTypes: Set<string>;
};

/**
 * The types of element `name` of `type`: a type name, or for a backbone element its path (`Encounter.hospitalization`),
 * whose own elements the model lists under that path. Undefined when there is no such element.
 */
function elementTypes(type: string, name: string): string[] | undefined {
  const at = `${type}.${name}`;
  const elsewhere = MODEL.pathsDefinedElsewhere[at];
  if (elsewhere) {
    return [elsewhere];
  }
  const choices = MODEL.choiceTypePaths[at];
  if (choices) {
    return choices.map((suffix) => MODEL.path2Type[at + suffix] ?? suffix);
  }
  const declared = MODEL.path2Type[at];
  if (!declared) {
    return undefined;
  }
  return (declared === 'BackboneElement' || declared === 'Element') && elementIndex().has(at) ? [at] : [declared];
}

/** Types whose elements cannot be known from the path: any resource, or a FHIRPath system type. */
function isOpenType(type: string): boolean {
  return ANY_RESOURCE.has(type) || type.startsWith('System.') || !elementIndex().has(type);
}

let index: Map<string, Set<string>> | undefined;

/** The element names of every type and backbone path, choice elements by their base name first. */
function elementIndex(): Map<string, Set<string>> {
  if (!index) {
    index = new Map();
    const add = (path: string): void => {
      const dot = path.lastIndexOf('.');
      const owner = path.slice(0, dot);
      const names = index?.get(owner) ?? new Set<string>();
      names.add(path.slice(dot + 1));
      index?.set(owner, names);
    };
    Object.keys(MODEL.choiceTypePaths).forEach(add);
    Object.keys(MODEL.path2Type).forEach(add);
  }
  return index;
}

/** Whether `type` is `ancestor` or derives from it (an Age is a Quantity, a code a string), as fhirpath.js sees it. */
function isA(type: string, ancestor: string): boolean {
  if (type.includes('.')) {
    return ancestor === 'BackboneElement' || ancestor === 'Element'; // a backbone element, named by its path
  }
  for (let t: string | undefined = type; t; t = MODEL.type2Parent[t]) {
    if (t === ancestor) {
      return true;
    }
  }
  return false;
}

function unknown(path: string): Focus {
  return { path };
}

function union(a: Focus, b: Focus): Focus {
  const path = a.path && b.path ? `(${a.path} | ${b.path})` : a.path || b.path;
  return a.types && b.types ? { types: [...new Set([...a.types, ...b.types])], path } : { path };
}

/** ` (nearest: 'code')`: the closest of `names` by edit distance, if any is close enough to be a likely typo. */
export function suggestion(name: string, names: readonly string[]): string {
  const nearest = nearestName(name, names);
  return nearest ? ` (nearest: '${nearest}')` : '';
}

export function nearestName(name: string, names: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of new Set(names)) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (!best || distance < best.distance) {
      best = { name: candidate, distance };
    }
  }
  return best && best.distance <= Math.max(2, Math.floor(name.length / 3)) ? best.name : undefined;
}

/** Levenshtein distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(
        Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost)
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
}
