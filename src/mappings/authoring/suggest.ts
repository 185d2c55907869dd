import { UsageError } from '../../errors';
import type { CompiledMapping } from '../load';

/** The parts of `hfu survey --json` that suggestions are drawn from. */
export interface SurveyFindings {
  unrecognised: { field: string; value: string; count: number; features: string[]; lists: string[] }[];
  unusedExtensions: { resource: string; path: string; url: string; count: number }[];
  /** Record types present that the mapping does not read (MedicationStatement where it reads MedicationRequest). */
  unreadTypes?: { resourceType: string; count?: number }[];
}

/** The engineer's decision for one code: `2E=emergency-admission-methods` (or `system|2E=...`). */
export interface Assignment {
  value: string;
  list: string;
}

/** A code added to one of the copy's value sets, because the engineer assigned it there. */
export interface AddCode {
  kind: 'add-code';
  valueSet: string;
  system: string;
  code: string;
  count: number;
  fields: string[];
}

/** A `where` clause that also reads a local extension holding what the mapping reads from a standard one. */
export interface ReadExtension {
  kind: 'read-extension';
  feature: string;
  /** Index of the clause in the feature's `where` list (0 for a single clause). */
  clause: number;
  standardUrl: string;
  localUrl: string;
  /** Resources in the sample carrying the local extension. */
  count: number;
  /** The local extension's codes the mapping's lists already hold: they count once the clause reads it. */
  placed: { value: string; count: number; lists: string[] }[];
}

export type Proposal = AddCode | ReadExtension;

/** A value the mapping cannot place that only the engineer can decide (which list, if any). */
export interface Decision {
  value: string;
  count: number;
  fields: string[];
  /** The lists it could go in (the mapping's lists of its code system); empty when none. */
  lists: string[];
  reason: string;
}

export interface SuggestPlan {
  proposals: Proposal[];
  decisions: Decision[];
}

/** A problem with the engineer's input (an assignment that names no surveyed code or a list it cannot go in). */
export class SuggestionError extends UsageError {
  override name = 'SuggestionError';
}

/**
 * Places where real feeds put what a standard extension holds. A local extension is taken as holding the same thing
 * only when its url says so (`.../admission-method`): the survey reads its values from the same pattern.
 */
const RELOCATIONS = [
  {
    resource: 'Encounter',
    field: 'Encounter.extension:localAdmissionMethod',
    standardUrl: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-AdmissionMethod',
    looksLike: /admission[-_ ]?method/i,
  },
] as const;

type Mapping = Pick<CompiledMapping, 'features' | 'codeLists'>;

/**
 * What a survey's findings would change in a copy of the mapping. Codes are added to a list only where the engineer
 * assigned them (a local code's meaning cannot be inferred from the data); everything else unplaced is a decision.
 */
export function suggestChanges(
  findings: SurveyFindings,
  mapping: Mapping,
  assignments: readonly Assignment[] = []
): SuggestPlan {
  const reads = readExtensionProposals(findings, mapping);
  const values = groupByValue(findings.unrecognised);
  // The fields of local extensions a proposed clause will read: their codes already in a list need no decision.
  const readFields = new Set<string>(
    RELOCATIONS.filter((r) => reads.some((p) => p.standardUrl === r.standardUrl)).map((r) => r.field)
  );
  const ambiguous = assignments.find(
    (a) => !a.value.includes('|') && values.filter((v) => splitValue(v.value)[1] === a.value).length > 1
  );
  if (ambiguous) {
    throw new SuggestionError(`--assign ${ambiguous.value}: seen in more than one code system; give system|code`);
  }
  const used = new Set<Assignment>();
  const proposals: Proposal[] = [...reads];
  const decisions: Decision[] = [];
  for (const entry of values) {
    const [system, code] = splitValue(entry.value);
    const placed = system && code ? listsHolding(mapping, system, code) : [];
    if (placed.length && entry.fields.every((f) => readFields.has(f))) {
      continue; // already in a list: counted once the proposed clause reads the local extension
    }
    const assigned = assignments.filter((a) => a.value === entry.value || (code !== undefined && a.value === code));
    if (assigned.length && system && code) {
      for (const assignment of assigned) {
        if (!entry.lists.includes(assignment.list)) {
          throw new SuggestionError(
            `--assign ${assignment.value}=${assignment.list}: ${assignment.list} is not one of the mapping's lists for ${system}` +
              (entry.lists.length ? ` (${entry.lists.join(', ')})` : ' (it has none)')
          );
        }
        used.add(assignment);
        proposals.push({
          kind: 'add-code',
          valueSet: assignment.list,
          system,
          code,
          count: entry.count,
          fields: entry.fields,
        });
      }
      continue;
    }
    decisions.push({ ...entry, reason: decisionReason(entry, Boolean(system && code)) });
  }
  const unused = assignments.filter((a) => !used.has(a));
  if (unused.length) {
    throw new SuggestionError(
      `--assign ${unused.map((a) => a.value).join(', ')}: not a code the survey found unrecognised` +
        ' (give system|code when a code appears in more than one code system)'
    );
  }
  for (const type of findings.unreadTypes ?? []) {
    decisions.push({
      value: type.resourceType,
      count: type.count ?? 0,
      fields: [],
      lists: [],
      reason: 'records of a type the mapping does not read: a feature reading it needs writing by hand',
    });
  }
  return { proposals, decisions };
}

