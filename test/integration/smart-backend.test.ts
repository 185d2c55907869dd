import type { Patient } from '@medplum/fhirtypes';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { configSchema } from '../../src/config';
import { FhirClient } from '../../src/fhir';
import { runCli } from './helpers/cli';
import type { FaultyProxy } from './helpers/proxy';
import { startFaultyProxy } from './helpers/proxy';
import type { SeededServer } from './helpers/server';
import { AS_OF, startSeededServer } from './helpers/server';
import type { SmartTokenEndpoint } from './helpers/smart';
import { startTokenEndpoint } from './helpers/smart';

const CLIENT_ID = 'hfu-connector-test';

let server: SeededServer;
beforeAll(async () => {
  server = await startSeededServer(300);
});
afterAll(() => server.stop());

/**
 * The FHIR server behind a gate that lets through only tokens the endpoint issued, and that publishes the token
 * endpoint in its SMART configuration.
 */
async function protectedFhir(endpoint: SmartTokenEndpoint): Promise<FaultyProxy> {
  return startFaultyProxy(server.baseUrl, ({ url, headers }) => {
    if (url.endsWith('/.well-known/smart-configuration')) {
      return {
        status: 200,
        body: { token_endpoint: endpoint.tokenUrl, grant_types_supported: ['client_credentials'] },
      };
    }
    return endpoint.isValid(headers.authorization)
      ? undefined
      : { status: 401, body: { resourceType: 'OperationOutcome' } };
  });
}

