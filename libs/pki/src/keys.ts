import { generateKeyPair as generateNodeKeyPair } from 'node:crypto';
import { promisify } from 'node:util';

/** PEM: PKCS#8 private key, SPKI public key. */
export interface KeyPair {
  privateKeyPem: string;
  publicKeyPem: string;
}

const generate = promisify(generateNodeKeyPair);

/** A new RSA-2048 key pair, generated natively off the main thread. */
export async function generateKeyPair(): Promise<KeyPair> {
  const { privateKey, publicKey } = await generate('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}
