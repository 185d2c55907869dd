import { createHash, randomUUID } from 'node:crypto';
import type { AuditEvent, AuditEventEntity } from '@medplum/fhirtypes';
import type { FhirClient } from '../fhir';
import { AUDIT_CODE, MANAGED_TAG, PROFILE } from '../vocabulary';
import { connector } from '../writeback';
import type { WorkspaceUser } from './types';

/** What a user did, for the AuditEvent that records it; `patient` as the record refers to them (`Patient/<id>`). */
export type AuditedAction =
  | { kind: 'view'; patient: string }
  | { kind: 'decision'; patient: string; review: string; version: string; decision: string };

const SYSTEMS = {
  type: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
  interaction: 'http://hl7.org/fhir/restful-interaction',
  entityType: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
  objectRole: 'http://terminology.hl7.org/CodeSystem/object-role',
  sourceType: 'http://terminology.hl7.org/CodeSystem/security-source-type',
  participation: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
  purpose: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
} as const;

/**
 * The AuditEvent of one view or decision: who (the user, as the requestor), when, which patient, what. A decision's
 * id derives from the review version it wrote, so recording it again (a retried request) writes the same event; every
 * view is an event of its own.
 */
export function auditEvent(user: WorkspaceUser, action: AuditedAction, recorded: string): AuditEvent {
  const view = action.kind === 'view';
  const code = view ? AUDIT_CODE.patientViewed : AUDIT_CODE.decisionRecorded;
  const entities: AuditEventEntity[] = [
    {
      what: { reference: action.patient },
      type: { system: SYSTEMS.entityType, code: '1', display: 'Person' },
      role: { system: SYSTEMS.objectRole, code: '1', display: 'Patient' },
    },
  ];
  if (action.kind === 'decision') {
    entities.push({
      what: { reference: `${action.review}/_history/${action.version}` },
      type: { system: SYSTEMS.entityType, code: '2', display: 'System Object' },
      role: { system: SYSTEMS.objectRole, code: '4', display: 'Domain Resource' },
      description: action.decision,
    });
  }
  return {
    resourceType: 'AuditEvent',
    id: view ? randomUUID() : decisionEventId(action.review, action.version),
    meta: { profile: [PROFILE.auditEvent], tag: [MANAGED_TAG] },
    type: { system: SYSTEMS.type, code: 'rest', display: 'RESTful Operation' },
    subtype: [
      { system: SYSTEMS.interaction, code: view ? 'read' : 'update' },
      { system: code.system, code: code.code, display: code.display },
    ],
    action: view ? 'R' : 'U',
    recorded,
    outcome: '0',
    purposeOfEvent: [{ coding: [{ system: SYSTEMS.purpose, code: 'TREAT', display: 'treatment' }] }],
    agent: [
      {
        type: { coding: [{ system: SYSTEMS.participation, code: 'IRCP', display: 'information recipient' }] },
        who: user.agent,
        altId: user.subject,
        name: user.name,
        requestor: true,
      },
    ],
    source: {
      observer: connector(),
      type: [{ system: SYSTEMS.sourceType, code: '4', display: 'Application Server' }],
    },
    entity: entities,
  };
}

function decisionEventId(review: string, version: string): string {
  return `hfu-${createHash('sha256').update(`audit\n${review}\n${version}`).digest('hex').slice(0, 40)}`;
}

/** Writes the event: a view's by create, a decision's by its derived id (writing it twice changes nothing). */
export async function recordAudit(client: FhirClient, event: AuditEvent): Promise<void> {
  if (event.action === 'R') {
    const { id: _id, ...rest } = event;
    await client.create<AuditEvent>(rest);
  } else {
    await client.update<AuditEvent>(event);
  }
}
