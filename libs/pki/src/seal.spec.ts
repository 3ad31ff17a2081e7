import { BadParameterError } from '#libs/common';
import { newKek, openPrivateKey, sealPrivateKey } from './seal.js';

// Sealing treats the key as opaque text, so a fixed PEM-shaped string stands in for a real key.
const KEY_PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n';
const DECRYPT_FAILED = 'cannot decrypt private key: wrong key-encryption key or corrupted data';

describe('sealPrivateKey / openPrivateKey', () => {
  const kek = newKek();

  it('round-trips', () => {
    const sealed = sealPrivateKey(KEY_PEM, kek);
    expect(sealed).toMatch(/^v1:[A-Za-z0-9+/]+=*$/);
    expect(sealed).not.toContain('PRIVATE KEY');
    expect(openPrivateKey(sealed, kek)).toBe(KEY_PEM);
  });

  it('lays out iv(12) | tag(16) | ciphertext', () => {
    const blob = Buffer.from(sealPrivateKey(KEY_PEM, kek).slice(3), 'base64');
    expect(blob.length).toBe(12 + 16 + Buffer.byteLength(KEY_PEM));
  });

  it('uses a fresh IV each time', () => {
    expect(sealPrivateKey(KEY_PEM, kek)).not.toBe(sealPrivateKey(KEY_PEM, kek));
  });

  it('refuses the wrong key-encryption key', () => {
    const sealed = sealPrivateKey(KEY_PEM, kek);
    const wrongKek = newKek();
    expect(() => openPrivateKey(sealed, wrongKek)).toThrow(BadParameterError);
    expect(() => openPrivateKey(sealed, wrongKek)).toThrow(DECRYPT_FAILED);
  });

  it.each([
    ['iv', 0],
    ['tag', 12],
    ['ciphertext', 40],
  ])('refuses a flipped byte in the %s', (_part, offset) => {
    const blob = Buffer.from(sealPrivateKey(KEY_PEM, kek).slice(3), 'base64');
    blob[offset]! ^= 0x01;
    const tampered = `v1:${blob.toString('base64')}`;
    expect(() => openPrivateKey(tampered, kek)).toThrow(BadParameterError);
    expect(() => openPrivateKey(tampered, kek)).toThrow(DECRYPT_FAILED);
  });

  it('refuses a truncated blob', () => {
    const sealed = sealPrivateKey(KEY_PEM, kek);
    expect(() => openPrivateKey(sealed.slice(0, 20), kek)).toThrow(DECRYPT_FAILED);
  });

  it('refuses text that was never sealed', () => {
    expect(() => openPrivateKey(KEY_PEM, kek)).toThrow(BadParameterError);
  });

  it('refuses a key-encryption key that is not 32 bytes', () => {
    expect(() => sealPrivateKey(KEY_PEM, Buffer.alloc(16))).toThrow(BadParameterError);
    expect(() => openPrivateKey('v1:AAAA', Buffer.alloc(31))).toThrow(BadParameterError);
  });

  it('makes 32-byte random keys', () => {
    expect(newKek()).toHaveLength(32);
    expect(newKek().equals(newKek())).toBe(false);
  });
});
