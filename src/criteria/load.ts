import { existsSync } from 'node:fs';
import path from 'node:path';
import { readDefinitionFile, validateDefinition } from '../config/definition-file';
import { DefinitionError } from '../errors';
import type { Evaluator } from '../expressions';
import { compileExpression, ExpressionError } from '../expressions';
import type { TierId } from '../vocabulary';
import type { ProgrammeFile, Rule } from './schema';
import { programmeSchema } from './schema';
import { PACKAGE_ROOT } from '../package-root';

export const BUILT_IN_PROGRAMMES_DIR = path.join(PACKAGE_ROOT, 'programmes');
export const DEFAULT_PROGRAMME = 'nhse-hfu-2022';

/** Variables a programme expression may use: features, parameters and the patient's programme state. */
const VARIABLES = ['f', 'p', 'state'] as const;

export interface CompiledRule extends Rule {
  test: Evaluator;
  /** Features the rule reads (`%f.name`), whose evidence explains it. */
  features: string[];
}

export interface Programme {
  id: string;
  version: string;
  title: string;
  file: string;
  parameters: Readonly<Record<string, number>>;
  tiers: (CompiledRule & { id: TierId })[];
  riskFactors: CompiledRule[];
  exclusions: CompiledRule[];
  rankBy: string[];
  /** Dominant-risk scores (FHIRPath numbers over %f and %p): psychosocial and clinical. */
  allocation: { psychosocialScore: CompiledRule; clinicalScore: CompiledRule };
}

/** A programme that cannot be used: every problem, each naming the file and the rule. */
export class ProgrammeError extends DefinitionError {
  constructor(
    readonly file: string,
    problems: readonly string[]
  ) {
    super('programme', file, problems);
    this.name = 'ProgrammeError';
  }
}

export interface LoadProgrammeOptions {
  /** A built-in programme id or a path to a programme YAML file. */
  ref?: string;
  /** Site overrides of the programme's parameters (thresholds). */
  parameters?: Record<string, number>;
  /** Features the mapping provides: every `%f.name` a rule reads must be one. */
  features?: readonly string[];
}

export function loadProgramme(options: LoadProgrammeOptions = {}): Programme {
  const ref = options.ref ?? DEFAULT_PROGRAMME;
  const file = /^[a-z0-9-]+$/.test(ref) ? path.join(BUILT_IN_PROGRAMMES_DIR, `${ref}.yaml`) : path.resolve(ref);
  if (!existsSync(file)) {
    throw new ProgrammeError(file, ['no such programme file']);
  }
  const fail = (problems: string[]) => new ProgrammeError(file, problems);
  return compileProgramme(file, validateDefinition(readDefinitionFile(file, fail), programmeSchema, fail), options);
}

function compileProgramme(file: string, programme: ProgrammeFile, options: LoadProgrammeOptions): Programme {
  const problems: string[] = [];
  for (const name of Object.keys(options.parameters ?? {})) {
    if (!(name in programme.parameters)) {
      problems.push(
        `programme.parameters.${name}: not a parameter of ${programme.id} (${Object.keys(programme.parameters).join(', ')})`
      );
    }
  }
  const compile = <T extends Rule>(section: string, rules: T[]): (T & CompiledRule)[] =>
    rules.map((rule, i) => {
      const features = [...new Set([...rule.when.matchAll(/%f\.([A-Za-z][A-Za-z0-9]*)/g)].map((m) => m[1] as string))];
      for (const feature of features) {
        if (options.features && !options.features.includes(feature)) {
          problems.push(
            `${section}[${i}] (${rule.id}): reads feature '${feature}', which the mapping does not provide`
          );
        }
      }
      for (const [, name] of rule.when.matchAll(/%p\.([A-Za-z][A-Za-z0-9]*)/g)) {
        if (!((name as string) in programme.parameters)) {
          problems.push(`${section}[${i}] (${rule.id}): unknown parameter %p.${name}`);
        }
      }
      let test: Evaluator = () => [];
      try {
        test = compileExpression(rule.when, { variables: VARIABLES, fhirModel: false });
      } catch (err) {
        if (!(err instanceof ExpressionError)) {
          throw err;
        }
        problems.push(`${section}[${i}] (${rule.id}).when: ${err.message}`);
      }
      return { ...rule, test, features };
    });
  const compiled: Programme = {
    id: programme.id,
    version: programme.version,
    title: programme.title,
    file,
    parameters: { ...programme.parameters, ...options.parameters },
    tiers: compile('tiers', programme.tiers),
    riskFactors: compile('riskFactors', programme.riskFactors),
    exclusions: compile('exclusions', programme.exclusions),
    rankBy: programme.rankBy,
    allocation: (() => {
      const [psychosocialScore, clinicalScore] = compile('allocation', [
        { id: 'psychosocial-score', title: 'Psychosocial risk score', when: programme.allocation.psychosocialScore },
        { id: 'clinical-score', title: 'Clinical risk score', when: programme.allocation.clinicalScore },
      ]);
      return { psychosocialScore: psychosocialScore as CompiledRule, clinicalScore: clinicalScore as CompiledRule };
    })(),
  };
  if (problems.length) {
    throw new ProgrammeError(file, problems);
  }
  return compiled;
}