describe('SMART Backend Services', () => {
  it('hfu run signs an RS384 assertion, is granted a token, and reuses it for every request', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS384', { extractable: true });
    const endpoint = await startTokenEndpoint({ clientId: CLIENT_ID, publicKey, kid: 'rsa-1', algorithm: 'RS384' });
    const fhir = await protectedFhir(endpoint);
    try {
      expect((await fetch(`${fhir.baseUrl}/Patient?_count=1`)).status).toBe(401); // the gate is real
      const { code, stdout, stderr } = await runCli(['run', '--dry-run', '--json', '--now', AS_OF], {
        HFU_FHIR__BASE_URL: fhir.baseUrl,
        HFU_FHIR__AUTH__TYPE: 'smart-backend',
        HFU_FHIR__AUTH__CLIENT_ID: CLIENT_ID,
        HFU_FHIR__AUTH__KID: 'rsa-1',
        HFU_FHIR__AUTH__PRIVATE_KEY: await exportPKCS8(privateKey),
      });
      expect({ code, stderr: code ? stderr.slice(-1500) : '' }).toEqual({ code: 0, stderr: '' });
      expect(JSON.parse(stdout).population).toBe(300);
      expect(fhir.seen.length).toBeGreaterThan(10);
      expect(endpoint.requests).toHaveLength(1);
      const [request] = endpoint.requests;
      expect(request?.granted).toBe(true);
      expect(request?.header).toMatchObject({ alg: 'RS384', kid: 'rsa-1', typ: 'JWT' });
      expect(request?.claims).toMatchObject({ iss: CLIENT_ID, sub: CLIENT_ID, aud: endpoint.tokenUrl });
      expect(request?.form.scope?.split(' ')).toEqual(
        expect.arrayContaining(['system/Patient.rs', 'system/Encounter.rs', 'system/Task.crus', 'system/Flag.crus'])
      );
      // The key never reaches the output.
      expect(stdout + stderr).not.toMatch(/PRIVATE KEY/);
    } finally {
      await fhir.stop();
      await endpoint.stop();
    }
  });

  it.each([
    ['ES384', 'a JWK, with jku'],
    ['RS512', 'PEM, as NHS England APIs ask'],
  ] as const)('signs %s with a key given as %s', async (algorithm, _given) => {
    const { publicKey, privateKey } = await generateKeyPair(algorithm, { extractable: true });
    const jku = algorithm === 'ES384' ? 'https://hfu.example.nhs.uk/.well-known/jwks.json' : undefined;
    const endpoint = await startTokenEndpoint({ clientId: CLIENT_ID, publicKey, kid: 'key-2', algorithm, jku });
    const fhir = await protectedFhir(endpoint);
    try {
      const key = algorithm === 'ES384' ? JSON.stringify(await exportJWK(privateKey)) : await exportPKCS8(privateKey);
      const config = configSchema.parse({
        fhir: {
          baseUrl: fhir.baseUrl,
          auth: {
            type: 'smart-backend',
            clientId: CLIENT_ID,
            algorithm,
            kid: 'key-2',
            jku,
            privateKey: key,
            tokenUrl: endpoint.tokenUrl,
            scope: 'system/Patient.rs',
          },
        },
      });
      const client = FhirClient.fromConfig({ ...config.fhir, baseUrl: fhir.baseUrl });
      expect((await client.searchAll<Patient>('Patient', { _count: 50 })).length).toBe(300);
      expect(endpoint.requests.map((r) => [r.granted, r.header?.alg, r.header?.jku, r.form.scope])).toEqual([
        [true, algorithm, jku, 'system/Patient.rs'],
      ]);
    } finally {
      await fhir.stop();
      await endpoint.stop();
    }
  });

  it('fails with the endpoint’s error code when the server does not know the key, and loses nothing', async () => {
    const registered = await generateKeyPair('RS384', { extractable: true });
    const other = await generateKeyPair('RS384', { extractable: true });
    const endpoint = await startTokenEndpoint({
      clientId: CLIENT_ID,
      publicKey: registered.publicKey,
      kid: 'rsa-1',
      algorithm: 'RS384',
    });
    const fhir = await protectedFhir(endpoint);
    try {
      const { code, stdout, stderr } = await runCli(['run', '--json', '--now', AS_OF], {
        HFU_FHIR__BASE_URL: fhir.baseUrl,
        HFU_FHIR__AUTH__TYPE: 'smart-backend',
        HFU_FHIR__AUTH__CLIENT_ID: CLIENT_ID,
        HFU_FHIR__AUTH__KID: 'rsa-1',
        HFU_FHIR__AUTH__TOKEN_URL: endpoint.tokenUrl,
        HFU_FHIR__AUTH__PRIVATE_KEY: await exportPKCS8(other.privateKey),
      });
      expect(code).toBe(1);
      expect(stderr).toMatch(/the token endpoint refused the request \(HTTP 401: invalid_client\)/);
      expect(stdout + stderr).not.toMatch(/PRIVATE KEY|eyJ/); // neither the key nor the assertion
      expect(fhir.seen.filter((s) => s.startsWith('POST'))).toEqual([]); // nothing written
    } finally {
      await fhir.stop();
      await endpoint.stop();
    }
  });

  it('refuses at start-up a key that cannot sign the configured algorithm, naming the key', async () => {
    const ec = await generateKeyPair('ES384', { extractable: true });
    const { code, stderr } = await runCli(['run', '--dry-run'], {
      HFU_FHIR__BASE_URL: server.baseUrl,
      HFU_FHIR__AUTH__TYPE: 'smart-backend',
      HFU_FHIR__AUTH__CLIENT_ID: CLIENT_ID,
      HFU_FHIR__AUTH__KID: 'k',
      HFU_FHIR__AUTH__ALGORITHM: 'RS384',
      HFU_FHIR__AUTH__PRIVATE_KEY: await exportPKCS8(ec.privateKey),
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/fhir\.auth\.privateKey: a ec secp384r1 key cannot sign RS384 \(it needs an RSA key\)/);
    const garbage = await runCli(['run', '--dry-run'], {
      HFU_FHIR__BASE_URL: server.baseUrl,
      HFU_FHIR__AUTH__TYPE: 'smart-backend',
      HFU_FHIR__AUTH__CLIENT_ID: CLIENT_ID,
      HFU_FHIR__AUTH__KID: 'k',
      HFU_FHIR__AUTH__PRIVATE_KEY: 'not a key at all',
    });
    expect(garbage.code).toBe(2);
    expect(garbage.stderr).toMatch(/fhir\.auth\.privateKey: not a readable private key/);
    expect(garbage.stderr).not.toMatch(/not a key at all/);
  });
});
