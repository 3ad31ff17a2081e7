import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseHostPort } from '#libs/common';
import { parseUserIdentity, type DbRoute } from '#libs/pki';
import { tshHome } from './profile.js';

// Database credentials under $TELEPORT_HOME, laid out as tsh does:
//   keys/<proxy host>/<user>                              the private key alone (libpq's sslkey)
//   keys/<proxy host>/certs.pem                           the host CA, which signs the proxy's certificate
//   keys/<proxy host>/<user>-db/<cluster>/<db>-x509.pem   one certificate per database

/** Whose database credentials, on which cluster. */
export interface DbProfile {
  home: string;
  proxyAddr: string;
  user: string;
  cluster: string;
}

export interface DbLogin {
  name: string;
  certPem: string;
  route: DbRoute;
  expires: Date;
}

const CERT_SUFFIX = '-x509.pem';

export function dbProfile(proxyAddr: string, user: string, cluster: string, home = tshHome()): DbProfile {
  return { home, proxyAddr, user, cluster };
}

function keysDir(p: DbProfile): string {
  return join(p.home, 'keys', parseHostPort(p.proxyAddr, 443).host);
}

export function keyPath(p: DbProfile): string {
  return join(keysDir(p), p.user);
}

export function caPath(p: DbProfile): string {
  return join(keysDir(p), 'certs.pem');
}

function dbCertDir(p: DbProfile): string {
  return join(keysDir(p), `${p.user}-db`, p.cluster);
}

export function dbCertPath(p: DbProfile, db: string): string {
  return join(dbCertDir(p), `${db}${CERT_SUFFIX}`);
}

/** The PostgreSQL service name of a database login: `<cluster>-<db>`. */
export function dbServiceName(p: DbProfile, db: string): string {
  return `${p.cluster}-${db}`;
}

function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** Stores a database certificate with the key it was issued for and the CA that verifies the proxy. */
export function saveDbLogin(p: DbProfile, db: string, certPem: string, privateKeyPem: string, hostCas: string[]): void {
  mkdirSync(dbCertDir(p), { recursive: true, mode: 0o700 });
  writePrivate(keyPath(p), privateKeyPem);
  writePrivate(caPath(p), hostCas.join(''));
  writePrivate(dbCertPath(p, db), certPem);
}

/** The databases this profile is logged in to, by name. */
export function dbLogins(p: DbProfile): DbLogin[] {
  const dir = dbCertDir(p);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(CERT_SUFFIX))
    .sort()
    .flatMap((f) => {
      const certPem = readFileSync(join(dir, f), 'utf8');
      const { dbRoute, expires } = parseUserIdentity(certPem);
      return dbRoute ? [{ name: f.slice(0, -CERT_SUFFIX.length), certPem, route: dbRoute, expires }] : [];
    });
}

export function removeDbLogin(p: DbProfile, db: string): void {
  rmSync(dbCertPath(p, db), { force: true });
}

/**
 * Deletes the database certificates under `home` of one proxy host and user (or of all), of any cluster,
 * and returns their service names: for `tsh logout`, and `tsh login`, whose new key they do not match.
 */
export function deleteDbCerts(home: string, only?: { proxyHost: string; user: string }): string[] {
  const dirs = (path: string) =>
    existsSync(path)
      ? readdirSync(path, { withFileTypes: true })
          .filter((e) => e.isDirectory())
          .map((e) => e.name)
      : [];
  const keys = join(home, 'keys');
  const names: string[] = [];
  for (const proxy of dirs(keys).filter((h) => !only || h === only.proxyHost)) {
    for (const userDb of dirs(join(keys, proxy)).filter((d) => (only ? d === `${only.user}-db` : d.endsWith('-db')))) {
      for (const cluster of dirs(join(keys, proxy, userDb))) {
        const certs = readdirSync(join(keys, proxy, userDb, cluster)).filter((f) => f.endsWith(CERT_SUFFIX));
        names.push(...certs.map((f) => `${cluster}-${f.slice(0, -CERT_SUFFIX.length)}`));
      }
      rmSync(join(keys, proxy, userDb), { recursive: true, force: true });
    }
  }
  return names;
}
