import { OperationOutcomeError } from '@medplum/core';
import { checkSearchQuery, loadR4Definitions } from '../../../src/server';

beforeAll(() => loadR4Definitions());

function outcome(type: string, query: string): string {
  try {
    checkSearchQuery(type, new URLSearchParams(query).entries());
    return 'ok';
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      return err.outcome.issue?.[0]?.details?.text ?? 'refused';
    }
    throw err;
  }
}

describe('searches the server can answer correctly are accepted', () => {
  it.each([
    ['Encounter', 'subject=Patient/a,Patient/b&date=ge2025-11-23&_count=100&_offset=200'],
    ['Encounter', 'status:not=entered-in-error&class=IMP'],
    ['Task', 'identifier=https://id.test|abc&_tag=https://tag.test|hfu'],
    ['Patient', 'general-practitioner=Organization/y99001&_sort=-_lastUpdated'],
    ['Condition', 'patient=Patient/x&code=http://snomed.info/sct|44054006'],
    ['Patient', '_summary=count'],
    ['Flag', 'subject:missing=true'],
    ['Observation', 'subject=https://other.example/fhir/Patient/1'],
  ])('%s?%s', (type, query) => {
    expect(outcome(type, query)).toBe('ok');
  });
});

describe('searches that would silently go wrong are refused', () => {
  it.each([
    ['Encounter', 'foo=1', "Unknown search parameter 'foo'"],
    ['Encounter', 'subject=123', 'Type/id'],
    ['Encounter', 'subject=Patient/a,123', 'Type/id'],
    ['Encounter', 'subject.name=Smith', 'Chained'],
    ['Encounter', 'subject:Patient.name=Smith', 'Chained'],
    ['Patient', '_has:Observation:patient:code=1234', 'Chained'],
    ['Encounter', 'length=5', "type 'quantity'"],
    ['Encounter', 'code:text=x', "Unknown search parameter 'code'"],
    ['Encounter', 'status:exact=finished', "Modifier ':exact'"],
    ['Encounter', 'subject:Patient=123', "Modifier ':Patient'"],
    ['Encounter', '_include=Encounter:subject', "'_include' is not supported"],
    ['Encounter', '_revinclude=Provenance:target', "'_revinclude' is not supported"],
    ['Encounter', '_elements=id', "'_elements' is not supported"],
    ['Encounter', '_count=-1', '_count must be a non-negative integer'],
    ['Encounter', '_sort=nonsense', "unknown parameter 'nonsense'"],
    ['Encounter', '_summary=true', '_summary=true is not supported'],
    ['Encounter', 'status=', 'empty value'],
    ['Nonsense', 'x=1', "Unknown resource type 'Nonsense'"],
  ])('%s?%s', (type, query, message) => {
    expect(outcome(type, query)).toContain(message);
  });
});
