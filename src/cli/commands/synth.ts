import type { Command } from 'commander';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { londonToday } from '../../dates';
import { generatePatients, practiceOrganizations } from '../../synth';
import type { CliIo } from '../context';
import { parseDate, parseInteger } from '../options';

export function registerSynth(program: Command, io: CliIo): void {
  program
    .command('synth')
    .description('write a synthetic practice as FHIR R4 ndjson (one resource per line), deterministic for a seed')
    .option('--patients <n>', 'number of patients', '5000')
    .option('--seed <seed>', 'seed', '1')
    .option('--as-of <date>', 'evaluation date the data is built around (default: today)')
    .option('--ods <code>', 'ODS code of the practice', 'Y99001')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(async (flags: Record<string, string | undefined>) => {
      const options = {
        patients: parseInteger(flags.patients, '--patients') ?? 5000,
        seed: parseInteger(flags.seed, '--seed') ?? 1,
        asOf: parseDate(flags.asOf, '--as-of') ?? londonToday(),
        odsCode: flags.ods,
      };
      const out = flags.out ? createWriteStream(flags.out) : io.stdout;
      for (const resource of practiceOrganizations(options.odsCode)) {
        out.write(JSON.stringify(resource) + '\n');
      }
      for (const patient of generatePatients(options)) {
        for (const resource of patient.resources) {
          if (!out.write(JSON.stringify(resource) + '\n')) {
            await once(out, 'drain');
          }
        }
      }
      if (flags.out) {
        out.end();
        await finished(out);
      }
    });
}
