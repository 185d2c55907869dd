import type { Command } from 'commander';
import type { Resource } from '@medplum/fhirtypes';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { questionnaires } from '../../care';
import { buildConformanceResources, fileNameOf, PROFILES_DIR, QUESTIONNAIRES_DIR } from '../../profiles';
import type { CliIo } from '../context';
import { writeLine } from '../context';

export function registerProfiles(program: Command, io: CliIo): void {
  program
    .command('profiles')
    .description(
      "write the project's conformance resources (profiles with snapshots, code systems, value sets) and the care " +
        "team's forms (Questionnaires) as JSON"
    )
    .option('--out <dir>', 'folder to write to', PROFILES_DIR)
    .option('--questionnaires-out <dir>', 'folder to write the Questionnaires to', QUESTIONNAIRES_DIR)
    .action((flags: { out: string; questionnairesOut: string }) => {
      const write = (dir: string, resources: (Resource & { url?: string })[]) => {
        mkdirSync(dir, { recursive: true });
        for (const resource of resources) {
          writeFileSync(path.join(dir, fileNameOf(resource)), JSON.stringify(resource, null, 2) + '\n');
          writeLine(io.stdout, `${resource.resourceType}/${resource.id}  ${resource.url}`);
        }
      };
      write(flags.out, buildConformanceResources());
      write(flags.questionnairesOut, questionnaires());
    });
}
