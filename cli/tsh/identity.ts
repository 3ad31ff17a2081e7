import { readFileSync } from 'node:fs';
import { AccessDeniedError, BadParameterError } from '#libs/common';
import { ApiClient, loadCurrentProfile, type Profile } from '#libs/client';
import { parseIdentityFile, parseUserIdentity, type UserIdentity } from '#libs/pki';

export interface TshGlobals {
  proxy?: string;
  identity?: string;
  insecure?: boolean;
  user?: string;
}

export interface ActiveIdentity {
  profile: Profile;
  identity: UserIdentity;
}

/** The identity commands act as: an identity file (-i, with --proxy), or the current `tsh login` profile. */
export function activeIdentity(g: TshGlobals): ActiveIdentity {
  let profile: Profile | undefined;
  if (g.identity) {
    let text: string;
    try {
      text = readFileSync(g.identity, 'utf8');
    } catch (err) {
      throw new BadParameterError(
        `cannot read identity file ${g.identity}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    const file = parseIdentityFile(text);
    const id = parseUserIdentity(file.certPem);
    profile = { proxyAddr: g.proxy ?? '', user: id.username, cluster: '', identity: file };
  } else {
    profile = loadCurrentProfile();
  }
  if (!profile) throw new AccessDeniedError("not logged in: run 'tsh login --proxy=HOST:PORT --user=NAME'");
  return { profile, identity: parseUserIdentity(profile.identity.certPem) };
}

export function requireFresh(active: ActiveIdentity): void {
  if (active.identity.expires.getTime() <= Date.now()) {
    throw new AccessDeniedError(`your credentials expired at ${active.identity.expires.toISOString()}: run 'tsh login' again`);
  }
}

export function apiFor(active: ActiveIdentity, g: TshGlobals): ApiClient {
  const addr = g.proxy ?? active.profile.proxyAddr;
  if (!addr) throw new BadParameterError('say which proxy to use: --proxy=HOST:PORT');
  const { identity } = active.profile;
  return new ApiClient(addr, {
    certPem: identity.certPem,
    privateKeyPem: identity.privateKeyPem,
    trustedCas: identity.cas.host ?? [],
    insecure: Boolean(g.insecure),
  });
}
