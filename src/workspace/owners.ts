import type { CareTeam, Practitioner, PractitionerRole } from '@medplum/fhirtypes';
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
    private readonly names: ReadonlyMap<string, string>
  ) {}

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
  await Promise.all(
    workforce.map(async ({ reference }) => {
      const name = await nameOf(client, reference).catch(() => undefined);
      if (name) {
        names.set(reference, name);
      }
    })
  );
  return new OwnerLabels(workforce, names);
}

async function nameOf(client: FhirClient, reference: string): Promise<string | undefined> {
  const [type, id] = reference.split('/') as [string, string];
  if (type === 'CareTeam') {
    return (await client.read<CareTeam>('CareTeam', id)).name;
  }
  if (type === 'Practitioner') {
    return named((await client.read<Practitioner>('Practitioner', id)).name);
  }
  const role = await client.read<PractitionerRole>('PractitionerRole', id);
  if (role.practitioner?.display) {
    return role.practitioner.display;
  }
  const practitioner = role.practitioner?.reference?.startsWith('Practitioner/')
    ? await client.read<Practitioner>('Practitioner', role.practitioner.reference.slice('Practitioner/'.length))
    : undefined;
  return named(practitioner?.name);
}

function named(names: Practitioner['name']): string | undefined {
  const name = displayName(names);
  return name === 'Name not recorded' ? undefined : name;
}

/** The workforce of the kind a risk goes to, each with their caseload; full ones flagged (shown, not choosable). */
export function ownerOptions(
  workforce: readonly WorkforceMember[],
  caseloads: Caseloads,
  risk: RiskType,
  labels: OwnerLabels,
  proposed: string | undefined
): OwnerOption[] {
  return workforce
    .filter((m) => ROLES[m.role].risk === risk)
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
