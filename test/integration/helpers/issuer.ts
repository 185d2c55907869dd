import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK, KeyLike } from 'jose';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

/**
 * A token issuer for tests: an RSA key pair, its JWKS served over real HTTP on 127.0.0.1, and a signer. A second key
 * (never published) makes tokens whose signature cannot verify.
 */
export interface TestIssuer {
  issuer: string;
  jwksUri: string;
  sign(claims: Record<string, unknown>, options?: SignOptions): Promise<string>;
  stop(): Promise<void>;
}

export interface SignOptions {
  audience?: string;
  issuer?: string;
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
  /** Sign with the unpublished key under the published key id (a forged token). */
  forged?: boolean;
}

export const AUDIENCE = 'https://hfu-connector.test/api';

export async function startIssuer(): Promise<TestIssuer> {
  const published = await generateKeyPair('RS256');
  const other = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(published.publicKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
  const server: Server = createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sign = async (claims: Record<string, unknown>, options: SignOptions = {}): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    const key: KeyLike = options.forged ? other.privateKey : published.privateKey;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'test-key-1' })
      .setIssuer(options.issuer ?? base)
      .setAudience(options.audience ?? AUDIENCE)
      .setSubject('user-1')
      .setIssuedAt(now - 60)
      .setExpirationTime(now + (options.expiresIn ?? 300))
      .sign(key);
  };
  return {
    issuer: base,
    jwksUri: `${base}/.well-known/jwks.json`,
    sign,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
