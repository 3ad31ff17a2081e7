import { isIP } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import { BoundedMap } from '#libs/common';

const MAX_CONTEXTS = 64;
const contexts = new BoundedMap<string, SecureContext>(MAX_CONTEXTS);

/**
 * A TLS client context for a certificate, key and trusted CAs, made once and reused while they stay
 * the same. Making one parses the key and every CA (OpenSSL 3's decoders make that the largest part
 * of a new connection's CPU); each connection to PostgreSQL and each tunnel would otherwise pay it.
 */
export function clientSecureContext(options: { cert?: string; key?: string; ca?: string[] }): SecureContext {
  const key = [options.cert ?? '', options.key ?? '', ...(options.ca ?? [])].join('\0');
  let context = contexts.get(key);
  if (!context) {
    context = createSecureContext({
      ...(options.cert ? { cert: options.cert } : {}),
      ...(options.key ? { key: options.key } : {}),
      ...(options.ca ? { ca: options.ca } : {}),
    });
    contexts.set(key, context);
  }
  return context;
}

/**
 * Who a TLS client expects on the other side: `host` is what the certificate is checked against (its
 * DNS or IP names), and SNI names it unless it is an address, which SNI cannot carry (RFC 6066).
 */
export function serverName(name: string): { host: string; servername?: string } {
  return isIP(name) ? { host: name } : { host: name, servername: name };
}
