import type { IncomingMessage, Server } from 'node:http';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = { status: number; body?: unknown; headers?: Record<string, string> } | 'drop';

/**
 * A transparent HTTP proxy (same paths, Host kept) in front of a real FHIR server that injects faults the real server will not produce on demand
 * (5xx on chosen requests, a dropped connection, an answer lost after the server did the work) or delays it will not
 * make (a request held until released).
 * Everything else is forwarded untouched.
 */
export interface FaultyProxy {
  baseUrl: string;
  /** Method and path+query of every request seen, in order. */
  seen: string[];
  stop(): Promise<void>;
}

export async function startFaultyProxy(
  targetBaseUrl: string,
  faultFor: (req: { method: string; url: string; headers: IncomingMessage['headers'] }) => Fault | undefined,
  /** A promise to wait for before forwarding a request (a slow server, held as long as a test needs). */
  holdFor: (req: { method: string; url: string }) => Promise<void> | undefined = () => undefined,
  /** Whether to lose the server's answer (it has done the work) and answer 503 instead: a lost answer. */
  loseAnswerFor: (req: { method: string; url: string; status: number }) => boolean = () => false
): Promise<FaultyProxy> {
  const target = new URL(targetBaseUrl);
  const seen: string[] = [];
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    const path = req.url ?? '';
    seen.push(`${req.method} ${path}`);
    await holdFor({ method: req.method ?? 'GET', url: path });
    const fault = faultFor({ method: req.method ?? 'GET', url: path, headers: req.headers });
    if (fault === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault) {
      res.writeHead(fault.status, { 'Content-Type': 'application/fhir+json', ...fault.headers });
      res.end(fault.body === undefined ? '' : JSON.stringify(fault.body));
      return;
    }
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path,
        headers: req.headers, // the Host header stays the proxy's, so the server's links (next pages) lead back here
      },
      (upRes) => {
        if (loseAnswerFor({ method: req.method ?? 'GET', url: path, status: upRes.statusCode ?? 0 })) {
          upRes.resume();
          upRes.on('end', () => res.writeHead(503).end());
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      }
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}${target.pathname}`,
    seen,
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
