import type { Command } from 'commander';
import { londonToday } from '../../dates';
import type { RunningFhirServer, ServerBehaviour } from '../../server';
import { isServerBehaviour, SERVER_BEHAVIOURS, startFhirServer } from '../../server';
import { generatePatients, practiceResources } from '../../synth';
import type { CliIo, CommandContext } from '../context';
import { commandContext, writeLine } from '../context';
import { listenOrExplain } from '../listen';
import { parseDate, parseInteger, UsageError } from '../options';

export interface EmbeddedServerOptions {
  host: string;
  port: number;
  seedPractice: number;
  seed: number;
  asOf: string;
  /** Years of synthetic history (the multi-year model); absent: 15 months. */
  historyYears?: number;
  /** Behave like another kind of server (`hfu fhir-server --behave`); default: like itself. */
  behave?: ServerBehaviour;
}

/** How the embedded server's port is chosen when no command-line flag does. */
export const EMBEDDED_PORT_KEY = 'embedded.port (HFU_EMBEDDED__PORT)';

/**
 * Starts the embedded server and seeds the synthetic practice; shared by `fhir-server`, `demo` and `serve`.
 * `portChange` names what chooses the port in the calling command, for the message when the port is taken.
 */
export async function startSeededServer(
  ctx: CommandContext,
  options: EmbeddedServerOptions,
  portChange = EMBEDDED_PORT_KEY
): Promise<RunningFhirServer> {
  const started = performance.now();
  const server = await listenOrExplain(
    () => startFhirServer({ host: options.host, port: options.port, logger: ctx.logger, behave: options.behave }),
    { what: 'the embedded FHIR server', host: options.host, port: options.port, change: portChange }
  );
  if (options.seedPractice > 0) {
    const { seedPractice: patients, seed, asOf, historyYears } = options;
    const practice = { patients, seed, asOf, historyYears };
    await server.repo.load(practiceResources(practice));
    for (const patient of generatePatients(practice)) {
      await server.repo.load(patient.resources);
    }
  }
  ctx.logger.info('embedded fhir server ready', {
    baseUrl: server.baseUrl,
    patients: options.seedPractice,
    behave: options.behave ?? 'default',
    ms: Math.round(performance.now() - started),
  });
  return server;
}

export function embeddedOptions(ctx: CommandContext, flags: Record<string, string | undefined>): EmbeddedServerOptions {
  return {
    host: ctx.config.embedded.host,
    port: ctx.config.embedded.port,
    seedPractice: ctx.config.embedded.seedPractice,
    seed: ctx.config.embedded.seed,
    historyYears: ctx.config.embedded.historyYears,
    asOf: flags.asOf ?? londonToday(),
  };
}

export function registerFhirServer(program: Command, io: CliIo): void {
  program
    .command('fhir-server')
    .description('run the embedded FHIR R4 server (in memory), optionally seeded with a synthetic practice')
    .option('--port <port>', 'port to listen on (0: any free port)')
    .option('--host <host>', 'address to listen on')
    .option('--seed-practice <patients>', 'patients in the synthetic practice to load at start-up')
    .option('--seed <seed>', 'seed of the synthetic population')
    .option('--as-of <date>', 'evaluation date the synthetic data is built around (default: today)')
    .option('--years <n>', 'years of synthetic history, with drifting rates and named GPs (default: 15 months)')
    .option('--behave <profile>', `behave like another server: ${SERVER_BEHAVIOURS.join(', ')} (default: default)`)
    .action(async (flags: Record<string, string | undefined>, command: Command) => {
      const ctx = commandContext(io, command.optsWithGlobals().config, {
        'embedded.port': parseInteger(flags.port, '--port'),
        'embedded.host': flags.host,
        'embedded.seedPractice': parseInteger(flags.seedPractice, '--seed-practice'),
        'embedded.seed': parseInteger(flags.seed, '--seed'),
        'embedded.historyYears': parseInteger(flags.years, '--years'),
      });
      const options = {
        ...embeddedOptions(ctx, { asOf: parseDate(flags.asOf, '--as-of') }),
        behave: parseBehaviour(flags.behave),
      };
      const server = await startSeededServer(ctx, options, `--port, or ${EMBEDDED_PORT_KEY}`);
      writeLine(io.stdout, `FHIR R4 server listening at ${server.baseUrl}`);
      writeLine(
        io.stdout,
        `holding ${options.seedPractice} synthetic patients (seed ${options.seed}, data up to ${options.asOf}); ` +
          `try ${server.baseUrl}/Patient?_count=10`
      );
      if (options.behave && options.behave !== 'default') {
        writeLine(io.stdout, `behaving like a '${options.behave}' server (see ${server.baseUrl}/metadata)`);
      }
      const signal = await io.stopSignal;
      ctx.logger.info('stopping embedded fhir server', { signal });
      await server.stop();
    });
}

function parseBehaviour(value: string | undefined): ServerBehaviour | undefined {
  if (value !== undefined && !isServerBehaviour(value)) {
    throw new UsageError(`--behave takes one of ${SERVER_BEHAVIOURS.join(', ')}, not '${value}'`);
  }
  return value;
}
