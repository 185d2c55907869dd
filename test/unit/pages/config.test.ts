import { configSchema, ConfigError } from '../../../src/config';
import { main } from '../../../src/cli/main';
import { silentLogger } from '../../../src/logging';
import { uiConfigProblem, usesDevelopmentSignIn } from '../../../src/pages';
import { newApiKey, startService } from '../../../src/service';
import { captureIo } from '../../helpers/io';

const parse = (value: Record<string, unknown>) => configSchema.parse(value);

describe('service.ui', () => {
  it('defaults: pages on, the development sign-in, sessions idle after 30 minutes, roles named as the issue says', () => {
    const ui = parse({}).service.ui;
    expect(ui).toMatchObject({
      enabled: true,
      sessionIdleMinutes: 30,
      roles: { mdt: ['mdt'], lead: ['lead'], viewer: ['viewer'] },
    });
    expect(ui.oidc).toBeUndefined();
    expect(usesDevelopmentSignIn(parse({}))).toBe(true);
    expect(
      parse({ service: { ui: { oidc: { issuer: 'https://i.example', clientId: 'c' } } } }).service.ui.oidc
    ).toMatchObject({ roleClaim: 'roles', scopes: 'openid profile' });
  });

  it('refuses the development sign-in on anything but a loopback address, naming the keys to set', () => {
    for (const host of ['127.0.0.1', 'localhost', '::1']) {
      expect({ host, problem: uiConfigProblem(parse({ service: { host } })) }).toEqual({ host, problem: undefined });
    }
    const problem = uiConfigProblem(parse({ service: { host: '0.0.0.0' } }));
    expect(problem).toBeInstanceOf(ConfigError);
    expect(problem?.message).toContain('service.ui.oidc');
    expect(problem?.message).toContain('service.ui.enabled');
    expect(uiConfigProblem(parse({ service: { host: '0.0.0.0', ui: { enabled: false } } }))).toBeUndefined();
  });

  it('keeps hfu serve from starting with the development sign-in on 0.0.0.0, before it listens', async () => {
    const config = parse({
      fhir: { baseUrl: 'http://127.0.0.1:1/fhir' },
      service: {
        host: '0.0.0.0',
        port: 0,
        auth: { apiKeys: [{ name: 'k', role: 'read', sha256: newApiKey().sha256 }] },
      },
    });
    await expect(
      startService({ ...config, fhir: { ...config.fhir, baseUrl: 'http://127.0.0.1:1/fhir' } }, silentLogger())
    ).rejects.toThrow(/service\.ui\.oidc: the development sign-in works only on a loopback address/);
  });

  it('is checked by hfu validate-config, which says how the workspace signs people in', async () => {
    const refused = captureIo({ HFU_SERVICE__HOST: '0.0.0.0' });
    expect(await main(['validate-config'], refused)).toBe(2);
    expect(refused.err()).toContain('service.ui.oidc');
    const development = captureIo({});
    expect(await main(['validate-config'], development)).toBe(0);
    expect(development.out()).toContain('MDT workspace: development sign-in (loopback only)');
    const off = captureIo({ HFU_SERVICE__HOST: '0.0.0.0', HFU_SERVICE__UI__ENABLED: 'false' });
    expect(await main(['validate-config'], off)).toBe(0);
    expect(off.out()).toContain('MDT workspace: off');
  });

  it('needs the public URL with an issuer (the redirect URI is built on it), https but on loopback', () => {
    const oidc = { issuer: 'https://i.example', clientId: 'c' };
    expect(uiConfigProblem(parse({ service: { host: '0.0.0.0', ui: { oidc } } }))?.message).toContain(
      'service.ui.publicUrl'
    );
    expect(
      uiConfigProblem(parse({ service: { host: '0.0.0.0', ui: { oidc, publicUrl: 'https://mdt.example' } } }))
    ).toBeUndefined();
    expect(
      uiConfigProblem(parse({ service: { host: '0.0.0.0', ui: { oidc, publicUrl: 'http://mdt.example' } } }))?.message
    ).toContain('must be https');
    expect(uiConfigProblem(parse({ service: { ui: { oidc, publicUrl: 'http://127.0.0.1:8080' } } }))).toBeUndefined();
  });

  it('reads the secret and the idle time from the environment’s strings', () => {
    const ui = parse({
      service: {
        ui: { sessionIdleMinutes: '15', oidc: { issuer: 'https://i.example', clientId: 'c', clientSecret: 'x' } },
      },
    }).service.ui;
    expect(ui.sessionIdleMinutes).toBe(15);
    expect(() => parse({ service: { ui: { sessionIdleMinutes: 'soon' } } })).toThrow();
    expect(() => parse({ service: { ui: { roles: { mdt: [] } } } })).toThrow();
  });
});
