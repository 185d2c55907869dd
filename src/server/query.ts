import {
  badRequest,
  getSearchParameters,
  isResourceType,
  OperationOutcomeError,
  splitSearchOnComma,
} from '@medplum/core';
import type { SearchParameter } from '@medplum/fhirtypes';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 1000;

/**
 * Search parameter types whose matching Medplum's in-memory matcher implements. A `number`, `quantity`, `composite`
 * or `special` parameter would silently match nothing, so it is refused instead.
 */
export const SUPPORTED_SEARCH_TYPES: ReadonlySet<string> = new Set(['reference', 'token', 'string', 'uri', 'date']);

/** Modifiers the matcher honours, per parameter type; any other modifier would be ignored, so it is refused. */
const SUPPORTED_MODIFIERS: Record<string, ReadonlySet<string>> = {
  reference: new Set(['', 'missing']),
  token: new Set(['', 'missing', 'not']),
  string: new Set(['', 'missing', 'contains']),
  uri: new Set(['', 'missing']),
  date: new Set(['', 'missing']),
};

/** Result parameters accepted as they are. `_total` is always accurate here; `_format`/`_pretty` change nothing. */
const ACCEPTED_RESULT_PARAMS = new Set(['_count', '_offset', '_sort', '_total', '_format', '_pretty', '_summary']);

/** `Type/id`, optionally versioned, or an absolute URL: never a bare id, which would be ambiguous. */
const REFERENCE_VALUE =
  /^(?:[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?|https?:\/\/\S+)$/;

function refuse(message: string): never {
  throw new OperationOutcomeError(badRequest(message));
}

/** The resource type named at the start of a path, refusing a name that is not an R4 resource type. */
export function checkResourceType(resourceType: string): void {
  if (!isResourceType(resourceType)) {
    refuse(`Unknown resource type '${resourceType}'`);
  }
}

/**
 * Refuses (400) a search the server would otherwise answer wrongly: unknown parameters, chained or reverse-chained
 * parameters, unsupported parameter types or modifiers, bare-id references, malformed result parameters. A wrong
 * query must never pass as "200, no results".
 */
export function checkSearchQuery(resourceType: string, params: Iterable<[string, string]>): void {
  checkResourceType(resourceType);
  const known = getSearchParameters(resourceType) ?? {};
  for (const [key, value] of params) {
    if (key.startsWith('_') && ACCEPTED_RESULT_PARAMS.has(key)) {
      checkResultParam(resourceType, key, value, known);
      continue;
    }
    if (key === '_has' || key.startsWith('_has:') || key.includes('.')) {
      refuse(`Chained and reverse-chained search parameters are not supported: '${key}'`);
    }
    const [code, modifier = ''] = key.split(':', 2) as [string, string?];
    const param = known[code];
    if (!param) {
      refuse(
        code.startsWith('_')
          ? `Search parameter '${code}' is not supported by this server`
          : `Unknown search parameter '${code}' for ${resourceType}`
      );
    }
    checkFilter(param, code, modifier, value);
  }
}

function checkFilter(param: SearchParameter, code: string, modifier: string, value: string): void {
  if (!SUPPORTED_SEARCH_TYPES.has(param.type)) {
    refuse(`Search parameter '${code}' has type '${param.type}', which this server does not support`);
  }
  if (!SUPPORTED_MODIFIERS[param.type]?.has(modifier)) {
    refuse(`Modifier ':${modifier}' is not supported on search parameter '${code}'`);
  }
  if (modifier === 'missing') {
    if (value !== 'true' && value !== 'false') {
      refuse(`':missing' takes true or false, not '${value}'`);
    }
    return;
  }
  if (param.type === 'reference') {
    for (const ref of splitSearchOnComma(value)) {
      if (!REFERENCE_VALUE.test(ref)) {
        refuse(`Search parameter '${code}' needs references of the form Type/id, not '${ref}'`);
      }
    }
  }
  if (value === '') {
    refuse(`Search parameter '${code}' has an empty value`);
  }
}

function checkResultParam(
  resourceType: string,
  key: string,
  value: string,
  known: Record<string, SearchParameter>
): void {
  switch (key) {
    case '_count':
    case '_offset':
      if (!/^\d+$/.test(value)) {
        refuse(`${key} must be a non-negative integer, not '${value}'`);
      }
      return;
    case '_sort':
      for (const field of value.split(',')) {
        const code = field.replace(/^-/, '');
        if (!known[code]) {
          refuse(`Cannot sort ${resourceType} by unknown parameter '${code}'`);
        }
      }
      return;
    case '_summary':
      if (value !== 'count') {
        refuse(`_summary=${value} is not supported (only _summary=count)`);
      }
      return;
    case '_total':
      if (!['none', 'estimate', 'accurate'].includes(value)) {
        refuse(`_total must be none, estimate or accurate, not '${value}'`);
      }
      return;
  }
}

/** The page a search asks for: `_count` defaults to 20 and is capped at 1,000; `_summary=count` asks for none. */
export function pageWindow(params: URLSearchParams): { count: number; offset: number } {
  const summaryCount = params.get('_summary') === 'count';
  const requested = params.has('_count') ? Number(params.get('_count')) : DEFAULT_PAGE_SIZE;
  return {
    count: summaryCount ? 0 : Math.min(requested, MAX_PAGE_SIZE),
    offset: params.has('_offset') ? Number(params.get('_offset')) : 0,
  };
}
