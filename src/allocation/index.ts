import type { Task } from '@medplum/fhirtypes';
import type { WorkforceMember } from '../config';
import type { Programme } from '../criteria';
import type { ProgrammeRecord } from '../lifecycle';
import { episodeStage, isOpenTask } from '../lifecycle';
import type { FactValue } from '../mappings';
import type { RiskType } from '../vocabulary';
import { isTaskInput, ROLES } from '../vocabulary';

export type { WorkforceMember } from '../config';

/**
 * The candidate's dominant risk from the programme's two scores: psychosocial only when it outweighs clinical (a tie
 * goes to a clinician, who must manage clinical risk).
 */
export function dominantRisk(programme: Programme, facts: Record<string, FactValue>): RiskType {
  const vars = { f: facts, p: programme.parameters };
  const score = (rule: Programme['allocation']['clinicalScore']): number => {
    const value = rule.test({}, vars)[0];
    return typeof value === 'number' ? value : 0;
  };
  return score(programme.allocation.psychosocialScore) > score(programme.allocation.clinicalScore)
    ? 'psychosocial'
    : 'clinical';
}

/** Patients each owner carries: those with an active care plan or an open Task of the programme they own. */
export class Caseloads {
  private readonly patients = new Map<string, Set<string>>();

  constructor(record: ProgrammeRecord) {
    for (const patient of record.patients.values()) {
      for (const episode of patient.episodes) {
        if (episodeStage(episode) === 'enrolled') {
          this.add(episode.carePlan?.author?.reference, patient.patientId);
        }
        for (const task of [episode.conversation, episode.stepDown, ...episode.checkIns.values()]) {
          if (isOpenTask(task)) {
            this.add(task.owner?.reference, patient.patientId);
          }
        }
      }
    }
  }

  count(reference: string): number {
    return this.patients.get(reference)?.size ?? 0;
  }

  /** The patients an owner carries (ids). */
  patientsOf(reference: string): string[] {
    return [...(this.patients.get(reference) ?? [])];
  }

  /** The patient leaves every caseload (discharged, or out of the programme). */
  release(patientId: string): void {
    this.patients.forEach((set) => set.delete(patientId));
  }

  add(reference: string | undefined, patientId: string): void {
    if (!reference) {
      return;
    }
    let set = this.patients.get(reference);
    if (!set) {
      set = new Set();
      this.patients.set(reference, set);
    }
    set.add(patientId);
  }
}

/**
 * A member of the workforce whose role fits the risk and who has room in their caseload: the one with the most
 * room, ties to the first configured. Undefined when nobody has room (the patient waits; nobody is overbooked).
 */
export function proposeOwner(
  workforce: readonly WorkforceMember[],
  caseloads: Caseloads,
  risk: RiskType
): WorkforceMember | undefined {
  let best: WorkforceMember | undefined;
  let bestRoom = 0;
  for (const member of workforce) {
    const room = member.caseload - caseloads.count(member.reference);
    if (ROLES[member.role].risk === risk && room > bestRoom) {
      best = member;
      bestRoom = room;
    }
  }
  return best;
}

/**
 * The MDT's own allocation: an owner they set on the review Task (a PractitionerRole, Practitioner or CareTeam other
 * than the review's configured owner, which is the MDT itself).
 */
export function mdtAllocation(review: Task | undefined, reviewOwner: string | undefined): string | undefined {
  const owner = review?.owner?.reference;
  if (!owner || owner === reviewOwner || !/^(PractitionerRole|Practitioner|CareTeam)\//.test(owner)) {
    return undefined;
  }
  return owner;
}

/**
 * The owner the connector proposed on a review Task. Proposed once, when the review is written, and kept: a proposal
 * is not a reservation, and one that moved with every caseload change would rewrite the MDT's worklist each run.
 */
export function proposedOwnerOf(review: Task | undefined): string | undefined {
  return review?.input?.find((i) => isTaskInput(i, 'proposedOwner'))?.valueReference?.reference;
}

export type Allocation =
  | { kind: 'mdt'; owner: string }
  | { kind: 'proposed'; owner: string; role: WorkforceMember['role'] }
  | { kind: 'unassigned' }
  | { kind: 'waitlisted'; risk: RiskType };

/**
 * Who owns an accepted patient's care: the MDT's choice; else the connector's proposal on the review while its owner
 * still has room, else another member with room; else the patient waits. With no workforce, nobody (the MDT allocates).
 */
export function allocate(
  review: Task | undefined,
  risk: RiskType,
  workforce: readonly WorkforceMember[],
  caseloads: Caseloads,
  reviewOwner: string | undefined
): Allocation {
  const chosen = mdtAllocation(review, reviewOwner);
  if (chosen) {
    return { kind: 'mdt', owner: chosen };
  }
  if (!workforce.length) {
    return { kind: 'unassigned' };
  }
  const proposed = workforce.find((m) => m.reference === proposedOwnerOf(review));
  const member =
    proposed && ROLES[proposed.role].risk === risk && caseloads.count(proposed.reference) < proposed.caseload
      ? proposed
      : proposeOwner(workforce, caseloads, risk);
  return member ? { kind: 'proposed', owner: member.reference, role: member.role } : { kind: 'waitlisted', risk };
}
