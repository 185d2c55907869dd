import type { CapabilityStatement, CapabilityStatementRestResource, CarePlan } from '@medplum/fhirtypes';
import { ConfigError } from '../../../src/config';
import { strategyFor } from '../../../src/writeback';
import { withoutReferences } from '../../../src/writeback/stepwise';

const writable = (type: string): CapabilityStatementRestResource => ({
  type: type as CapabilityStatementRestResource['type'],
  interaction: [{ code: 'read' }, { code: 'create' }, { code: 'update' }],
  conditionalCreate: true,
});

function capabilities(
  interactions: ('transaction' | 'batch')[],
  resources: CapabilityStatementRestResource[] = ['Task', 'Flag', 'CarePlan', 'Group', 'Provenance'].map(writable)
): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-11-23',
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [{ mode: 'server', resource: resources, interaction: interactions.map((code) => ({ code })) }],
  };
}

describe('strategyFor (writeback.strategy auto)', () => {
  it('takes a transaction where declared, else a batch, else one request at a time', () => {
    expect(strategyFor(capabilities(['transaction', 'batch']))).toBe('transaction');
    expect(strategyFor(capabilities(['transaction']))).toBe('transaction');
    expect(strategyFor(capabilities(['batch']))).toBe('batch');
    expect(strategyFor(capabilities([]))).toBe('individual');
  });

  it('reads a server that lists no resources as saying nothing against writing', () => {
    expect(strategyFor(capabilities([], []))).toBe('individual');
  });

  it('refuses, naming the key, a server that cannot create, update or conditionally create what it writes', () => {
    const readOnlyTask = { ...writable('Task'), interaction: [{ code: 'read' as const }] };
    const noConditional = { ...writable('Flag'), conditionalCreate: false };
    const refuse = () => strategyFor(capabilities(['transaction'], [readOnlyTask, noConditional, writable('Group')]));
    expect(refuse).toThrow(ConfigError);
    expect(refuse).toThrow(/writeback\.strategy/);
    expect(refuse).toThrow(/create or update of Task/);
    expect(refuse).toThrow(/conditional create of Flag/);
  });
});

describe('withoutReferences (a create that breaks a cycle)', () => {
  it('drops each Reference to a resource not yet created, with the element that holds it, and nothing else', () => {
    const plan = {
      resourceType: 'CarePlan',
      status: 'active',
      intent: 'plan',
      subject: { reference: 'Patient/p1' },
      activity: [{ reference: { reference: 'urn:uuid:task' } }, { reference: { reference: 'Task/t0' } }],
      addresses: [{ reference: 'urn:uuid:task' }],
    } as CarePlan;
    expect(withoutReferences(plan, new Set(['urn:uuid:task']))).toEqual({
      resourceType: 'CarePlan',
      status: 'active',
      intent: 'plan',
      subject: { reference: 'Patient/p1' },
      activity: [{ reference: { reference: 'Task/t0' } }],
    });
  });
});
