import type { TierId } from '../vocabulary';
import { isTaskInput } from '../vocabulary';
import type { ProgrammeRecord } from './record';
import type { Stage } from './stage';
import { isOpenStage, standingOf, tierOfEpisode } from './stage';

/** One patient's place in the programme, as the API lists it: references and codes, never clinical detail. */
export interface CohortEntry {
  patient: string;
  stage: Stage;
  tier?: TierId;
  episode: number;
  /** Who owns their care: the care plan's author, else the review's owner (the MDT). */
  owner?: string;
  dominantRisk?: string;
  review?: string;
  flag?: string;
  carePlan?: string;
  /** The resources the proposal rests on (the review's input references). */
  evidence: string[];
}

/** Every patient of the programme whose latest episode is at one of `stages` (default: the open ones). */
export function cohortEntries(record: ProgrammeRecord, stages?: ReadonlySet<Stage>): CohortEntry[] {
  const entries: CohortEntry[] = [];
  for (const patient of record.patients.values()) {
    const { latest, stage } = standingOf(patient);
    if (!latest || !stage || !(stages ? stages.has(stage) : isOpenStage(stage))) {
      continue;
    }
    const review = latest.review;
    const ref = (r: { resourceType: string; id?: string } | undefined) =>
      r?.id ? `${r.resourceType}/${r.id}` : undefined;
    const inputs = review?.input ?? [];
    entries.push({
      patient: `Patient/${patient.patientId}`,
      stage,
      tier: tierOfEpisode(latest),
      episode: latest.number,
      owner: latest.carePlan?.author?.reference ?? review?.owner?.reference,
      dominantRisk: inputs.find((i) => isTaskInput(i, 'dominantRisk'))?.valueCodeableConcept?.coding?.[0]?.code,
      review: ref(review),
      flag: ref(latest.flag),
      carePlan: ref(latest.carePlan),
      evidence: inputs
        .filter((i) => !isTaskInput(i, 'proposedOwner') && i.valueReference?.reference)
        .map((i) => i.valueReference?.reference as string),
    });
  }
  return entries.sort((a, b) => (a.patient < b.patient ? -1 : 1));
}
