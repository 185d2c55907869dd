import type { Task } from '@medplum/fhirtypes';
import type { WorkforceMember } from '../allocation';
import type { Programme } from '../criteria';
import { londonDay } from '../dates';
import type { Episode, Stage } from '../lifecycle';
import { episodeStage, isOpenTask, standingOf, tierOfEpisode } from '../lifecycle';
import type { RiskType, TierId } from '../vocabulary';
import { ROLES, TASK_CODE } from '../vocabulary';
import type { CareFormKind } from './forms';
import { formPath } from './forms';
import type { OwnerLabels } from './owners';
import { maySee, patientPractice, patientSummary } from './people';
import type { Snapshot } from './snapshot';
import { caseloadsOf } from './snapshot';
import type { Caseload, CaseloadPatient, CaseloadView, ProgrammeSummary, WorkspaceUser } from './types';

const TASK_LABELS = new Map<string, string>(Object.values(TASK_CODE).map((c) => [c.code, c.display]));

/** Every member of the workforce with the patients they carry (those the user may see), next Task, used / limit. */
export function caseloadView(
  snapshot: Snapshot,
  workforce: readonly WorkforceMember[],
  labels: OwnerLabels,
  user: WorkspaceUser
): CaseloadView {
  return { asOf: snapshot.asOf, caseloads: workforce.map((m) => caseloadOf(snapshot, m, labels, user)) };
}

/** The caseloads of the signed-in user: the workforce entries that are them (their Practitioner or one of its roles). */
export function myCaseloads(
  snapshot: Snapshot,
  workforce: readonly WorkforceMember[],
  labels: OwnerLabels,
  user: WorkspaceUser
): CaseloadView {
  const mine = workforce.filter((m) => labels.isPerson(m.reference, user.agent));
  return caseloadView(snapshot, mine, labels, user);
}

function caseloadOf(snapshot: Snapshot, member: WorkforceMember, labels: OwnerLabels, user: WorkspaceUser): Caseload {
  const caseloads = caseloadsOf(snapshot);
  const patients: CaseloadPatient[] = [];
  for (const id of caseloads.patientsOf(member.reference).sort()) {
    const place = snapshot.record.patients.get(id);
    const known = snapshot.known.get(id);
    const { latest, stage } = standingOf(place);
    if (!latest || !stage || !known?.patient || !maySee(user, patientPractice(known.patient, snapshot.organisations))) {
      continue;
    }
    const next = nextTask(latest, member.reference, snapshot.asOf, id);
    patients.push({
      patient: patientSummary(known.patient, snapshot.asOf, snapshot.organisations),
      stage,
      ...(next ? { next } : {}),
    });
  }
  return {
    reference: member.reference,
    label: labels.label(member.reference),
    role: { code: member.role, label: ROLES[member.role].display },
    used: caseloads.count(member.reference),
    limit: member.caseload,
    patients,
  };
}

/** The owner's open Task of the episode due soonest (conversation, check-in, step-down review); overdue once past due. */
function nextTask(
  episode: NonNullable<ReturnType<typeof standingOf>['latest']>,
  owner: string,
  asOf: string,
  patientId: string
): CaseloadPatient['next'] {
  const tasks = [episode.conversation, episode.stepDown, ...episode.checkIns.values()].filter(
    (t): t is Task => isOpenTask(t) && t.owner?.reference === owner
  );
  const due = (t: Task) => londonDay(t.restriction?.period?.end ?? t.restriction?.period?.start);
  const [next] = tasks.sort((a, b) => (due(a) ?? '9999').localeCompare(due(b) ?? '9999'));
  if (!next?.id) {
    return undefined;
  }
  const kind = next.code?.coding?.[0]?.code ?? 'task';
  const date = due(next);
  const form = formOf(episode, next);
  return {
    reference: `Task/${next.id}`,
    kind,
    ...(form ? { form: formPath(patientId, form) } : {}),
    label: TASK_LABELS.get(kind) ?? 'Task',
    ...(date ? { due: date } : {}),
    overdue: Boolean(date && date < asOf),
  };
}

/** The form a Task is recorded with in the workspace: the conversation, or a check-in by its number. */
function formOf(episode: Episode, task: Task): CareFormKind | undefined {
  if (task === episode.conversation) {
    return { kind: 'conversation' };
  }
  const n = [...episode.checkIns.entries()].find(([, t]) => t === task)?.[0];
  return n === undefined ? undefined : { kind: 'check-in', n };
}

/** Counts by stage and tier over the patients the user may see; the workforce's capacity used against its limit. */
export function programmeSummary(
  snapshot: Snapshot,
  programme: Programme,
  workforce: readonly WorkforceMember[],
  user: WorkspaceUser
): ProgrammeSummary {
  const byStage: Partial<Record<Stage, number>> = {};
  const byTier: Partial<Record<TierId, number>> = {};
  for (const place of snapshot.record.patients.values()) {
    const { latest } = standingOf(place);
    const patient = snapshot.known.get(place.patientId)?.patient;
    if (!latest || (user.practices && (!patient || !maySee(user, patientPractice(patient, snapshot.organisations))))) {
      continue;
    }
    const stage = episodeStage(latest);
    byStage[stage] = (byStage[stage] ?? 0) + 1;
    const tier = tierOfEpisode(latest);
    if (tier) {
      byTier[tier] = (byTier[tier] ?? 0) + 1;
    }
  }
  const caseloads = caseloadsOf(snapshot);
  const byRisk: Record<RiskType, { used: number; limit: number }> = {
    clinical: { used: 0, limit: 0 },
    psychosocial: { used: 0, limit: 0 },
  };
  for (const member of workforce) {
    const risk = byRisk[ROLES[member.role].risk];
    risk.used += caseloads.count(member.reference);
    risk.limit += member.caseload;
  }
  return {
    asOf: snapshot.asOf,
    programme: { id: programme.id, version: programme.version, title: programme.title },
    byStage,
    byTier,
    capacity: {
      used: byRisk.clinical.used + byRisk.psychosocial.used,
      limit: byRisk.clinical.limit + byRisk.psychosocial.limit,
      byRisk,
    },
    mayRefresh: user.role === 'lead',
  };
}
