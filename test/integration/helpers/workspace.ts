import { Writable } from 'node:stream';
import { endpointsFrom, rulesFrom, runCohort, runSettingsFrom } from '../../../src/cohort';
import type { FhirClient } from '../../../src/fhir';
import { createLogger } from '../../../src/logging';
import type { Workspace, WorkspaceUser } from '../../../src/workspace';
import { createWorkspace } from '../../../src/workspace';
import type { ProgrammePractice } from './programme';
import { AS_OF } from './programme';

/** An MDT member, as the workspace tests act. */
export const MDT_MEMBER: WorkspaceUser = {
  subject: 'urn:uuid:alex',
  name: 'Alex Jones',
  role: 'mdt',
  agent: {
    type: 'Practitioner',
    identifier: { system: 'https://fhir.nhs.uk/Id/sds-user-id', value: 'alex' },
    display: 'Alex Jones',
  },
};

export type WorkspaceDeps = Parameters<typeof createWorkspace>[0];

/**
 * The workspace over a programme practice, built as the service builds it: the practice's configuration and
 * endpoints, and a targeted refresh that runs the cohort for the one patient on AS_OF. Logs are dropped.
 */
export function practiceWorkspace(practice: ProgrammePractice): {
  workspace: Workspace;
  deps: WorkspaceDeps;
  source: FhirClient;
} {
  const config = practice.config();
  const logger = createLogger({ stream: new Writable({ write: (_c, _e, done) => done() }), format: 'json' });
  const endpoints = endpointsFrom(config, practice.server.baseUrl);
  const runDeps = { ...endpoints, logger, ...rulesFrom(config) };
  const deps: WorkspaceDeps = {
    ...endpoints,
    config,
    programme: runDeps.programme,
    mapping: runDeps.mapping,
    logger,
    refreshPatient: async (id) => {
      await runCohort(runDeps, { ...runSettingsFrom(config, { dryRun: false, patients: [id] }), asOf: AS_OF });
    },
  };
  return { workspace: createWorkspace(deps), deps, source: endpoints.source };
}