function readExtensionProposals(findings: SurveyFindings, mapping: Mapping): ReadExtension[] {
  const proposals: ReadExtension[] = [];
  for (const relocation of RELOCATIONS) {
    const locals = findings.unusedExtensions.filter(
      (x) => x.resource === relocation.resource && relocation.looksLike.test(x.url)
    );
    const byUrl = new Map<string, number>();
    locals.forEach((x) => byUrl.set(x.url, (byUrl.get(x.url) ?? 0) + x.count));
    const placed = groupByValue(findings.unrecognised.filter((u) => u.field === relocation.field)).flatMap((v) => {
      const [system, code] = splitValue(v.value);
      const lists = system && code ? listsHolding(mapping, system, code) : [];
      return lists.length ? [{ value: v.value, count: v.count, lists }] : [];
    });
    for (const feature of mapping.features.filter((f) => f.resource === relocation.resource)) {
      const clauses = [feature.spec.where ?? []].flat();
      clauses.forEach((clause, index) => {
        if (!clause.includes(`extension('${relocation.standardUrl}')`)) {
          return;
        }
        for (const [localUrl, count] of byUrl) {
          proposals.push({
            kind: 'read-extension',
            feature: feature.name,
            clause: index,
            standardUrl: relocation.standardUrl,
            localUrl,
            count,
            placed,
          });
        }
      });
    }
  }
  return proposals;
}

/** The clause rewritten to read the local extension as well: the original, or the same test on the local url. */
export function clauseReadingAlso(clause: string, standardUrl: string, localUrl: string): string {
  const local = clause.split(`extension('${standardUrl}')`).join(`extension('${localUrl}')`);
  return `(${clause.trim()})\nor (${local.trim()})`;
}

interface ValueFinding {
  value: string;
  count: number;
  fields: string[];
  lists: string[];
}

/** One entry per value: the same code may be unrecognised in two places (hospitalization and a local extension). */
function groupByValue(entries: SurveyFindings['unrecognised']): ValueFinding[] {
  const byValue = new Map<string, ValueFinding>();
  for (const entry of entries) {
    const found = byValue.get(entry.value) ?? { value: entry.value, count: 0, fields: [], lists: [] };
    found.count += entry.count;
    found.fields.push(entry.field);
    found.lists = [...new Set([...found.lists, ...entry.lists])].sort();
    byValue.set(entry.value, found);
  }
  return [...byValue.values()];
}

/** `system|code` → [system, code]; a bare code or a code system alone → [undefined, value] / [value, undefined]. */
function splitValue(value: string): [string | undefined, string | undefined] {
  const bar = value.lastIndexOf('|');
  if (bar < 0) {
    return /^(https?|urn):/.test(value) ? [value, undefined] : [undefined, value];
  }
  return [value.slice(0, bar), value.slice(bar + 1)];
}

function listsHolding(mapping: Mapping, system: string, code: string): string[] {
  return [...mapping.codeLists]
    .filter(([, codes]) => codes.has(`${system}|${code}`))
    .map(([id]) => id)
    .sort();
}

function decisionReason(entry: ValueFinding, isCode: boolean): string {
  if (!isCode) {
    return 'a code system or bare code the mapping does not name: change the feature by hand if it should count';
  }
  if (!entry.lists.length) {
    return 'the mapping has no list for this code system: add one by hand if it should count';
  }
  return `its meaning is local: if it belongs in a list, re-run with --assign ${entry.value.split('|').pop()}=<list> (one of ${entry.lists.join(', ')})`;
}

/** `2E=emergency-admission-methods` → an assignment; a clear error otherwise. */
export function parseAssignment(text: string): Assignment {
  const eq = text.lastIndexOf('=');
  const value = text.slice(0, eq).trim();
  const list = text.slice(eq + 1).trim();
  if (eq < 0 || !value || !/^[a-z0-9-]+$/.test(list)) {
    throw new SuggestionError(`--assign ${text}: expected CODE=LIST, e.g. 2E=emergency-admission-methods`);
  }
  return { value, list };
}
