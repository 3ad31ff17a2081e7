import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { parseHostPort } from '#libs/common';
import { formatIdentityFile, parseIdentityFile, type IdentityFile } from '#libs/pki';

/** What `tsh login` keeps: `$TELEPORT_HOME` (default ~/.tsh), files readable only by the user. */
export interface Profile {
  proxyAddr: string;
  user: string;
  cluster: string;
  identity: IdentityFile;
}

export function tshHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.TELEPORT_HOME ?? join(homedir(), '.tsh');
}

function profileName(proxyAddr: string): string {
  return parseHostPort(proxyAddr, 443).host;
}

function write(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

export function saveProfile(profile: Profile, home = tshHome()): void {
  const name = profileName(profile.proxyAddr);
  const keys = join(home, 'keys', name);
  mkdirSync(keys, { recursive: true, mode: 0o700 });
  write(join(keys, `${profile.user}.pem`), formatIdentityFile(profile.identity));
  write(join(home, `${name}.yaml`), stringifyYaml({ web_proxy_addr: profile.proxyAddr, user: profile.user, cluster: profile.cluster }));
  write(join(home, 'current-profile'), `${name}\n`);
}

export function loadCurrentProfile(home = tshHome()): Profile | undefined {
  const current = join(home, 'current-profile');
  if (!existsSync(current)) return undefined;
  const name = readFileSync(current, 'utf8').trim();
  const meta = join(home, `${name}.yaml`);
  if (!existsSync(meta)) return undefined;
  const { web_proxy_addr, user, cluster } = parseYaml(readFileSync(meta, 'utf8')) as {
    web_proxy_addr: string;
    user: string;
    cluster: string;
  };
  const keyFile = join(home, 'keys', name, `${user}.pem`);
  if (!existsSync(keyFile)) return undefined;
  return { proxyAddr: web_proxy_addr, user, cluster, identity: parseIdentityFile(readFileSync(keyFile, 'utf8')) };
}

/** Removes every profile and key (`tsh logout`); returns the users that were logged out. */
export function removeProfiles(home = tshHome()): string[] {
  if (!existsSync(home)) return [];
  const users: string[] = [];
  for (const entry of readdirSync(home)) {
    if (!entry.endsWith('.yaml')) continue;
    const meta = parseYaml(readFileSync(join(home, entry), 'utf8')) as { user?: string; web_proxy_addr?: string };
    if (meta.user) users.push(`${meta.user} (${meta.web_proxy_addr})`);
    rmSync(join(home, entry), { force: true });
  }
  rmSync(join(home, 'keys'), { recursive: true, force: true });
  rmSync(join(home, 'current-profile'), { force: true });
  return users;
}
