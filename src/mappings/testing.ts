import type { Patient, Resource } from '@medplum/fhirtypes';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readDefinitionFile, validateDefinition } from '../config/definition-file';
import { isIsoDate } from '../dates';
import type { FactValue, PatientRecord } from './evaluate';
import { FeatureEvaluationError, featureEvaluator } from './evaluate';
import type { CompiledMapping } from './load';
import { MappingError } from './load';
import { SOURCE_TYPES } from './schema';

const resourceSchema = z.looseObject({ resourceType: z.string(), id: z.string().optional() });

const testsSchema = z.strictObject({
  asOf: z.string().refine(isIsoDate, 'a date YYYY-MM-DD'),
  /** The Patient every case uses unless it gives its own. */
  patient: resourceSchema,
  cases: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        /** This case's evaluation date, when it differs from the file's. */
        asOf: z.string().refine(isIsoDate, 'a date YYYY-MM-DD').optional(),
        patient: resourceSchema.optional(),
        resources: z.array(resourceSchema).default([]),
        /** Expected feature values; features not listed are not checked. */
        expect: z.record(z.string(), z.union([z.number(), z.boolean(), z.string(), z.null()])),
        /** Expected evidence: the ids of the resources that produced a feature. */
        evidence: z.record(z.string(), z.array(z.string())).optional(),
      })
    )
    .min(1),
});

export interface MappingTestResult {
  name: string;
  passed: boolean;
  failures: string[];
}

/** The tests that ship beside a mapping (tests.yaml): hand-written resources and the features they must give. */
export function mappingTestsFile(mapping: CompiledMapping): string {
  return path.join(path.dirname(mapping.file), 'tests.yaml');
}

/** Runs a mapping's own test cases; an engineer runs them with `hfu mapping test` before going live. */
export function runMappingTests(mapping: CompiledMapping, file = mappingTestsFile(mapping)): MappingTestResult[] {
  if (!existsSync(file)) {
    return [{ name: file, passed: false, failures: ['no tests.yaml beside the mapping'] }];
  }
  let tests: z.output<typeof testsSchema>;
  try {
    const fail = (problems: string[]) => new MappingError(file, problems);
    tests = validateDefinition(readDefinitionFile(file, fail), testsSchema, fail);
  } catch (err) {
    if (!(err instanceof MappingError)) {
      throw err;
    }
    return [{ name: file, passed: false, failures: [...err.problems] }];
  }
  return tests.cases.map((testCase) => {
    const evaluate = featureEvaluator(mapping, testCase.asOf ?? tests.asOf);
    const failures: string[] = [];
    const unknown = Object.keys({ ...testCase.expect, ...testCase.evidence }).filter(
      (f) => !mapping.features.some((m) => m.name === f)
    );
    failures.push(...unknown.map((f) => `no feature '${f}' in mapping ${mapping.name}`));
    const record = recordOf(
      (testCase.patient ?? tests.patient) as unknown as Patient,
      testCase.resources as unknown as Resource[]
    );
    try {
      const { facts, evidence } = evaluate(record);
      for (const [feature, expected] of Object.entries(testCase.expect)) {
        const actual: FactValue | undefined = facts[feature];
        if (actual !== expected) {
          failures.push(`${feature}: expected ${String(expected)}, got ${String(actual)}`);
        }
      }
      for (const [feature, ids] of Object.entries(testCase.evidence ?? {})) {
        const actual = (evidence[feature] ?? []).map((ref) => ref.split('/')[1]).sort();
        if (actual.join(',') !== [...ids].sort().join(',')) {
          failures.push(`${feature} evidence: expected [${[...ids].sort().join(', ')}], got [${actual.join(', ')}]`);
        }
      }
    } catch (err) {
      if (!(err instanceof FeatureEvaluationError)) {
        throw err;
      }
      failures.push(`evaluation failed: ${err.message}`);
    }
    return { name: testCase.name, passed: failures.length === 0, failures };
  });
}

function recordOf(patient: Patient, resources: Resource[]): PatientRecord {
  const record: PatientRecord = { patient, resources: {} };
  for (const resource of resources) {
    if ((SOURCE_TYPES as readonly string[]).includes(resource.resourceType)) {
      const type = resource.resourceType as (typeof SOURCE_TYPES)[number];
      (record.resources[type] ??= []).push(resource);
    }
  }
  return record;
}
