import type { ValueSet } from '@medplum/fhirtypes';
import path from 'node:path';
import { readDefinitionFile, validateDefinition } from '../config/definition-file';
import { DefinitionError } from '../errors';
import type { Evaluator } from '../expressions';
import { compileExpression, ExpressionError } from '../expressions';
import { mappingFunctions } from './functions';
import type { Aggregate, Duration, FeatureSpec, MappingFile, SourceType } from './schema';
import { mappingSchema, parseAggregate, parseDuration, resourceTypesOf } from './schema';
import type { CodeLists } from './valuesets';
import { loadValueSets } from './valuesets';
import { locateMapping } from './locate';
import { elementPathProblems } from './paths';

export { BUILT_IN_MAPPINGS_DIR } from './locate';

/** Variables every mapping expression may use. */
export const MAPPING_VARIABLES = ['asOfDate'] as const;

export interface CompiledFeature {
  name: string;
  spec: FeatureSpec;
  /** The first (most often the only) type the feature reads. */
  resource: SourceType;
  /** Every type the feature reads: its `where`, `date` and aggregate run over their resources as one list. */
  resources: SourceType[];
  /** Applied to the whole list of a patient's resources of the type at once: `where(<where>)`, chained for a list. */
  select?: Evaluator;
  /** The same test one `where(<where>)` at a time, so that a clause two features share is run once on a record. */
  where?: Evaluator[];
  date?: Evaluator;
  window?: Duration;
  aggregate: Aggregate;
  /** The aggregate's expression (countDistinct/sum/min/max/latest), per resource. */
  value?: Evaluator;
}

export interface CompiledMapping {
  name: string;
  description: string;
  file: string;
  search: MappingFile['search'];
  features: CompiledFeature[];
  valueSets: ValueSet[];
  codeLists: CodeLists;
  /** Resource types other than Patient that the features read, searched per chunk of patients. */
  resourceTypes: SourceType[];
}

/** A mapping that cannot be used: every problem, each naming the file and the feature. */
export class MappingError extends DefinitionError {
  constructor(
    readonly file: string,
    problems: readonly string[]
  ) {
    super('mapping', file, problems);
    this.name = 'MappingError';
  }
}

/** A built-in name (`uk-core`), a mapping folder or a path to a mapping YAML file. */
export function resolveMappingFile(ref: string): string {
  return locateMapping(ref).file;
}

/** Reads, validates and compiles a mapping: every expression is compiled once, here, so a broken one never runs. */
export function loadMapping(ref: string): CompiledMapping {
  const { file, problem } = locateMapping(ref);
  if (problem) {
    throw new MappingError(file, [problem]);
  }
  const fail = (problems: string[]) => new MappingError(file, problems);
  const mapping = validateDefinition(readDefinitionFile(file, fail), mappingSchema, fail);
  const { lists, valueSets, problems } = loadValueSets(path.resolve(path.dirname(file), mapping.valueSets));
  const functions = mappingFunctions(lists);
  // One evaluator per distinct expression: features that place their resources by the same `date` (or filter by the
  // same `where`) then share each patient's days (and kept resources) instead of working them out once each.
  const evaluators = new Map<string, Evaluator>();
  const shared = (expression: string): Evaluator => {
    const evaluator =
      evaluators.get(expression) ?? compileExpression(expression, { functions, variables: MAPPING_VARIABLES });
    evaluators.set(expression, evaluator);
    return evaluator;
  };
  const features: CompiledFeature[] = [];
  for (const [name, spec] of Object.entries(mapping.features)) {
    const compile = (part: string, expression: string): Evaluator | undefined => {
      try {
        const evaluator = shared(expression);
        problems.push(
          ...elementPathProblems(expression, resourceTypesOf(spec)).map((p) => `features.${name}.${part}: ${p}`)
        );
        return evaluator;
      } catch (err) {
        if (err instanceof ExpressionError) {
          problems.push(`features.${name}.${part}: ${err.message}`);
          return undefined;
        }
        throw err;
      }
    };
    const aggregate = parseAggregate(spec.aggregate);
    problems.push(
      ...valueSetReferences(spec, lists).map((id) => `features.${name}: no value set '${id}' in ${mapping.valueSets}/`)
    );
    const resources = resourceTypesOf(spec);
    const clauses = [spec.where ?? []].flat().map((w) => `where(${w})`);
    const select = clauses.length ? compile('where', clauses.join('.')) : undefined;
    features.push({
      name,
      spec,
      resource: resources[0] as SourceType,
      resources,
      select,
      // each clause is part of the whole, which compiled: checked already
      where: select ? clauses.map((clause) => shared(clause)) : undefined,
      date: spec.date ? compile('date', spec.date) : undefined,
      window: spec.window ? parseDuration(spec.window) : undefined,
      aggregate,
      value: 'expression' in aggregate ? compile('aggregate', aggregate.expression) : undefined,
    });
  }
  if (problems.length) {
    throw new MappingError(file, problems);
  }
  return {
    name: mapping.name,
    description: mapping.description,
    file,
    search: mapping.search,
    features,
    valueSets,
    codeLists: lists,
    resourceTypes: [...new Set(features.flatMap((f) => f.resources))].filter((t) => t !== 'Patient'),
  };
}

/** Value set ids named in inValueSet('...') calls, so a typo fails at load rather than on the first patient. */
function valueSetReferences(spec: FeatureSpec, lists: CodeLists): string[] {
  const text = [spec.where, spec.date, spec.aggregate].flat().filter(Boolean).join(' ');
  return [...text.matchAll(/inValueSet\('([^']+)'\)/g)].map((m) => m[1] as string).filter((id) => !lists.has(id));
}
