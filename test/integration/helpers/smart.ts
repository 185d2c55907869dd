import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWTHeaderParameters, KeyLike } from 'jose';
import { jwtVerify } from 'jose';

/** A client the token endpoint knows: its id, and the public key (and kid, jku) it registered. */
export interface RegisteredClient {
  clientId: string;
  publicKey: KeyLike;
  kid: string;
  algorithm: string;
  jku?: string;
}

/** What the token endpoint saw of one token request. */
export interface TokenRequest {
  form: Record<string, string>;
  header?: JWTHeaderParameters;
  claims?: Record<string, unknown>;
  granted: boolean;
  error?: string;
}

export interface SmartTokenEndpoint {
  tokenUrl: string;
  requests: TokenRequest[];
  /** Tokens issued and not yet expired: what the protected FHIR endpoint accepts. */
  isValid(authorization: string | undefined): boolean;
  stop(): Promise<void>;
}

/**
 * A SMART Backend Services token endpoint (client_credentials with a private_key_jwt assertion) that checks what a
 * real one checks: the assertion type, the signature against the registered key and algorithm, kid (and jku),
 * iss = sub = client id, aud = this URL, exp no more than five minutes ahead, a jti never seen before.
 */
export async function startTokenEndpoint(client: RegisteredClient, lifetimeS = 300): Promise<SmartTokenEndpoint> {
  const requests: TokenRequest[] = [];
  const issued = new Map<string, number>();
  const seenJti = new Set<string>();
  let tokenUrl = '';
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      void (async () => {
        const form = Object.fromEntries(new URLSearchParams(body));
        const record: TokenRequest = { form, granted: false };
        requests.push(record);
        const refuse = (error: string) => {
          record.error = error;
          res.writeHead(error === 'invalid_request' ? 400 : 401, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ error }));
        };
        if (
          form.grant_type !== 'client_credentials' ||
          form.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
        ) {
          return refuse('invalid_request');
        }
        try {
          const { payload, protectedHeader } = await jwtVerify(form.client_assertion ?? '', client.publicKey, {
            algorithms: [client.algorithm],
            issuer: client.clientId,
            subject: client.clientId,
            audience: tokenUrl,
            requiredClaims: ['jti', 'exp'],
          });
          record.header = protectedHeader;
          record.claims = payload;
          const jti = String(payload.jti);
          const tooLong = (payload.exp as number) - Math.floor(Date.now() / 1000) > 300;
          if (protectedHeader.kid !== client.kid || protectedHeader.jku !== client.jku || tooLong || seenJti.has(jti)) {
            return refuse('invalid_client');
          }
          seenJti.add(jti);
        } catch {
          return refuse('invalid_client');
        }
        const token = randomUUID();
        issued.set(token, Date.now() + lifetimeS * 1000);
        record.granted = true;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({ access_token: token, token_type: 'bearer', expires_in: lifetimeS, scope: form.scope })
        );
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth/token`;
  return {
    tokenUrl,
    requests,
    isValid: (authorization) => {
      const expires = issued.get(/^Bearer (.+)$/i.exec(authorization ?? '')?.[1] ?? '');
      return expires !== undefined && expires > Date.now();
    },
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
