// The harness's additions to postgresql.conf and its whole pg_hba.conf, as plain text.

/** A postgresql.conf string literal: single quotes, an embedded quote doubled. */
export function confString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export interface HarnessConf {
  port: number;
  socketDir: string;
  certFile: string;
  keyFile: string;
  caFile: string;
  extraConf?: string;
}

/** Appended to the postgresql.conf that initdb wrote; later settings win. */
export function harnessConf(c: HarnessConf): string {
  const lines = [
    '# dbaccess test harness',
    `listen_addresses = '127.0.0.1'`,
    `port = ${c.port}`,
    `unix_socket_directories = ${confString(c.socketDir)}`,
    'ssl = on',
    `ssl_cert_file = ${confString(c.certFile)}`,
    `ssl_key_file = ${confString(c.keyFile)}`,
    `ssl_ca_file = ${confString(c.caFile)}`,
    'fsync = off',
    'max_connections = 200',
  ];
  if (c.extraConf) lines.push(c.extraConf.trimEnd());
  return `${lines.join('\n')}\n`;
}

/**
 * The superuser over the unix socket without a password; every TCP client must present a client
 * certificate whose CN is the database user (hostssl ... cert), so TCP without one is refused.
 */
export const PG_HBA = ['local all all trust', 'hostssl all all ::/0 cert', 'hostssl all all 0.0.0.0/0 cert', ''].join('\n');
