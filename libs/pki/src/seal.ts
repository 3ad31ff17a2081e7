import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { BadParameterError } from '#libs/common';

// Sealed form: 'v1:' + base64(iv(12) | tag(16) | AES-256-GCM ciphertext)
const PREFIX = 'v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEK_BYTES = 32;
const DECRYPT_FAILED = 'cannot decrypt private key: wrong key-encryption key or corrupted data';

/** A new 32-byte key-encryption key. */
export function newKek(): Buffer {
  return randomBytes(KEK_BYTES);
}

export function sealPrivateKey(privateKeyPem: string, kek: Buffer): string {
  requireKek(kek);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, iv);
  const ciphertext = Buffer.concat([cipher.update(privateKeyPem, 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64');
}

export function openPrivateKey(sealed: string, kek: Buffer): string {
  requireKek(kek);
  if (!sealed.startsWith(PREFIX)) {
    throw new BadParameterError(`sealed private key must start with "${PREFIX}"; it was not written by sealPrivateKey`);
  }
  const blob = Buffer.from(sealed.slice(PREFIX.length), 'base64');
  try {
    if (blob.length <= IV_BYTES + TAG_BYTES) throw new Error('sealed private key is too short');
    const decipher = createDecipheriv('aes-256-gcm', kek, blob.subarray(0, IV_BYTES));
    decipher.setAuthTag(blob.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(blob.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new BadParameterError(DECRYPT_FAILED, { cause: err });
  }
}

function requireKek(kek: Buffer): void {
  if (kek.length !== KEK_BYTES) {
    throw new BadParameterError(`key-encryption key must be ${KEK_BYTES} bytes, got ${kek.length}`);
  }
}
