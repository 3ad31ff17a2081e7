export { CA_TYPES, caPin, createCa, issuerCaType, type CaType, type CertificateAuthority } from './ca.js';
export { parseHostIdentity, parseUserIdentity, type DbRoute, type HostIdentity, type UserIdentity } from './identity.js';
export { formatIdentityFile, parseIdentityFile, type IdentityFile } from './identity-file.js';
export { inspectCert, verifyChain, type CertSummary } from './inspect.js';
export {
  clientSecureContext,
  INTERNAL_SERVER_NAME,
  isInternalServerName,
  serverName,
  trustedRoots,
  tunnelServerName,
  tunnelSlot,
} from './tls-context.js';
export { verifyUserCert } from './verify-user.js';
export { verifyCaller, type VerifiedCaller } from './verify-caller.js';
export { generateKeyPair, type KeyPair } from './keys.js';
export { certificatePem, splitPemCerts } from './pem.js';
export { newKek, openPrivateKey, sealPrivateKey } from './seal.js';
export { signDbClientCert, signDbServerCert, signHostCert, signUserCert } from './sign.js';
