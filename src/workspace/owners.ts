import type { CareTeam, Practitioner, PractitionerRole, Reference } from '@medplum/fhirtypes';
import type { Caseloads, WorkforceMember } from '../allocation';
import type { FhirClient } from '../fhir';
import type { RiskType } from '../vocabulary';
import { ROLES } from '../vocabulary';
import { displayName } from './people';
import type { OwnerOption } from './types';

/**
 * What the workspace calls each member of the workforce: "Sam Patel, Pharmacist" when the record names the person
 * or team, else "Pharmacist (pharm-1)". Anyone else (an owner the MDT set by hand) by their reference.
 */
export class OwnerLabels {
  constructor(
    private readonly workforce: readonly WorkforceMember[],
    private readonly names: ReadonlyMap<string, string>,
    /** The Practitioner behind each PractitionerRole of the workforce, when the record says. */
    private readonly practitioners: ReadonlyMap<string, string> = new Map()
  ) {}

  /** Whether a workforce entry is this user: their Practitioner itself, or one of its roles. */
  isPerson(reference: string, agent: Reference): boolean {
    return Boolean(
      agent.reference && (reference === agent.reference || this.practitioners.get(reference) === agent.reference)
    );
  }

  label(reference: string): string {
    const member = this.workforce.find((m) => m.reference === reference);
    const name = this.names.get(reference);
    if (!member) {
      return name ?? reference;
    }
    const role = ROLES[member.role].display;
    return name ? `${name}, ${role}` : `${role} (${reference.slice(reference.indexOf('/') + 1)})`;
  }
}

/** The names of the workforce's people and teams, as the FHIR server holds them; unreadable ones left unnamed. */
export async function readOwnerLabels(client: FhirClient, workforce: readonly WorkforceMember[]): Promise<OwnerLabels> {
  const names = new Map<string, string>();
  const practitioners = new Map<string, string>();
  await Promise.all(
    workforce.map(async ({ reference }) => {
      const found = await whoIs(client, reference).catch(() => undefined);
      if (found?.name) {
        names.set(reference, found.name);
      }
      if (found?.practitioner) {
        practitioners.set(reference, found.practitioner);
      }
    })
  );
  return new OwnerLabels(workforce, names, practitioners);
}

async function whoIs(client: FhirClient, reference: string): Promise<{ name?: string; practitioner?: string }> {
  const [type, id] = reference.split('/') as [string, string];
  if (type === 'CareTeam') {
    return { name: (await client.read<CareTeam>('CareTeam', id)).name };
  }
  if (type === 'Practitioner') {
    return { name: named((await client.read<Practitioner>('Practitioner', id)).name) };
  }
  const role = await client.read<PractitionerRole>('PractitionerRole', id);
  const practitioner = role.practitioner?.reference?.startsWith('Practitioner/')
    ? role.practitioner.reference
    : undefined;
  if (role.practitioner?.display || !practitioner) {
    return { name: role.practitioner?.display, practitioner };
  }
  const person = await client.read<Practitioner>('Practitioner', practitioner.slice('Practitioner/'.length));
  return { name: named(person.name), practitioner };
}

function named(names: Practitioner['name']): string | undefined {
  const name = displayName(names);
  return name === 'Name not recorded' ? undefined : name;
}

/**
 * The workforce of the kind a risk goes to (every kind: `any`), each with their caseload; full ones flagged (shown,
 * not choosable).
 */
export function ownerOptions(
  workforce: readonly WorkforceMember[],
  caseloads: Caseloads,
  risk: RiskType | 'any',
  labels: OwnerLabels,
  proposed: string | undefined
): OwnerOption[] {
  return workforce
    .filter((m) => risk === 'any' || ROLES[m.role].risk === risk)
    .map((m) => {
      const used = caseloads.count(m.reference);
      return {
        reference: m.reference,
        label: labels.label(m.reference),
        role: { code: m.role, label: ROLES[m.role].display },
        used,
        limit: m.caseload,
        full: used >= m.caseload,
        proposed: m.reference === proposed,
      };
    });
}
