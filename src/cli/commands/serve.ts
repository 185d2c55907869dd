import type { Command } from 'commander';
import type { Config } from '../../config';
import type { RunningFhirServer } from '../../server';
import { newApiKey, startService } from '../../service';
import type { CliIo } from '../context';
import { commandContext, writeLine } from '../context';
import { listenOrExplain } from '../listen';
import { embeddedOptions, startSeededServer } from './fhir-server';

/**
 * `hfu serve`: the long-running service (API, scheduler, notifications). With no FHIR endpoint configured it is the
 * development set-up `npm start` runs: the embedded FHIR server on the synthetic practice beside the API, a
 * development API key made up and printed, and a first refresh at start-up. SIGTERM or SIGINT stops it gracefully.
 */
export function registerServe(program: Command, io: CliIo): void {
  program
    .command('serve')
    .description('the service: HTTP API, scheduled refresh, FHIR Subscription notifications (see README)')
    .option('--port <port>', 'port for the API (overrides service.port)')
    .action(async (flags: Record<string, string | undefined>, command: Command) => {
      const ctx = commandContext(io, command.optsWithGlobals().config, { 'service.port': flags.port });
      let config = ctx.config;
      let embedded: RunningFhirServer | undefined;
      let devKey: string | undefined;
      if (!config.fhir.baseUrl) {
        embedded = await startSeededServer(ctx, embeddedOptions(ctx, {}));
        ({ config, devKey } = developmentConfig(config, embedded.baseUrl));
      }
      const baseUrl = config.fhir.baseUrl as string;
      let service;
      try {
        service = await listenOrExplain(
          () => startService({ ...config, fhir: { ...config.fhir, baseUrl } }, ctx.logger),
          {
            what: 'the API',
            host: config.service.host,
            port: config.service.port,
            change: '--port, or service.port (HFU_SERVICE__PORT)',
          }
        );
      } catch (err) {
        await embedded?.stop();
        throw err;
      }
      if (config.service.ui.enabled) {
        const signIn = config.service.ui.oidc ? '' : '   (development sign-in: choose who to be)';
        writeLine(io.stdout, `MDT workspace: ${config.service.ui.publicUrl ?? service.url}/mdt/worklist${signIn}`);
      }
      writeLine(io.stdout, `hfu-connector API: ${service.url}   (description: ${service.url}/openapi.json)`);
      writeLine(io.stdout, `FHIR R4 endpoint: ${baseUrl}${embedded ? '   (embedded, synthetic practice)' : ''}`);
      if (devKey) {
        writeLine(io.stdout, `Development token (operate role, this process only): ${devKey}`);
        writeLine(io.stdout, `  export TOKEN=${devKey}   # for the README's curl examples`);
        writeLine(io.stdout, `  curl -H "Authorization: Bearer $TOKEN" ${service.url}/cohort`);
      }
      const signal = await io.stopSignal;
      ctx.logger.info('shutting down', { signal });
      await service.stop();
      await embedded?.stop();
    });
}

/**
 * The no-configuration set-up: the embedded server as the endpoint and, unless callers are configured, a fresh API
 * key with the operate role (its hash in the config, the key printed once). The first refresh runs at start-up.
 */
function developmentConfig(config: Config, baseUrl: string): { config: Config; devKey?: string } {
  const auth = config.service.auth;
  const dev = auth.jwt || auth.apiKeys.length ? undefined : newApiKey();
  return {
    devKey: dev?.key,
    config: {
      ...config,
      fhir: { ...config.fhir, baseUrl },
      service: {
        ...config.service,
        auth: dev ? { ...auth, apiKeys: [{ name: 'development', sha256: dev.sha256, role: 'operate' }] } : auth,
        schedule: { ...config.service.schedule, runOnStart: true },
      },
    },
  };
}
