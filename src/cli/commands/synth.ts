import type { Resource } from '@medplum/fhirtypes';
import type { Command } from 'commander';
import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import { finished } from 'node:stream/promises';
import { londonToday } from '../../dates';
import type { PracticeOptions } from '../../synth';
import { enrolmentDates, generatePatients, practiceResources } from '../../synth';
import type { CliIo } from '../context';
import { parseDate, parseInteger, UsageError } from '../options';

export function registerSynth(program: Command, io: CliIo): void {
  program
    .command('synth')
    .description('write a synthetic practice as FHIR R4 ndjson (one resource per line), deterministic for a seed')
    .option('--patients <n>', 'number of patients', '5000')
    .option('--seed <seed>', 'seed', '1')
    .option('--as-of <date>', 'evaluation date the data is built around (default: today)')
    .option('--ods <code>', 'ODS code of the practice', 'Y99001')
    .option('--years <n>', 'years of history to --as-of, with drifting rates and named GPs (default: 15 months)')
    .option('--programme-effect <fraction>', 'with --years: change in enrolled patients’ emergency admissions (-0.2)')
    .option('--record <file>', 'with --years: the record’s CarePlans (ndjson or a Bundle), for the enrolment dates')
    .option('--follow-up-from <date>', 'with --years: write only the encounters after this date (at or after --as-of)')
    .option('--until <date>', 'with --follow-up-from: the follow-up’s last day')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(async (flags: Record<string, string | undefined>) => {
      const options = synthOptions(flags);
      const out = flags.out ? createWriteStream(flags.out) : io.stdout;
      for (const resource of practiceResources(options)) {
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

function synthOptions(flags: Record<string, string | undefined>): PracticeOptions {
  const options: PracticeOptions = {
    patients: parseInteger(flags.patients, '--patients') ?? 5000,
    seed: parseInteger(flags.seed, '--seed') ?? 1,
    asOf: parseDate(flags.asOf, '--as-of') ?? londonToday(),
    odsCode: flags.ods,
  };
  const years = parseInteger(flags.years, '--years');
  const multiYearOnly = ['programmeEffect', 'record', 'followUpFrom', 'until'].filter((f) => flags[f] !== undefined);
  if (years === undefined) {
    if (multiYearOnly.length) {
      throw new UsageError('--programme-effect, --record, --follow-up-from and --until need --years');
    }
    return options;
  }
  options.historyYears = years;
  if (flags.programmeEffect !== undefined) {
    const effect = Number(flags.programmeEffect);
    if (!/^-?\d*\.?\d+$/.test(flags.programmeEffect) || effect < -1 || effect > 0) {
      throw new UsageError(`--programme-effect takes a fraction from -1 to 0, not '${flags.programmeEffect}'`);
    }
    options.programmeEffect = effect;
  }
  if (flags.record !== undefined) {
    options.enrolments = enrolmentDates(readRecord(flags.record));
  }
  const from = parseDate(flags.followUpFrom, '--follow-up-from');
  const until = parseDate(flags.until, '--until');
  if ((from === undefined) !== (until === undefined)) {
    throw new UsageError('--follow-up-from and --until go together');
  }
  if (from !== undefined && until !== undefined) {
    if (from < options.asOf || until <= from) {
      throw new UsageError('--follow-up-from is at or after --as-of, and --until after --follow-up-from');
    }
    options.followUp = { from, until };
  }
  return options;
}

/** Resources from an ndjson file, a JSON Bundle (a search result) or a JSON array; Bundles are unpacked. */
function readRecord(file: string): Resource[] {
  const text = readFileSync(file, 'utf8').trim();
  let parsed: Resource[];
  try {
    parsed = [JSON.parse(text) as Resource | Resource[]].flat();
  } catch {
    try {
      parsed = text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Resource);
    } catch {
      throw new UsageError(`--record: ${file} is not ndjson, a JSON Bundle or a JSON array of resources`);
    }
  }
  return parsed.flatMap((r) =>
    r.resourceType === 'Bundle' ? (r.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : [])) : [r]
  );
}
