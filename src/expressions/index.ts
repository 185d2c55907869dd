import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';

/** A compiled FHIRPath expression: evaluate it against a resource (or a list of resources) with variables. */
export type Evaluator = (input: unknown, variables?: Record<string, unknown>) => unknown[];

export interface UserFunction {
  fn: (inputs: unknown[], ...params: never[]) => unknown[];
  arity: Record<number, string[]>;
}

export interface CompileOptions {
  /** Functions beyond FHIRPath's own (fhirpath.js userInvocationTable). */
  functions?: Record<string, UserFunction>;
  /** The `%`-variables the expression may use; any other is an error at load, not at run time. */
  variables: readonly string[];
  /** Evaluate with the FHIR R4 model (types, choice elements); false for expressions over plain facts. */
  fhirModel?: boolean;
}

/** Variables fhirpath.js itself defines. */
const BUILT_IN_VARIABLES = new Set([
  'ucum',
  'context',
  'resource',
  'rootResource',
  'sct',
  'loinc',
  'factory',
  'terminologies',
]);

/** A FHIRPath expression that cannot be used: the parser's or checker's message, without any data. */
export class ExpressionError extends Error {
  override name = 'ExpressionError';
}

/**
 * Compiles once, checking what fhirpath.js would only find while evaluating: unknown functions and undefined
 * variables. Errors carry the parser's message.
 */
export function compileExpression(expression: string, options: CompileOptions): Evaluator {
  let ast: unknown;
  try {
    ast = fhirpath.parse(expression);
  } catch (err) {
    throw new ExpressionError(cleanMessage(err));
  }
  const { functions, variables } = namesIn(ast);
  const userFunctions = options.functions ?? {};
  for (const name of functions) {
    if (!(name in userFunctions) && !isBuiltInFunction(name)) {
      throw new ExpressionError(`unknown function ${name}()`);
    }
  }
  for (const name of variables) {
    if (!options.variables.includes(name) && !BUILT_IN_VARIABLES.has(name) && !/^(vs|ext)-/.test(name)) {
      throw new ExpressionError(
        `unknown variable %${name} (available: ${options.variables.map((v) => '%' + v).join(', ') || 'none'})`
      );
    }
  }
  const compiled = fhirpath.compile(expression, options.fhirModel === false ? undefined : r4, {
    userInvocationTable: userFunctions as never,
  }) as unknown as (input: unknown, env?: Record<string, unknown>) => unknown[];
  return (input, env) => compiled(input, env ?? {});
}

/** A safe one-line reason for an evaluation failure: the failing operation, never the data it failed on. */
export function evaluationFailure(err: unknown): string {
  const message = cleanMessage(err);
  const operation = message.split(':')[0]?.trim() ?? 'evaluation';
  return /^[A-Za-z][A-Za-z ]{0,60}$/.test(operation) ? operation : 'evaluation error';
}

function cleanMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * FHIRPath's functions as fhirpath.js 5.2 implements them. `memberOf` is left out on purpose: it needs a terminology
 * server; mappings use their own explicit value sets through `inValueSet`.
 */
const BUILT_IN_FUNCTIONS: ReadonlySet<string> = new Set([
  'resolve',
  'empty',
  'not',
  'exists',
  'all',
  'allTrue',
  'anyTrue',
  'allFalse',
  'anyFalse',
  'subsetOf',
  'supersetOf',
  'isDistinct',
  'distinct',
  'count',
  'where',
  'extension',
  'select',
  'coalesce',
  'sort',
  'aggregate',
  'sum',
  'min',
  'max',
  'avg',
  'weight',
  'ordinal',
  'single',
  'first',
  'last',
  'type',
  'ofType',
  'is',
  'as',
  'tail',
  'take',
  'skip',
  'combine',
  'union',
  'intersect',
  'exclude',
  'iif',
  'trace',
  'defineVariable',
  'toInteger',
  'toLong',
  'toDecimal',
  'toString',
  'toDate',
  'toDateTime',
  'toTime',
  'toBoolean',
  'toQuantity',
  'hasValue',
  'getValue',
  'htmlChecks',
  'htmlchecks',
  'pathname',
  'convertsToBoolean',
  'convertsToInteger',
  'convertsToLong',
  'convertsToDecimal',
  'convertsToString',
  'convertsToDate',
  'convertsToDateTime',
  'convertsToTime',
  'convertsToQuantity',
  'indexOf',
  'lastIndexOf',
  'substring',
  'startsWith',
  'endsWith',
  'contains',
  'upper',
  'lower',
  'replace',
  'matches',
  'matchesFull',
  'replaceMatches',
  'length',
  'toChars',
  'join',
  'split',
  'trim',
  'encode',
  'decode',
  'escape',
  'unescape',
  'abs',
  'ceiling',
  'exp',
  'floor',
  'ln',
  'log',
  'power',
  'round',
  'sqrt',
  'truncate',
  'lowBoundary',
  'highBoundary',
  'now',
  'today',
  'timeOfDay',
  'yearOf',
  'monthOf',
  'dayOf',
  'hourOf',
  'minuteOf',
  'secondOf',
  'millisecondOf',
  'timezoneOffsetOf',
  'dateOf',
  'timeOf',
  'repeat',
  'children',
  'descendants',
]);

function isBuiltInFunction(name: string): boolean {
  return BUILT_IN_FUNCTIONS.has(name);
}

interface AstNode {
  type?: string;
  text?: string;
  children?: AstNode[];
}

function namesIn(ast: unknown): { functions: Set<string>; variables: Set<string> } {
  const functions = new Set<string>();
  const variables = new Set<string>();
  const visit = (node: AstNode): void => {
    if (node.type === 'FunctionInvocation' && node.text) {
      functions.add(node.text);
    } else if (node.type === 'ExternalConstantTerm' && node.text) {
      variables.add(node.text.replace(/^`|`$/g, ''));
    }
    node.children?.forEach(visit);
  };
  visit(ast as AstNode);
  return { functions, variables };
}
