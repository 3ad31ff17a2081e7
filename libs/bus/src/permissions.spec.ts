import { readFileSync } from 'node:fs';
import { Rpc, Streams } from '#libs/events';
import { busIdentity, BusRole, requestSubject, senderOf, type BusIdentity } from './identity.js';
import { permissionTableMarkdown } from './permission-table.js';
import { permissionsFor, subjectAllowed } from './permissions.js';

const HOST = '6f1c2d3e-0000-4000-8000-000000000001';
const OTHER = '6f1c2d3e-0000-4000-8000-000000000002';
const db = busIdentity(BusRole.Db, HOST);
const proxy = busIdentity(BusRole.Proxy, HOST);

const canPublish = (who: BusIdentity, subject: string) => subjectAllowed(permissionsFor(who).pub, subject);
const canSubscribe = (who: BusIdentity, subject: string) => subjectAllowed(permissionsFor(who).sub, subject);

describe('subjectAllowed', () => {
  it('matches NATS wildcards token by token', () => {
    expect(subjectAllowed(['a.*.c'], 'a.b.c')).toBe(true);
    expect(subjectAllowed(['a.*.c'], 'a.b.c.d')).toBe(false);
    expect(subjectAllowed(['a.>'], 'a.b.c')).toBe(true);
    expect(subjectAllowed(['a.>'], 'a')).toBe(false);
    expect(subjectAllowed(['a.b'], 'a.bb')).toBe(false);
  });
});

describe('request subjects', () => {
  it('carry the sender, which the receiver reads back from the last two tokens', () => {
    const subject = requestSubject(Rpc.Auth.SignDbClient, db);
    expect(subject).toBe(`auth.certs.sign-db-client.db.${HOST}`);
    expect(senderOf(subject)).toEqual(db);
    expect(senderOf('auth.certs.sign-db-client.superuser.x')).toBeUndefined();
    expect(senderOf('auth.x')).toBeUndefined();
  });

  it("never let one pattern receive another one's requests (no pattern is a token prefix of another)", () => {
    const patterns = Object.values(Rpc).flatMap((service) => Object.values(service) as string[]);
    for (const a of patterns) for (const b of patterns) if (a !== b) expect(b.startsWith(`${a}.`)).toBe(false);
  });
});

