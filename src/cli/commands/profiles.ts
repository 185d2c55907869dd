import type { Command } from 'commander';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildConformanceResources, fileNameOf, PROFILES_DIR } from '../../profiles';
import type { CliIo } from '../context';
import { writeLine } from '../context';

export function registerProfiles(program: Command, io: CliIo): void {
  program
    .command('profiles')
    .description(
      "write the project's conformance resources (profiles with snapshots, code systems, value sets) as JSON"
    )
    .option('--out <dir>', 'folder to write to', PROFILES_DIR)
    .action((flags: { out: string }) => {
      mkdirSync(flags.out, { recursive: true });
      for (const resource of buildConformanceResources()) {
        writeFileSync(path.join(flags.out, fileNameOf(resource)), JSON.stringify(resource, null, 2) + '\n');
        writeLine(io.stdout, `${resource.resourceType}/${resource.id}  ${(resource as { url?: string }).url}`);
      }
    });
}
