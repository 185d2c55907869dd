// A real OpenID Connect provider for the workspace's tests (oidc-provider ships only as an ES module, so it runs in
// its own node process): started by test/helpers/oidc.ts with `fork`, it listens on 127.0.0.1 on a free port, sends
// `{ issuer }` to its parent, then registers the clients the parent sends (a client's redirect URI is known only once
// the service under test is listening). Its development interactions sign in any listed user with any password.
import http from 'node:http';
import process from 'node:process';
import Provider from 'oidc-provider';

/**
 * Test users: role and practice claims in the shapes an issuer may send (an array, or one string). The seeded
 * practice is Y99001; a lead has no practice claim (a lead sees every practice).
 */
const USERS = {
  'mdt-user': { name: 'Morgan MDT', roles: ['mdt'], practices: ['Y99001'] },
  'mdt-user-2': { name: 'Ash Second', roles: ['mdt'], practices: ['Y99001'] },
  'coach-user': { name: 'Cass Coach', roles: ['mdt'], practices: ['Y99001'] },
  'lead-user': { name: 'Lee Lead', roles: 'lead' },
  'viewer-user': { name: 'Val Viewer', roles: ['viewer'], practices: 'Y99001' },
  'scoped-user': { name: 'Sam Scoped', roles: ['mdt'], practices: ['Z99999'] },
  'nobody-user': { name: 'Nia Nobody', roles: ['something-else'] },
};

/** Clients and everything else the provider stores, in memory (clients registered over IPC land here too). */
const store = new Map();
class MapAdapter {
  constructor(model) {
    this.model = model;
  }
  key(id) {
    return `${this.model}:${id}`;
  }
  async upsert(id, payload) {
    store.set(this.key(id), payload);
    if (payload.uid) store.set(`uid:${payload.uid}`, id);
    if (payload.userCode) store.set(`userCode:${payload.userCode}`, id);
  }
  async find(id) {
    return store.get(this.key(id));
  }
  async findByUid(uid) {
    const id = store.get(`uid:${uid}`);
    return id === undefined ? undefined : this.find(id);
  }
  async findByUserCode(code) {
    const id = store.get(`userCode:${code}`);
    return id === undefined ? undefined : this.find(id);
  }
  async consume(id) {
    const payload = store.get(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id) {
    store.delete(this.key(id));
  }
  async revokeByGrantId(grantId) {
    for (const [key, payload] of store) {
      if (payload && typeof payload === 'object' && payload.grantId === grantId) store.delete(key);
    }
  }
}

let handle = (_req, res) => res.writeHead(503).end();
const server = http.createServer((req, res) => handle(req, res));
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    adapter: MapAdapter,
    clients: [],
    cookies: { keys: ['test-only-cookie-key-0123456789abcdef'] },
    claims: { openid: ['sub'], profile: ['name', 'roles', 'practices'] },
    findAccount: (_ctx, id) => (USERS[id] ? { accountId: id, claims: () => ({ sub: id, ...USERS[id] }) } : undefined),
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    pkce: { required: () => true },
  });
  provider.on('server_error', (_ctx, err) => process.stderr.write(`oidc-provider: ${err.message}\n`));
  handle = provider.callback();
  process.on('message', async (message) => {
    if (message?.register) {
      await new MapAdapter('Client').upsert(message.register.client_id, message.register);
      process.send({ registered: message.register.client_id });
    }
  });
  process.send({ issuer, users: Object.keys(USERS) });
});
process.on('disconnect', () => process.exit(0));
