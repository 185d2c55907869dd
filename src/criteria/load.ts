import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { readDefinitionFile, validateDefinition } from '../config/definition-file';
import { DefinitionError } from '../errors';
import type { Evaluator } from '../expressions';
import { compileExpression, ExpressionError } from '../expressions';
import type { Code, TierId } from '../vocabulary';
import { CODE_SYSTEM, HFU_CODE, MANAGED_TAG } from '../vocabulary';
import type { LifecycleParameter, ProgrammeFile, Rule } from './schema';
import { LIFECYCLE_PARAMETERS, programmeSchema } from './schema';
import type { FeatureWording, MappingFeature } from './wording';
import { featureWording } from './wording';
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
  /** What clinicians call it in text the connector writes. */
  shortTitle: string;
  file: string;
  /** The code the patient's Flag carries while they are enrolled (in the project's code system). */
  flag: Code & { definition?: string };
  /** Thresholds and cadences, the site's overrides applied; every lifecycle parameter is among them. */
  parameters: Readonly<Record<string, number>> & Readonly<Record<LifecycleParameter, number>>;
  tiers: (CompiledRule & { id: TierId })[];
  riskFactors: CompiledRule[];
  /** `exit`: a patient in the programme leaves it while the exclusion holds. */
  exclusions: (CompiledRule & { exit: boolean })[];
  rankBy: string[];
  /** The figures a clinician reads first (feature names). */
  headline: string[];
  /** Features whose evidence a care plan addresses. */
  carePlanAddresses: string[];
  /** `hfu tune`'s default grid (parameter=from-to), when the programme declares one. */
  tune?: { rows: string; columns: string };
  /** How each feature the programme reads is put in plain English (from the mapping's titles and windows). */
  features: Readonly<Record<string, FeatureWording>>;
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
  /**
   * Features the mapping provides (its compiled features, or their names): every `%f.name` a rule reads must be one,
   * and their titles and windows word what the connector writes.
   */
  features?: readonly (string | MappingFeature)[];
}

export function loadProgramme(options: LoadProgrammeOptions = {}): Programme {
  const ref = options.ref ?? DEFAULT_PROGRAMME;
  const file = /^[a-z0-9-]+$/.test(ref) ? path.join(BUILT_IN_PROGRAMMES_DIR, `${ref}.yaml`) : path.resolve(ref);
  if (!existsSync(file)) {
    throw new ProgrammeError(file, [`no such programme file (built-in programmes: ${builtInProgrammes().join(', ')})`]);
  }
  const fail = (problems: string[]) => new ProgrammeError(file, problems);
  return compileProgramme(file, validateDefinition(readDefinitionFile(file, fail), programmeSchema, fail), options);
}

function compileProgramme(file: string, programme: ProgrammeFile, options: LoadProgrammeOptions): Programme {
  const problems = [...parameterProblems(programme, options.parameters ?? {}), ...flagProblems(programme)];
  const provided = options.features?.map((f) => (typeof f === 'string' ? f : f.name));
  const checkFeatures = (section: string, names: readonly string[]): void => {
    for (const name of names) {
      if (provided && !provided.includes(name)) {
        problems.push(`${section}: feature '${name}', which the mapping does not provide`);
      }
    }
  };
  const compile = <T extends Rule>(section: string, rules: T[]): (T & CompiledRule)[] =>
    rules.map((rule, i) => {
      const features = [...new Set([...rule.when.matchAll(/%f\.([A-Za-z][A-Za-z0-9]*)/g)].map((m) => m[1] as string))];
      for (const feature of features) {
        if (provided && !provided.includes(feature)) {
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
  const tiers = compile('tiers', programme.tiers);
  const headline = programme.headline ?? [...new Set(tiers.flatMap((t) => t.features))];
  checkFeatures('headline', headline);
  checkFeatures('carePlanAddresses', programme.carePlanAddresses);
  checkFeatures(
    'rankBy',
    programme.rankBy.filter((key) => key !== 'riskFactorCount')
  );
  const compiled: Programme = {
    id: programme.id,
    version: programme.version,
    title: programme.title,
    shortTitle: programme.shortTitle ?? programme.title,
    file,
    flag: { system: CODE_SYSTEM.hfu, ...programme.flag },
    parameters: { ...programme.parameters, ...options.parameters } as Programme['parameters'],
    tiers,
    riskFactors: compile('riskFactors', programme.riskFactors),
    exclusions: compile('exclusions', programme.exclusions),
    rankBy: programme.rankBy,
    headline,
    carePlanAddresses: programme.carePlanAddresses,
    ...(programme.tune ? { tune: programme.tune } : {}),
    features: featureWording(options.features ?? []),
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

/**
 * Overrides must name a parameter the programme declares; the programme must declare every lifecycle parameter;
 * lifecycle parameters, declared or overridden, are whole numbers of at least their minimum.
 */
function parameterProblems(programme: ProgrammeFile, overrides: Readonly<Record<string, number>>): string[] {
  const problems: string[] = [];
  const declared = Object.keys(programme.parameters);
  for (const name of Object.keys(overrides)) {
    if (!(name in programme.parameters)) {
      problems.push(`programme.parameters.${name}: not a parameter of ${programme.id} (${declared.join(', ')})`);
    }
  }
  for (const [key, text] of Object.entries(programme.tune ?? {})) {
    const name = text.split('=')[0] as string;
    if (!(name in programme.parameters)) {
      problems.push(`tune.${key}: ${name} is not a parameter of ${programme.id} (${declared.join(', ')})`);
    }
  }
  for (const [name, { min }] of Object.entries(LIFECYCLE_PARAMETERS)) {
    const wholeNumber = (value: number | undefined): boolean =>
      value === undefined || (Number.isInteger(value) && value >= min);
    if (!(name in programme.parameters)) {
      problems.push(`parameters.${name}: missing (the lifecycle reads it; declare it with its default)`);
    } else if (!wholeNumber(programme.parameters[name])) {
      problems.push(`parameters.${name}: must be a whole number of at least ${min}`);
    }
    if (!wholeNumber(overrides[name])) {
      problems.push(`programme.parameters.${name}: must be a whole number of at least ${min}, not ${overrides[name]}`);
    }
  }
  return problems;
}

/** The project's own codes in the code system the flag code joins, which no programme may take for its flag. */
const RESERVED_CODES: readonly string[] = [...Object.values(HFU_CODE), MANAGED_TAG].map((c) => c.code);

function flagProblems(programme: ProgrammeFile): string[] {
  return RESERVED_CODES.includes(programme.flag.code)
    ? [
        `flag.code: '${programme.flag.code}' is already a code of the project's code system (${RESERVED_CODES.join(', ')})`,
      ]
    : [];
}

/** The ids of the programmes that ship with the connector. */
export function builtInProgrammes(): string[] {
  return readdirSync(BUILT_IN_PROGRAMMES_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}