describe('permissionsFor', () => {
  it('lets the auth service alone read and write the web sessions, and the proxy ask it for them', () => {
    const auth = busIdentity(BusRole.Auth, HOST);
    expect(canPublish(auth, '$KV.WEB_SESSIONS.0a1b')).toBe(true);
    expect(canPublish(auth, '$JS.API.DIRECT.GET.KV_WEB_SESSIONS.$KV.WEB_SESSIONS.0a1b')).toBe(true);
    for (const role of Object.values(BusRole).filter((r) => r !== BusRole.Auth && r !== BusRole.Admin)) {
      const who = busIdentity(role, HOST);
      expect([role, canPublish(who, '$KV.WEB_SESSIONS.0a1b')]).toEqual([role, false]);
      expect([role, canPublish(who, '$JS.API.DIRECT.GET.KV_WEB_SESSIONS.$KV.WEB_SESSIONS.0a1b')]).toEqual([role, false]);
      expect([role, canPublish(who, '$JS.API.CONSUMER.CREATE.KV_WEB_SESSIONS')]).toEqual([role, false]);
    }
    expect(canPublish(proxy, requestSubject(Rpc.Auth.WebSessionGet, proxy))).toBe(true);
    expect(canPublish(db, requestSubject(Rpc.Auth.WebSessionGet, db))).toBe(false);
  });

  it('lets a Database Service do its job and nothing else', () => {
    expect(canPublish(db, requestSubject(Rpc.Auth.SignDbClient, db))).toBe(true);
    expect(canPublish(db, requestSubject(Rpc.Broker.SessionsStart, db))).toBe(true);
    expect(canPublish(db, 'audit.3b1f.db.session.query')).toBe(true);
    expect(canPublish(db, `$KV.DB_SERVERS.example.${HOST}`)).toBe(true);
    expect(canSubscribe(db, `db.cancel.${HOST}`)).toBe(true);

    expect(canPublish(db, requestSubject(Rpc.Auth.SignUser, db))).toBe(false);
    expect(canPublish(db, requestSubject(Rpc.Auth.SignHost, db))).toBe(false);
    expect(canPublish(db, requestSubject(Rpc.Auth.SignDbClient, busIdentity(BusRole.Db, OTHER)))).toBe(false);
    expect(canPublish(db, requestSubject(Rpc.Auth.SignDbClient, busIdentity(BusRole.Admin, HOST)))).toBe(false);
    expect(canPublish(db, `$KV.DB_SERVERS.example.${OTHER}`)).toBe(false);
    expect(canPublish(db, 'audit.cluster.db.create')).toBe(false);
    expect(canPublish(db, `db.cancel.${OTHER}`)).toBe(false);
    expect(canPublish(db, `$JS.API.STREAM.DELETE.${Streams.Audit.name}`)).toBe(false);
    expect(canPublish(db, `$JS.API.STREAM.PURGE.${Streams.Audit.name}`)).toBe(false);
    expect(canPublish(db, `$JS.API.CONSUMER.CREATE.${Streams.Cluster.name}`)).toBe(false);
    expect(canSubscribe(db, '>')).toBe(false);
    expect(canSubscribe(db, 'cluster.>')).toBe(false);
    expect(canSubscribe(db, `_INBOX.proxy.${HOST}.x`)).toBe(false);
    expect(canSubscribe(db, `db.cancel.${OTHER}`)).toBe(false);
    expect(canSubscribe(db, 'provisioning.example.activate.db.x')).toBe(true);
  });

  it('lets nobody but the admin delete or purge a stream, or read every subject', () => {
    for (const role of Object.values(BusRole)) {
      const who = busIdentity(role, HOST);
      const admin = role === BusRole.Admin;
      for (const stream of [Streams.Audit.name, Streams.Cluster.name, 'KV_DB_SERVERS']) {
        expect(canPublish(who, `$JS.API.STREAM.DELETE.${stream}`)).toBe(admin);
        expect(canPublish(who, `$JS.API.STREAM.PURGE.${stream}`)).toBe(admin);
      }
      expect(canSubscribe(who, '>')).toBe(admin);
    }
  });

  it('lets the proxy and the Database Service follow streams, never delete or own a consumer', () => {
    for (const who of [proxy, db]) {
      expect(canPublish(who, '$JS.API.CONSUMER.CREATE.KV_PROXIES.abc_1.$KV.PROXIES.>')).toBe(true);
      expect(canPublish(who, '$JS.API.CONSUMER.DELETE.KV_PROXIES.abc_1')).toBe(false);
      expect(canPublish(who, '$JS.API.CONSUMER.DURABLE.CREATE.KV_PROXIES.mine')).toBe(false);
    }
    expect(canPublish(proxy, '$JS.API.CONSUMER.DELETE.AUDIT.audit-index-host')).toBe(false);
    expect(canPublish(proxy, '$JS.ACK.AUDIT.audit-index-host.1.2.3.4.5.6.7')).toBe(false);
  });

  it('lets only auth sign host certificates on its own behalf, and only the proxy ask for its own', () => {
    expect(canPublish(proxy, requestSubject(Rpc.Auth.SignHost, proxy))).toBe(true);
    expect(canPublish(proxy, requestSubject(Rpc.Auth.SignHost, busIdentity(BusRole.Admin, 'admin')))).toBe(false);
    expect(canPublish(proxy, requestSubject(Rpc.Auth.SignDbClient, proxy))).toBe(false);
    expect(canPublish(proxy, requestSubject(Rpc.Inventory.DbServers, proxy))).toBe(false);
    expect(canSubscribe(busIdentity(BusRole.Auth, HOST), 'auth.certs.sign-host.proxy.x')).toBe(true);
  });
});

describe('docs/security.md', () => {
  it('shows the permission table the cluster issues credentials with', () => {
    const doc = readFileSync(new URL('../../../docs/security.md', import.meta.url), 'utf8');
    const table = /<!-- permission-table:start -->\n([\s\S]*?)\n<!-- permission-table:end -->/.exec(doc)?.[1];
    expect(table).toBe(permissionTableMarkdown());
  });
});
