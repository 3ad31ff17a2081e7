/** Our release version; `tctl version`, `tsh version` and `teleport version` report it. Kept equal to package.json by a test. */
export const VERSION = '0.1.0';

/**
 * The Teleport release whose interface (commands, flags, formats, wire and audit events) we keep: what
 * the ping endpoint and `tctl status` report as the server version, so tools that check it find one.
 */
export const TELEPORT_COMPAT_VERSION = '15.4.22';

/** What `tsh version --format=json` prints, in Teleport's field names. */
export interface VersionInfo {
  version: string;
  gitref: string;
  runtime: string;
}

export function versionInfo(): VersionInfo {
  return { version: TELEPORT_COMPAT_VERSION, gitref: `dbaccess-v${VERSION}`, runtime: `node${process.versions.node}` };
}

/** Teleport's version line (`Teleport v15.4.22 git:... go1.21`), with our release as the git ref and Node as the runtime. */
export function versionLine(): string {
  const { version, gitref, runtime } = versionInfo();
  return `Teleport v${version} git:${gitref} ${runtime}`;
}
