import { longDate } from '../dates';
import type { Duration, FactValue } from '../mappings';
import type { Decision } from './decide';
import type { Programme } from './load';

/**
 * Text a clinician reads: features by their mapping titles, counts with the right noun, look-back windows and dates
 * as the NHS writes them ("1 unplanned admission and 14 repeat medicines in the 12 months to 1 December 2026").
 * Code names, rule ids and expressions stay in the JSON reports.
 */

/** How a mapping feature is put in words: a title ("Unplanned admissions"), a noun for counts, its window. */
export interface FeatureWording {
  title: string;
  /** One of what it counts ("unplanned admission"); the plural adds an s unless `plural` says otherwise. */
  noun?: string;
  plural?: string;
  /** The look-back window, ending on the evaluation date. */
  window?: Duration;
}

/** What a mapping says of a feature, as far as wording goes (a compiled mapping feature fits). */
export interface MappingFeature {
  name: string;
  spec: { title?: string; noun?: string; plural?: string };
  window?: Duration;
}

export function featureWording(features: readonly (string | MappingFeature)[]): Record<string, FeatureWording> {
  return Object.fromEntries(
    features.map((f) => {
      if (typeof f === 'string') {
        return [f, { title: titleFromName(f) }];
      }
      const { title, noun, plural } = f.spec;
      return [f.name, { title: title ?? titleFromName(f.name), noun, plural, window: f.window }];
    })
  );
}

/** `unplannedAdmissions` → "Unplanned admissions", for a feature the mapping gives no title. */
function titleFromName(name: string): string {
  const words = name.replace(/([a-z])([A-Z0-9])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function wordingOf(programme: Programme, feature: string): FeatureWording {
  return programme.features[feature] ?? { title: titleFromName(feature) };
}

/** The feature's title, for a label ("Unplanned admissions"). */
export function featureTitle(programme: Programme, feature: string): string {
  return wordingOf(programme, feature).title;
}

/** One value in words: "1 unplanned admission", "14 repeat medicines", "carer: yes", "age 80", "age: not recorded". */
export function figure(programme: Programme, feature: string, value: FactValue | undefined): string {
  const { title, noun, plural } = wordingOf(programme, feature);
  if (value === null || value === undefined) {
    return `${lowerFirst(title)}: not recorded`;
  }
  if (typeof value === 'boolean') {
    return `${lowerFirst(title)}: ${value ? 'yes' : 'no'}`;
  }
  if (typeof value === 'number' && noun) {
    return `${value.toLocaleString('en-GB')} ${value === 1 ? noun : (plural ?? `${noun}s`)}`;
  }
  return `${lowerFirst(title)} ${String(value)}`;
}

/**
 * Why the programme picked this patient, in one sentence: the programme's headline figures, grouped by look-back
 * window, ending on the evaluation date. Figures without a window (medicines on repeat today) join the first
 * window's group, as the guidance itself words it ("10 or more repeat medication items and 2 hospital admissions in
 * the previous 12 months").
 */
export function reasonSentence(programme: Programme, decision: Pick<Decision, 'facts'>, asOf: string): string {
  const firstWindow = programme.headline.map((f) => wordingOf(programme, f).window).find(Boolean);
  const groups = new Map<string, string[]>(); // by the window in words
  for (const feature of programme.headline) {
    const window = wordingOf(programme, feature).window ?? firstWindow;
    const key = window ? period(window) : '';
    groups.set(key, [...(groups.get(key) ?? []), figure(programme, feature, decision.facts[feature])]);
  }
  const date = longDate(asOf);
  if (!firstWindow) {
    return `${list([...groups.values()].flat())} on ${date}`;
  }
  const parts = [...groups].map(([window, figures]) => `${list(figures)} in the ${window}`);
  return `${parts.join(' and ')} to ${date}`;
}

/**
 * A candidate in a line: the tier's title, the reason and the risk factors by title. "Second priority: 1 unplanned
 * admission and 14 repeat medicines in the 12 months to 1 December 2026. Risk factors: Age over 75; Carer."
 */
export function candidateSummary(
  programme: Programme,
  decision: Pick<Decision, 'facts' | 'riskFactors'> & { tier?: string },
  asOf: string,
  tier = decision.tier
): string {
  const tierTitle = programme.tiers.find((t) => t.id === tier)?.title ?? 'Not a candidate';
  const risks = programme.riskFactors.filter((r) => decision.riskFactors.includes(r.id)).map((r) => r.title);
  return `${tierTitle}: ${reasonSentence(programme, decision, asOf)}.${risks.length ? ` Risk factors: ${risks.join('; ')}.` : ''}`;
}

/** An exclusion by its title ("Deceased"), for a reason a clinician reads; its id when the programme has no such rule. */
export function exclusionTitle(programme: Programme, id: string): string {
  return programme.exclusions.find((e) => e.id === id)?.title ?? id;
}

/** The values a rule read, in words: "2 unplanned admissions, 11 repeat medicines". */
export function valuesInWords(programme: Programme, values: Readonly<Record<string, FactValue>>): string {
  return Object.entries(values)
    .map(([feature, value]) => figure(programme, feature, value))
    .join(', ');
}

const UNITS: Record<Duration['unit'], string> = { Y: 'year', M: 'month', W: 'week', D: 'day' };

/** P12M → "12 months", P1M → "month", P1Y → "year", P30D → "30 days". */
export function period(window: Duration): string {
  const unit = UNITS[window.unit];
  return window.amount === 1 ? unit : `${window.amount} ${unit}s`;
}

/** "a", "a and b", "a, b and c". */
function list(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function lowerFirst(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text.charAt(0).toLowerCase() + text.slice(1) : text;
}
