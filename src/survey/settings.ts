import type { CompiledMapping } from '../mappings';
import type { SettingAdvice } from './report';
import type { Rest } from './rest';
import { interaction, searchParam, WRITTEN_TYPES } from './rest';

/** What the survey saw the server do, beyond what it declares. */
export interface Observed {
  /** Types read one patient at a time because the server refused a list of patients in one search. */
  refusedPatientLists: readonly string[];
}

/**
 * Where the programme's record is written: this server, or a separate target (`writeback.fhir`) with what it declares
 * (undefined when it gave no CapabilityStatement).
 */
export type WriteTarget = { kind: 'source' } | { kind: 'separate'; rest: Rest | undefined };

/**
 * The settings that follow from what the server (and a separate target) declares and what the survey saw it do: for
 * each, the value to use and why. `rest` is undefined when the server gave no CapabilityStatement: only what was seen
 * can be said then.
 */
export function settingsThatFollow(
  mapping: Pick<CompiledMapping, 'resourceTypes' | 'search'>,
  rest: Rest | undefined,
  observed: Observed,
  target: WriteTarget = { kind: 'source' }
): SettingAdvice[] {
  const settings: SettingAdvice[] = [subjectSearchAdvice(rest, observed)];
  const writes = target.kind === 'separate' ? target.rest : rest;
  const writer = target.kind === 'separate' ? 'the target (writeback.fhir)' : 'the server';
  settings.push(
    ...(writes
      ? writeAdvice(writes, writer, target.kind === 'separate')
      : [
          {
            setting: 'writeback.strategy',
            change: false,
            value: 'transaction',
            because: `${writer} did not answer GET metadata, so how it takes writes cannot be read; auto would fail`,
          },
        ])
  );
  if (!rest) {
    return settings;
  }
  settings.push(incrementalAdvice(mapping, rest), bulkAdvice(rest));
  const undated = mapping.resourceTypes.filter((type) => {
    const date = mapping.search[type]?.date;
    return date !== undefined && !searchParam(type, date)(rest);
  });
  if (undated.length) {
    settings.push({
      setting: 'extract.dateBounds',
      change: false,
      value: 'false, if searches with a date are refused',
      because: `the server does not declare the date parameter for ${undated.join(', ')}, which the searches use to read only the look-back window`,
    });
  }
  settings.push({
    setting: 'fhir.maxUrlLength',
    change: false,
    value: '8000 (the default) unless long searches fail',
    because:
      'a server’s URL length limit cannot be read from metadata; if searches for many patients fail (HTTP 414 or 400), lower it',
  });
  return settings;
}

function subjectSearchAdvice(rest: Rest | undefined, observed: Observed): SettingAdvice {
  const everything = rest?.patientOperations.has('everything') ?? false;
  if (observed.refusedPatientLists.length) {
    return {
      setting: 'extract.subjectSearch',
      change: true,
      value: everything ? 'everything (or per-patient)' : 'per-patient',
      because: `the server refused a list of patients in one search (${observed.refusedPatientLists.join(', ')})${
        everything ? '; it declares Patient/$everything, one request per patient for every type' : ''
      }`,
    };
  }
  return {
    setting: 'extract.subjectSearch',
    change: false,
    value: 'or-list (the default)',
    because: `whether the server takes a comma-separated list of patients cannot be read from metadata; it took the survey’s lists${
      everything ? '. It declares Patient/$everything: everything is possible too' : ''
    }`,
  };
}

/**
 * How the connector writes to `writer` (this server, or the separate target), or that it needs another target when
 * `writer` is read-only for it.
 */
function writeAdvice(rest: Rest, writer: string, separate: boolean): SettingAdvice[] {
  const another = separate ? 'another, writable endpoint' : 'a separate, writable endpoint';
  // A statement that lists no resources says nothing either way (as `writeback.strategy: auto` reads it).
  const listsResources = WRITTEN_TYPES.some((type) => rest.resources.has(type));
  const writable = (type: string) => interaction(type, 'create')(rest) && interaction(type, 'update')(rest);
  const unwritable = listsResources ? WRITTEN_TYPES.filter((type) => !writable(type)) : [];
  if (unwritable.length === WRITTEN_TYPES.length) {
    return [
      {
        setting: 'writeback.fhir',
        change: true,
        value: another,
        because: `${writer} declares no create or update of ${WRITTEN_TYPES.join(', ')}: it is read-only for the connector, so the programme’s own records must go to another store`,
      },
    ];
  }
  const advice: SettingAdvice[] = [];
  if (unwritable.length) {
    advice.push({
      setting: 'writeback.fhir',
      change: true,
      value: another,
      because: `${writer} declares no create or update of ${unwritable.join(', ')}`,
    });
  }
  const noConditional = WRITTEN_TYPES.filter(
    (type) => type !== 'Provenance' && rest.resources.get(type)?.conditionalCreate === false
  );
  if (noConditional.length) {
    advice.push({
      setting: 'writeback.fhir',
      change: true,
      value: separate ? 'another endpoint, with conditional create' : 'a separate endpoint with conditional create',
      because: `${writer} does not allow conditional create (If-None-Exist) of ${noConditional.join(', ')}: a re-run could duplicate them, and writeback.strategy auto refuses it`,
    });
  }
  const strategy = rest.interactions.has('transaction')
    ? { value: 'transaction (the default)', change: false, because: `${writer} declares transactions` }
    : rest.interactions.has('batch')
      ? { value: 'batch (or individual)', change: true, because: `${writer} declares batches but no transactions` }
      : { value: 'individual', change: true, because: `${writer} declares neither transactions nor batches` };
  advice.push({ setting: 'writeback.strategy', ...strategy, because: `${strategy.because}; auto picks the same` });
  return advice;
}

function incrementalAdvice(mapping: Pick<CompiledMapping, 'resourceTypes'>, rest: Rest): SettingAdvice {
  const missing = ['Patient', ...mapping.resourceTypes].filter((type) => !searchParam(type, '_lastUpdated')(rest));
  if (!missing.length) {
    return {
      setting: 'extract.incremental',
      change: false,
      value: 'true is possible',
      because:
        'the server declares _lastUpdated on every type read: later runs can read only the patients whose data changed',
    };
  }
  const bulk = rest.operations.has('export');
  return {
    setting: 'extract.incremental',
    change: false,
    value: bulk ? 'false, or true with extract.mode bulk' : 'false',
    because: `the server does not declare _lastUpdated on ${missing.join(', ')}: incremental reads by search are unavailable${
      bulk ? '; a Bulk Data export with _since still finds what changed' : ''
    }`,
  };
}

function bulkAdvice(rest: Rest): SettingAdvice {
  return rest.operations.has('export')
    ? {
        setting: 'extract.mode',
        change: false,
        value: 'search, or bulk',
        because: 'the server declares $export: one Bulk Data export can read the whole population',
      }
    : {
        setting: 'extract.mode',
        change: false,
        value: 'search (the default)',
        because: 'the server does not declare $export (Bulk Data)',
      };
}
