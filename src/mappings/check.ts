import type { Resource } from '@medplum/fhirtypes';
import type { ElementCheck, MappingChecks } from './elements';
import { elementChecks } from './elements';
import type { PatientRecord } from './evaluate';
import type { CompiledMapping } from './load';
import { FHIR_ID, PRIMITIVES } from './primitives';

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
        if (typeof id !== 'string' || !FHIR_ID.test(id)) {
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
