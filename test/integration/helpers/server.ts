import type { Resource } from '@medplum/fhirtypes';
import type { RunningFhirServer, ServerBehaviour } from '../../../src/server';
import { startFhirServer } from '../../../src/server';
import type { PatientTruth } from '../../../src/synth';
import { synthesizePractice } from '../../../src/synth';

export const AS_OF = '2026-11-23';

export interface SeededServer extends RunningFhirServer {
  resources: Resource[];
  truth: PatientTruth[];
}

/** A real embedded FHIR server on 127.0.0.1, seeded with a synthetic practice; stop it in afterAll. */
export async function startSeededServer(
  patients: number,
  seed = 1,
  options: { behave?: ServerBehaviour } = {}
): Promise<SeededServer> {
  const { resources, truth } = synthesizePractice({ patients, seed, asOf: AS_OF });
  const server = await startFhirServer({ resources, behave: options.behave });
  return { ...server, resources, truth };
}
