import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { BadParameterError, ConnectionProblemError, parseDuration, parseHostPort, formatHostPort } from '#libs/common';
import { ApiClient, loadCurrentProfile, removeProfiles, saveProfile } from '#libs/client';
import type { AuthRpc, SignedCert } from '#libs/events';
import { generateKeyPair, parseUserIdentity } from '#libs/pki';
import { readSecret } from '../shared/prompt.js';
import { forgetDbLogins } from './db-login.js';
import { activeIdentity, type TshGlobals } from './identity.js';
import { formatStatus } from './status.js';

/** `--ttl` as tsh takes it: minutes, or a duration with a unit. */
function ttlMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  return /^\d+$/.test(text) ? Number(text) * 60_000 : parseDuration(text);
}

/** A proxy address without a port is tried on 443, then on 3080, as tsh does. */
async function discover(proxy: string, insecure: boolean, trustedCas: string[]): Promise<{ api: ApiClient; ping: AuthRpc.PingReply }> {
  const explicit = /:\d+$/.test(proxy) && !/^\[[^\]]+\]$/.test(proxy);
  const candidates = explicit ? [proxy] : [443, 3080].map((port) => formatHostPort({ host: parseHostPort(proxy, port).host, port }));
  let last: unknown;
  for (const addr of candidates) {
    const api = new ApiClient(addr, { insecure, trustedCas });
    try {
      return { api, ping: await api.get<AuthRpc.PingReply>('/v1/webapi/ping') };
    } catch (err) {
      last = err;
      if (!(err instanceof ConnectionProblemError)) throw err;
    }
  }
  throw last;
}

export function registerLoginCommands(program: Command, globals: () => TshGlobals): void {
  program
    .command('login')
    .description('Log in to a cluster and get short-lived credentials')
    .option('--ttl <minutes>', 'how long the credentials last (minutes, or e.g. 2h); capped by your roles')
    .action(async (opts: { ttl?: string }) => {
      const g = globals();
      const current = loadCurrentProfile();
      const proxy = g.proxy ?? current?.proxyAddr;
      if (!proxy) throw new BadParameterError('say which cluster to log in to: --proxy=HOST:PORT');
      const sameProxy = current !== undefined && parseHostPort(current.proxyAddr, 443).host === parseHostPort(proxy, 443).host;
      // Logging in again to the same proxy is as the same user, as Teleport's tsh does; else as the login name.
      const user = g.user ?? (sameProxy ? current.user : userInfo().username);
      // The host CA learned at an earlier login to this proxy verifies it from then on.
      const known = sameProxy ? (current.identity.cas.host ?? []) : [];
      const { api, ping } = await discover(proxy, Boolean(g.insecure), known);
      const password = await readSecret(`Enter password for Teleport user ${user}:\n`);
      const keys = await generateKeyPair();
      const ttl = ttlMs(opts.ttl);
      const signed = await api.post<SignedCert>('/v1/webapi/login', {
        user,
        password,
        public_key: keys.publicKeyPem,
        ...(ttl ? { ttl_ms: ttl } : {}),
      });
      forgetDbLogins({ proxyHost: parseHostPort(api.addr, 443).host, user });
      const profile = {
        proxyAddr: api.addr,
        user,
        cluster: ping.cluster_name,
        identity: { privateKeyPem: keys.privateKeyPem, certPem: signed.cert, cas: signed.cas },
      };
      saveProfile(profile);
      process.stdout.write(formatStatus({ profile, identity: parseUserIdentity(signed.cert) }));
    });

  program
    .command('status')
    .description('Show who you are logged in as, your roles and when your credentials expire')
    .action(() => {
      process.stdout.write(formatStatus(activeIdentity(globals())));
    });

  program
    .command('logout')
    .description('Delete your credentials')
    .action(() => {
      forgetDbLogins();
      const removed = removeProfiles();
      process.stdout.write(removed.length ? removed.map((u) => `Logged out ${u}.\n`).join('') : 'You are not logged in.\n');
    });
}
